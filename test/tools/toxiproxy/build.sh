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

# build NAME PACKAGE
build() {
  local name="$1" pkg="$2"
  local dest="$out/$name"
  if [[ -x "$dest" ]]; then
    printf '%-18s %s cached 0s\n' "$name" "$dest"
    return
  fi
  local tmp="$out/.$name.tmp.$$"
  local start end
  start=$(date +%s.%N)
  if ! (cd "$here" && nice -n "$nice_level" go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    echo "build.sh: building $name ($pkg) failed" >&2
    exit 1
  fi
  mv -f "$tmp" "$dest"
  end=$(date +%s.%N)
  printf '%-18s %s built %.0fs\n' "$name" "$dest" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
}

trap 'rm -f "$out"/.*.tmp.$$' EXIT

build toxiproxy-server github.com/Shopify/toxiproxy/v2/cmd/server
build toxiproxy-cli github.com/Shopify/toxiproxy/v2/cmd/cli
echo "dir $out"
