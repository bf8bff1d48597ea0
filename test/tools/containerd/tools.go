//go:build tools

// Package tools keeps `go mod tidy` honest: it imports the main packages build.sh builds, so go.sum holds
// everything their `go build` needs.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
