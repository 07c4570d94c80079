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
  # Every folder of sources.txt under Sources/ is code under test and is built as the module
  # Package.swift makes of it (a static library, in the order sources.txt lists them) with
  # libFuzzer coverage + ASan; the other folders (fuzz/common, Tests/SerializationSelfCheck) and
  # the entry form the harness module, built with ASan but without coverage: the harness's own
  # branches are no signal for the fuzzer, yet their comparison hooks ran on every call.
  # Also (together 2x the executions per CPU-second of rawsocket, 1.4x of cbor):
  # - -enforce-exclusivity=unchecked, as Package.swift builds these modules in release (the
  #   session target's SwiftPM release build has it too): the dynamic checks spent a sixth of a
  #   run in swift_beginAccess and its thread-local lookups, which ASan intercepts;
  # - ASan checks as calls (-asan-instrumentation-with-call-threshold=0): swiftc runs the
  #   coverage pass after ASan, so each inline shadow check got a comparison hook and an edge of
  #   its own (a hook per memory access, and "coverage" that was only ASan's branches);
  # - -enable-testing, so an entry can `@testable import` an internal initialiser (RingBuffer's
  #   seam position) without widening its access.
  sources=() modules=()
  while read -r folder; do
    case "$folder" in
      "") ;;
      Sources/WireCodec) modules+=("WireCodec:$folder") ;;
      Sources/FastBroker/Serialization) modules+=("BrokerSerialization:$folder") ;;
      Sources/FastBroker/Wire) modules+=("BrokerWire:$folder") ;;
      Sources/FilterVM) modules+=("FilterVM:$folder") ;;
      Sources/*) echo "fuzz/run.sh: no module name for $folder (add it above)"; exit 2 ;;
      *) sources+=("$folder"/*.swift) ;;
    esac
  done < "$dir/sources.txt"
  module_sources=()
  for m in "${modules[@]}"; do module_sources+=("${m#*:}"/*.swift); done
  if [ ! -x "$binary" ] || [ -n "$(find "${sources[@]}" "${module_sources[@]}" "$dir/entry.swift" "$dir/sources.txt" fuzz/run.sh -newer "$binary" 2>/dev/null)" ]; then
    mkdir -p "$out/modules"
    fast=(-parse-as-library -O -enforce-exclusivity=unchecked -I "$out/modules")
    libs=()
    for m in "${modules[@]}"; do
      module=${m%%:*}
      swiftc -sanitize=fuzzer,address -Xllvm -asan-instrumentation-with-call-threshold=0 -enable-testing \
        "${fast[@]}" -module-name "$module" -emit-library -static \
        -emit-module -emit-module-path "$out/modules/$module.swiftmodule" "${m#*:}"/*.swift \
        -o "$out/modules/lib$module.a"
      libs=(-l"$module" "${libs[@]}")  # a module before the ones it imports, for the static link
    done
    swiftc -sanitize=address "${fast[@]}" -wmo -module-name "Fuzz_$name" -I Sources/COpenSSL \
      -c "${sources[@]}" "$dir/entry.swift" -o "$out/harness.o"
    swiftc -sanitize=fuzzer,address "$out/harness.o" -L "$out/modules" "${libs[@]}" -o "$binary"
  fi
fi
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0
[ -d "$dir/corpus" ] && cp -n "$dir"/corpus/* "$out/corpus/" 2>/dev/null || true
limit=()
[ "$seconds" != 0 ] && limit=(-max_total_time="$seconds")
SWIFT_BACKTRACE=enable=no "$binary" "${limit[@]}" -artifact_prefix="$out/crashes/" "$@" "$out/corpus"
