//go:build tools

// Package tools keeps `go mod tidy` honest: it imports the program build.sh builds, so go.sum holds
// everything `go build` of that main package needs.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
