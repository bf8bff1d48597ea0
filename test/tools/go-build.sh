# Sourced by the build.sh scripts under test/tools, after they set:
#   out          the cache directory the binaries go to
#   nice_level   the nice level of `go build`
#   name_width   the width of the name column in what `build` prints
# Defines `build` and removes this run's temporary binaries on exit.

# build NAME MODULE_DIR PACKAGE LDFLAGS: builds PACKAGE of the Go module in MODULE_DIR into $out/NAME, unless an
# executable is already there; under a temporary name renamed into place, so an interrupted build leaves no
# half-written binary. Prints one line: name, path, and seconds spent (0 when cached).
build() {
  local name="$1" dir="$2" pkg="$3" ldflags="$4"
  local dest="$out/$name"
  if [[ -x "$dest" ]]; then
    printf '%-*s %s cached 0s\n' "$name_width" "$name" "$dest"
    return
  fi
  local tmp="$out/.$name.tmp.$$"
  local start end
  start=$(date +%s.%N)
  if ! (cd "$dir" && nice -n "$nice_level" go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    echo "build.sh: building $name ($pkg) failed" >&2
    exit 1
  fi
  mv -f "$tmp" "$dest"
  end=$(date +%s.%N)
  printf '%-*s %s built %.0fs\n' "$name_width" "$name" "$dest" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
}

trap 'rm -f "$out"/.*.tmp.$$' EXIT
