#!/usr/bin/env bash
# Builds promtool (checks and unit-tests the chart's Prometheus alert rules) with the machine's Go from the
# Prometheus Go module, pinned by test/tools/promtool/go.mod, into a cache keyed by its version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/promtool-<version>/promtool
#
# Idempotent: a cached binary is not built again. Built with the tag remove_all_sd, which leaves out the
# service-discovery plugins (cloud SDKs) that rule checks never use, and keeps the cold build short.
# Prints one line for the binary (name, path, seconds) and the cache directory last ("dir <path>").
#
# Environment: BMN_TOOLS_CACHE (cache root), BMN_BUILD_NICE (nice level, default 10), GOFLAGS (e.g. -p=2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

version="$(awk '{ sub(/^require[ \t]+/, "") } $1 == "github.com/prometheus/prometheus" && $2 ~ /^v/ { print $2; exit }' \
  "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "build.sh: could not read the pinned Prometheus version from $here/go.mod" >&2
  exit 1
fi
version="${version#v}"

cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/promtool-$version"
mkdir -p "$out"

nice_level="${BMN_BUILD_NICE:-10}"
export GOFLAGS="${GOFLAGS:-} -tags=remove_all_sd"
ldflags="-s -w -X github.com/prometheus/common/version.Version=$version"

name_width=10
# shellcheck source=../go-build.sh
source "$here/../go-build.sh"

build promtool "$here" github.com/prometheus/prometheus/cmd/promtool "$ldflags"
echo "dir $out"
