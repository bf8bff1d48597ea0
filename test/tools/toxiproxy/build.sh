#!/usr/bin/env bash
# Builds Toxiproxy (the fault-injecting TCP proxy that the cross-domain fault tests put between gateways) with the
# machine's Go from its Go module, pinned by test/tools/toxiproxy/go.mod, into a cache keyed by its version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/toxiproxy-<version>/{toxiproxy-server,toxiproxy-cli}
#
# Idempotent: a binary already in the cache is not built again, so a warm run builds nothing. Each binary is
# built under a temporary name and renamed into place, so an interrupted build never leaves a half-written
# binary behind. Prints one line per binary: name, path, and seconds spent (0 when cached).
# Prints the cache directory as its last line ("dir <path>").
#
# Environment: BMN_TOOLS_CACHE (cache root), BMN_BUILD_NICE (nice level, default 10), GOFLAGS (e.g. -p=2).
# See docs/testing-faults.md for measured build times.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The version comes from go.mod, so the pin lives in exactly one place.
# Matches both `require M vX` and a line inside a `require ( ... )` block.
version="$(awk '{ sub(/^require[ \t]+/, "") } $1 == "github.com/Shopify/toxiproxy/v2" && $2 ~ /^v/ { print $2; exit }' \
  "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "build.sh: could not read the pinned Toxiproxy version from $here/go.mod" >&2
  exit 1
fi
version="${version#v}"

cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/toxiproxy-$version"
mkdir -p "$out"

nice_level="${BMN_BUILD_NICE:-10}"
ldflags="-s -w -X github.com/Shopify/toxiproxy/v2.Version=$version"

name_width=18
# shellcheck source=../go-build.sh
source "$here/../go-build.sh"

build toxiproxy-server "$here" github.com/Shopify/toxiproxy/v2/cmd/server "$ldflags"
build toxiproxy-cli "$here" github.com/Shopify/toxiproxy/v2/cmd/cli "$ldflags"
echo "dir $out"
