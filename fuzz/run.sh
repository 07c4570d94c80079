#!/usr/bin/env bash
# Builds one fuzz target with libFuzzer + AddressSanitizer and runs it.
#   fuzz/run.sh <name> [seconds]      e.g. fuzz/run.sh websocket 60
# <name> is a folder of fuzz/ with entry.swift, sources.txt (source folders compiled into the
# same module as the entry) and corpus/ (seed inputs; a working copy is fuzzed so new inputs
# do not land in the repository). Output: fuzz/out/<name>/ (binary, corpus copy, crashes).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: fuzz/run.sh <name> [seconds]}
seconds=${2:-60}
dir=fuzz/$name
[ -f "$dir/entry.swift" ] || { echo "no fuzz target $dir"; exit 2; }
out=fuzz/out/$name
mkdir -p "$out/corpus" "$out/crashes"
sources=()
while read -r folder; do
  [ -n "$folder" ] && sources+=("$folder"/*.swift)
done < "$dir/sources.txt"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "Fuzz_$name" \
  -I Sources/COpenSSL "${sources[@]}" "$dir/entry.swift" -o "$out/fuzz-$name"
[ -d "$dir/corpus" ] && cp -n "$dir"/corpus/* "$out/corpus/" 2>/dev/null || true
SWIFT_BACKTRACE=enable=no "$out/fuzz-$name" -max_total_time="$seconds" -artifact_prefix="$out/crashes/" "$out/corpus"
