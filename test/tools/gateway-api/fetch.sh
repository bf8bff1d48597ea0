#!/usr/bin/env bash
# Fetches the standard-channel CRDs of the Kubernetes Gateway API (Go module sigs.k8s.io/gateway-api, pinned by
# test/tools/gateway-api/go.mod) through the Go module proxy, into a cache keyed by the version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/gateway-api-<version>/*.yaml
#
# Idempotent: a warm cache fetches nothing. The files are copied into a temporary directory and renamed into
# place, so an interrupted run never leaves half a set. Prints the cache directory as its last line
# ("dir <path>"). The operator tests call it (test/harness/kube-gateway-api.ts); CI may run it up front.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(awk '$1 == "require" && $2 == "sigs.k8s.io/gateway-api" { print $3; exit }' "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "fetch.sh: test/tools/gateway-api/go.mod does not require sigs.k8s.io/gateway-api" >&2
  exit 1
fi
cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/gateway-api-${version#v}"
if [[ -f "$out/.complete" ]]; then
  echo "dir $out"
  exit 0
fi

# `go mod download` needs no module of its own for module@version; run it outside any module.
module_dir="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "sigs.k8s.io/gateway-api@$version" |
  awk -F'"' '$2 == "Dir" { print $4 }')"
if [[ -z "$module_dir" || ! -d "$module_dir/config/crd/standard" ]]; then
  echo "fetch.sh: go mod download of sigs.k8s.io/gateway-api@$version gave no config/crd/standard" >&2
  exit 1
fi
mkdir -p "$cache_root"
tmp="$(mktemp -d "$cache_root/.gateway-api.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Only the CustomResourceDefinitions: the module also ships a ValidatingAdmissionPolicy for safe upgrades.
for file in "$module_dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
  if grep -q '^kind: CustomResourceDefinition' "$file"; then cp "$file" "$tmp/"; fi
done
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "dir $out"
