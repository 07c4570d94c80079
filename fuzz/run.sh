#!/usr/bin/env bash
# Builds one fuzz target with libFuzzer + AddressSanitizer and runs it.
#   fuzz/run.sh <name> [seconds] [libFuzzer flags…]   e.g. fuzz/run.sh websocket 60
#   fuzz/run.sh <name> 0 -runs=10000000               a bounded number of executions instead
#   FUZZ_BUILD_ONLY=1 fuzz/run.sh <name>              just (re)build the binary
# <name> is a folder of fuzz/ with entry.swift, sources.txt (source folders compiled into the
# same module as the entry) or build.sh (builds the binary some other way), and corpus/ (seed
# inputs; a working copy is fuzzed so new inputs do not land in the repository). Output: fuzz/out/<name>/ (binary, corpus copy, crashes).
# The binary is rebuilt only when a file it is built from is newer. Exits non-zero on a crash,
# a leak-free OOM, or an input slower than -timeout (libFuzzer's exit codes).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: fuzz/run.sh <name> [seconds] [libFuzzer flags…]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
dir=fuzz/$name
[ -f "$dir/entry.swift" ] || { echo "no fuzz target $dir"; exit 2; }
out=fuzz/out/$name
mkdir -p "$out/corpus" "$out/crashes"
binary=$out/fuzz-$name
if [ -x "$dir/build.sh" ]; then
  "$dir/build.sh" "$binary"
else
  # Folders that are modules of their own (Package.swift: the other folders `import` them) are
  # built first, in the order sources.txt lists them, as static libraries and linked; every other
  # folder joins the entry's module.
  sources=() modules=()
  while read -r folder; do
    case "$folder" in
      "") ;;
      Sources/WireCodec) modules+=("WireCodec:$folder") ;;
      Sources/FastBroker/Serialization) modules+=("BrokerSerialization:$folder") ;;
      *) sources+=("$folder"/*.swift) ;;
    esac
  done < "$dir/sources.txt"
  module_sources=()
  for m in "${modules[@]}"; do module_sources+=("${m#*:}"/*.swift); done
  if [ ! -x "$binary" ] || [ -n "$(find "${sources[@]}" "${module_sources[@]}" "$dir/entry.swift" "$dir/sources.txt" -newer "$binary" 2>/dev/null)" ]; then
    link=()
    if [ ${#modules[@]} -gt 0 ]; then
      mkdir -p "$out/modules"
      link=(-I "$out/modules" -L "$out/modules")
      libs=()
      for m in "${modules[@]}"; do
        module=${m%%:*}
        swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" -emit-library -static \
          -I "$out/modules" -emit-module -emit-module-path "$out/modules/$module.swiftmodule" "${m#*:}"/*.swift \
          -o "$out/modules/lib$module.a"
        libs=(-l"$module" "${libs[@]}")  # a module before the ones it imports, for the static link
      done
      link+=("${libs[@]}")
    fi
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "Fuzz_$name" \
      -I Sources/COpenSSL "${link[@]}" "${sources[@]}" "$dir/entry.swift" -o "$binary"
  fi
fi
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0
[ -d "$dir/corpus" ] && cp -n "$dir"/corpus/* "$out/corpus/" 2>/dev/null || true
limit=()
[ "$seconds" != 0 ] && limit=(-max_total_time="$seconds")
SWIFT_BACKTRACE=enable=no "$binary" "${limit[@]}" -artifact_prefix="$out/crashes/" "$@" "$out/corpus"
