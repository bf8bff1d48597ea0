#!/usr/bin/env bash
# Builds containerd v2 (the test node's container runtime: containerd, its runc shim and ctr) with the machine's
# Go from its Go module, pinned by test/tools/containerd/go.mod, into a cache keyed by its version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/containerd-<version>/{containerd,containerd-shim-runc-v2,ctr}
#
# Static (CGO_ENABLED=0) and without the btrfs, devmapper and zfs snapshotters, which need C libraries; the
# node uses the overlayfs or native snapshotter. Idempotent like test/tools/k8s/build.sh: a warm run builds
# nothing. Prints one line per binary and the cache directory as its last line ("dir <path>").
#
# Environment: BMN_TOOLS_CACHE (cache root), BMN_BUILD_NICE (nice level, default 10), GOFLAGS (e.g. -p=2).
# See docs/node.md for measured build times.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

version="$(awk '{ sub(/^require[ \t]+/, "") } $1 == "github.com/containerd/containerd/v2" && $2 ~ /^v/ { print $2; exit }' \
  "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "build.sh: could not read the pinned containerd version from $here/go.mod" >&2
  exit 1
fi
version="${version#v}"

cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/containerd-$version"
mkdir -p "$out"

nice_level="${BMN_BUILD_NICE:-10}"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -tags=no_btrfs,no_devmapper,no_zfs"
ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=v$version"

name_width=24
# shellcheck source=../go-build.sh
source "$here/../go-build.sh"

build containerd "$here" github.com/containerd/containerd/v2/cmd/containerd "$ldflags"
build containerd-shim-runc-v2 "$here" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 "$ldflags"
build ctr "$here" github.com/containerd/containerd/v2/cmd/ctr "$ldflags"
echo "dir $out"
