#!/usr/bin/env bash
# Builds the session fuzz target: unlike the other targets (a few source folders compiled into
# one module), it needs the broker's modules as the package defines them, so SwiftPM builds
# them with libFuzzer coverage + ASan into .build-fuzz (release with -enable-testing, so
# `@testable import` reaches the internal Connection/InMemoryTransport initialisers without
# widening their access; several times the executions per CPU second of a debug build, see
# RESULTS.md), and entry.swift is linked against their objects.
# Usage: fuzz/session/build.sh <output binary>
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: fuzz/session/build.sh <output binary>}
scratch=.build-fuzz
# One -sanitize=fuzzer,address flag: SwiftPM's --sanitize=fuzzer --sanitize=address become two
# flags in no fixed order, and swiftc keeps only the last (coverage or ASan, not both).
# -assert-config Debug keeps assert() (the loop-ownership checks) on in the optimized build.
# ASan's checks are calls (-asan-instrumentation-with-call-threshold=0) because swiftc runs the
# coverage pass after ASan: inline shadow checks each got a comparison hook and a coverage edge of
# their own, which libFuzzer then scanned and scored after every run (see fuzz/run.sh).
# -disable-incremental-llvm-codegen: the frontend otherwise keeps an object whose Swift-level IR
# is unchanged, so a changed LLVM or sanitizer option would silently leave the old objects.
asan_calls=(-Xllvm -asan-instrumentation-with-call-threshold=0)
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -assert-config -Xswiftc Debug \
  -Xswiftc -Xllvm -Xswiftc -asan-instrumentation-with-call-threshold=0 \
  -Xswiftc -Xfrontend -Xswiftc -disable-incremental-llvm-codegen \
  --target FastBroker --scratch-path "$scratch" >&2
build=$scratch/release
objects=()
# Every module FastBroker links (Package.swift's dependency closure of the FastBroker target).
for module in Logging WireCodec WampURI BrokerSync BrokerLoop BrokerSecurity BrokerWire BrokerSerialization BrokerConfig FilterVM BrokerCluster FastBroker; do
  # The objects of the module's current sources (its `sources` list), not every *.o in the
  # folder: an object left by a deleted source file would otherwise be linked too.
  while read -r source; do
    objects+=("$build/$module.build/$(basename "$source").o")
  done < "$build/$module.build/sources"
done
rm -f "$out"
swiftc -sanitize=fuzzer,address "${asan_calls[@]}" -parse-as-library -O -assert-config Debug -module-name Fuzz_session \
  -I "$build/Modules" -I Sources/CUV -I Sources/COpenSSL -I Sources/CJemalloc -I Sources/CNats \
  fuzz/session/entry.swift "${objects[@]}" -luv -lssl -lcrypto -ljemalloc -lnats -o "$out" 2>&1 \
  | grep -v "Cannot export local symbol" >&2 || true
[ -x "$out" ]
