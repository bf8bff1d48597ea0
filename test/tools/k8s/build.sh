#!/usr/bin/env bash
# Builds the real control-plane programs with the machine's Go from their Go modules, pinned by
# test/tools/k8s/go.mod (Kubernetes, etcd) and test/tools/helm/go.mod (helm), into a cache keyed by the
# Kubernetes version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/k8s-<version>/{kube-apiserver,kube-controller-manager,kubectl,etcd,helm,
#                                                kube-scheduler,kubelet}
#
# Idempotent: a binary already in the cache is not built again, so a warm run builds nothing. Each binary is
# built under a temporary name and renamed into place, so an interrupted build never leaves a half-written
# binary behind. Prints one line per binary: name, path, and seconds spent (0 when cached).
# Prints the cache directory as its last line ("dir <path>").
#
# Environment: BMN_TOOLS_CACHE (cache root), BMN_BUILD_NICE (nice level, default 10), GOFLAGS (e.g. -p=2).
# See docs/control-plane.md for measured build times.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
helm_dir="$(cd "$here/../helm" && pwd)"

# Versions come from the go.mod files, so the pin lives in exactly one place.
modver() { awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1"; }
k8s_version="$(modver "$here/go.mod" k8s.io/kubernetes)"
etcd_version="$(modver "$here/go.mod" go.etcd.io/etcd/server/v3)"
helm_version="$(modver "$helm_dir/go.mod" helm.sh/helm/v3)"
if [[ -z "$k8s_version" || -z "$etcd_version" || -z "$helm_version" ]]; then
  echo "build.sh: could not read the pinned versions from the go.mod files" >&2
  exit 1
fi
k8s_version="${k8s_version#v}"
IFS=. read -r k8s_major k8s_minor _ <<<"$k8s_version"

cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/k8s-$k8s_version"
mkdir -p "$out"

nice_level="${BMN_BUILD_NICE:-10}"
# Fixed so that the binaries do not change from one build to the next.
build_date="1970-01-01T00:00:00Z"

k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=v$k8s_version -X $pkg.gitMajor=$k8s_major -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$etcd_version"
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"

name_width=24
# shellcheck source=../go-build.sh
source "$here/../go-build.sh"

build etcd "$here" go.etcd.io/etcd/server/v3 "$etcd_ldflags"
build kube-apiserver "$here" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kube-controller-manager "$here" k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build kubectl "$here" k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
# The test node (test/harness/kube-node.ts): scheduler and kubelet from the same release.
build kube-scheduler "$here" k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
build kubelet "$here" k8s.io/kubernetes/cmd/kubelet "$k8s_ldflags"
build helm "$helm_dir" helm.sh/helm/v3/cmd/helm "$helm_ldflags"
echo "dir $out"
