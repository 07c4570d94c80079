#!/usr/bin/env bash
# Builds the cluster fuzz target: the envelope and batch codecs (bytes from NATS are untrusted)
# come from Sources/FastBroker/Cluster, whose other files need libnats, so only the three codec
# files are compiled — as the module BrokerCluster, with libFuzzer coverage + ASan (the same
# flags as fuzz/run.sh gives its modules) — and the harness (entry.swift) links against them.
# Usage: fuzz/cluster/build.sh <output binary>
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: fuzz/cluster/build.sh <output binary>}
dir=$(dirname "$out")
codec=(Sources/FastBroker/Cluster/ClusterEnvelope.swift Sources/FastBroker/Cluster/ClusterBatch.swift
       Sources/FastBroker/Cluster/LittleEndianBytes.swift)
if [ -x "$out" ] && [ -z "$(find "${codec[@]}" fuzz/cluster/entry.swift fuzz/cluster/build.sh -newer "$out")" ]; then exit 0; fi
mkdir -p "$dir/modules"
fast=(-parse-as-library -O -enforce-exclusivity=unchecked -I "$dir/modules")
swiftc -sanitize=fuzzer,address -Xllvm -asan-instrumentation-with-call-threshold=0 "${fast[@]}" \
  -module-name BrokerCluster -emit-library -static -emit-module -emit-module-path "$dir/modules/BrokerCluster.swiftmodule" \
  "${codec[@]}" -o "$dir/modules/libBrokerCluster.a"
swiftc -sanitize=address "${fast[@]}" -wmo -module-name Fuzz_cluster -c fuzz/cluster/entry.swift -o "$dir/harness.o"
swiftc -sanitize=fuzzer,address "$dir/harness.o" -L "$dir/modules" -lBrokerCluster -o "$out"
