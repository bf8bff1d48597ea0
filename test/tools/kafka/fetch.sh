#!/usr/bin/env bash
# Fetches the jars of a single-node Apache Kafka broker (KRaft mode) from Maven Central with Maven, pinned by
# test/tools/kafka/pom.xml (kafka.version), into a cache keyed by the version:
#
#   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/kafka-<version>/libs/*.jar
#
# The broker runs on the machine's Java 17: `java -cp "libs/*" kafka.Kafka server.properties`, after
# `java -cp "libs/*" kafka.tools.StorageTool format ...` (test/harness/kafka-server.ts does both).
# Idempotent: a warm cache fetches nothing. The jars are copied into a temporary directory and renamed into
# place, so an interrupted run never leaves half a set. Prints the seconds spent and, last, "dir <path>".
# Environment: BMN_TOOLS_CACHE (cache root), MAVEN_OPTS / a settings.xml for a mirror.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
if [[ -z "$version" ]]; then
  echo "fetch.sh: test/tools/kafka/pom.xml has no <kafka.version>" >&2
  exit 1
fi
cache_root="${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}"
out="$cache_root/kafka-$version"
if [[ -f "$out/.complete" ]]; then
  echo "kafka $version cached (0 s)"
  echo "dir $out"
  exit 0
fi
for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch.sh: $tool is not installed (Debian: openjdk-17-jre-headless, maven)" >&2
    exit 1
  fi
done

start=$SECONDS
mkdir -p "$cache_root"
tmp="$(mktemp -d "$cache_root/.kafka.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs"
if ! ls "$tmp/libs/kafka_2.13-$version.jar" >/dev/null 2>&1; then
  echo "fetch.sh: Maven gave no kafka_2.13-$version.jar" >&2
  exit 1
fi
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "kafka $version fetched ($((SECONDS - start)) s)"
echo "dir $out"
