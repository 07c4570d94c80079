#!/usr/bin/env bash
# perf/record.sh WORKLOAD: a CPU profile of FastBroker while fastbench drives WORKLOAD
# (1to1|fanout|nton|shared|filters|latency). perf samples the broker with the cpu-clock software
# event (hardware counters are not available on these VMs) and call graphs, after fastbench's
# warm-up; the stacks are folded, demangled and drawn as a flame graph.
#
# Outputs in perf/out/: WORKLOAD.perf.data, WORKLOAD.folded (one line per stack), WORKLOAD.svg
# (open in a browser), WORKLOAD.top.txt (hottest functions, self time) and WORKLOAD.bench.json.
# Env: TRANSPORT=rs|ws, DURATION (s, default 6), FREQ (Hz, default 2000), CALLGRAPH=fp|dwarf
# (default dwarf: Swift release code keeps no frame pointers everywhere), LOOPS (default 1).
set -euo pipefail
WORKLOAD=${1:-}
source "$(dirname "$0")/broker-env.sh"
DURATION=${DURATION:-6}
FREQ=${FREQ:-2000}
CALLGRAPH=${CALLGRAPH:-dwarf}

if ! command -v perf >/dev/null; then
    echo "[perf] installing linux-perf" >&2
    apt-get install -y --no-install-recommends linux-perf >/dev/null
fi
case "$CALLGRAPH" in
    fp) GRAPH=(-g) ;;
    dwarf) GRAPH=(--call-graph dwarf,16384) ;;
    *) echo "CALLGRAPH must be fp or dwarf" >&2; exit 2 ;;
esac

"${PIN_BROKER[@]}" "$BIN/fastbroker" --config "$OUT/broker-config.json" > "$OUT/broker.log" 2>&1 &
BROKER_PID=$!
wait_port "$(port_of_url)" 20

WARMUP=1
"${PIN_TOOL[@]}" "$BIN/fastbench" --url "$URL" "${SERIALIZER_ARGS[@]}" --workload "$WORKLOAD" --duration "$DURATION" --warmup "$WARMUP" \
    --broker-pid "$BROKER_PID" --label fastbroker --json "$OUT/$WORKLOAD.bench.json" &
BENCH_PID=$!
# Sample inside the measured window: after set-up and warm-up, ending before the drain.
sleep $((WARMUP + 1))
echo "[perf] recording broker pid $BROKER_PID for $((DURATION - 1)) s (cpu-clock, ${FREQ} Hz, call graph $CALLGRAPH)" >&2
perf record -e cpu-clock -F "$FREQ" "${GRAPH[@]}" -p "$BROKER_PID" -o "$OUT/$WORKLOAD.perf.data" \
    -- sleep $((DURATION - 1)) 2> "$OUT/$WORKLOAD.perf.log" || { cat "$OUT/$WORKLOAD.perf.log" >&2; exit 1; }
wait "$BENCH_PID" || true
stop_broker

echo "[perf] folding stacks and drawing the flame graph" >&2
perf script -i "$OUT/$WORKLOAD.perf.data" 2>/dev/null \
    | python3 "$PERF_DIR/stackcollapse.py" | swift demangle --simplified > "$OUT/$WORKLOAD.folded"
python3 "$PERF_DIR/flamegraph.py" --title "FastBroker, $WORKLOAD over $TRANSPORT (cpu-clock)" \
    < "$OUT/$WORKLOAD.folded" > "$OUT/$WORKLOAD.svg"
perf report -i "$OUT/$WORKLOAD.perf.data" --stdio --no-children --sort symbol --percent-limit 0.5 2>/dev/null \
    | grep -v '^$' | grep -E '^ +[0-9.]+%' | swift demangle --simplified > "$OUT/$WORKLOAD.top.txt" || true

echo
echo "Hottest functions (self time, % of broker samples):"
head -25 "$OUT/$WORKLOAD.top.txt"
echo
echo "flame graph: $OUT/$WORKLOAD.svg   folded stacks: $OUT/$WORKLOAD.folded   raw: $OUT/$WORKLOAD.perf.data"
