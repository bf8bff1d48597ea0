//go:build tools

// Package tools keeps `go mod tidy` honest: it imports the programs build.sh builds, so go.sum holds
// everything `go build` of those main packages needs.
package tools

import (
	_ "github.com/Shopify/toxiproxy/v2/cmd/cli"
	_ "github.com/Shopify/toxiproxy/v2/cmd/server"
)
