#!/usr/bin/env bash
# perf/callgrind.sh WORKLOAD: instructions executed by FastBroker per delivered event, counted by
# valgrind's callgrind — repeatable to a fraction of a percent where wall-clock figures on these
# shared VMs swing 3×. The broker runs under callgrind while fastbench publishes a fixed number of
# publications (EVENTS delivered events in all), then the broker is stopped (SIGTERM) so callgrind
# writes its profile.
#
# Prints: total Ir / delivered events (everything the broker executed, start-up and set-up included),
# and the marginal figure (total − a set-up-only baseline run with no publications) / delivered,
# which is the per-event cost; then the top functions by self Ir (callgrind_annotate, demangled).
# Outputs in perf/out/: callgrind.WORKLOAD.out (open with callgrind_annotate or kcachegrind),
# callgrind.WORKLOAD.baseline.out, callgrind.WORKLOAD.top.txt, callgrind.WORKLOAD.bench.json, and
# callgrind.WORKLOAD.summary.json (the figures with commit and date; bench/compare.sh puts them into
# bench/RESULTS.md).
# Env: EVENTS (delivered events, default 200000), TRANSPORT=rs|ws, SERIALIZER=json|msgpack|cbor,
# SUBSCRIBER_SERIALIZER (subscribers in another serializer: a transcoded payload), MATCH=prefix|wildcard,
# BASELINE=0 to skip the baseline.
set -euo pipefail
WORKLOAD=${1:-}
source "$(dirname "$0")/broker-env.sh"
EVENTS=${EVENTS:-200000}
BASELINE=${BASELINE:-1}
command -v valgrind >/dev/null || { echo "[callgrind] installing valgrind" >&2; apt-get install -y --no-install-recommends valgrind >/dev/null; }

case "$WORKLOAD" in
    fanout|filters) SUBSCRIBERS=100 ;;
    nton) SUBSCRIBERS=16 ;;
    shared) SUBSCRIBERS=10 ;;
    *) SUBSCRIBERS=1 ;;
esac
case "$WORKLOAD" in
    fanout|nton) PER_PUBLICATION=$SUBSCRIBERS ;;
    *) PER_PUBLICATION=1 ;;
esac
PUBLICATIONS=$(( (EVENTS + PER_PUBLICATION - 1) / PER_PUBLICATION ))

# run_callgrind TAG PUBLICATIONS: one broker life under callgrind; prints its total Ir.
run_callgrind() {
    local tag=$1 publications=$2
    local profile="$OUT/callgrind.$WORKLOAD$tag.out"
    rm -f "$profile"
    "${PIN_BROKER[@]}" valgrind --tool=callgrind --callgrind-out-file="$profile" \
        "$BIN/fastbroker" --config "$OUT/broker-config.json" > "$OUT/callgrind.broker$tag.log" 2>&1 &
    BROKER_PID=$!
    wait_port "$(port_of_url)" 120
    "${PIN_TOOL[@]}" "$BIN/fastbench" --url "$URL" "${SERIALIZER_ARGS[@]}" --workload "$WORKLOAD" --publications "$publications" \
        --drain 60 --broker-pid "$BROKER_PID" --label "fastbroker under callgrind" \
        --json "$OUT/callgrind.$WORKLOAD$tag.bench.json" >&2
    stop_broker
    [ -s "$profile" ] || { echo "[callgrind] no profile written; see $OUT/callgrind.broker$tag.log" >&2; exit 1; }
    grep -E '^(summary|totals):' "$profile" | head -1 | awk '{print $2}'
}

echo "[callgrind] $WORKLOAD over $TRANSPORT/$SERIALIZER_LABEL: $PUBLICATIONS publications → $((PUBLICATIONS * PER_PUBLICATION)) deliveries expected" >&2
BASE_IR=0
if [ "$BASELINE" = 1 ]; then
    echo "[callgrind] baseline run: set-up only, no publications" >&2
    BASE_IR=$(run_callgrind .baseline 0)
fi
echo "[callgrind] measured run" >&2
TOTAL_IR=$(run_callgrind "" "$PUBLICATIONS")
DELIVERED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["received_total"])' "$OUT/callgrind.$WORKLOAD.bench.json")

callgrind_annotate --inclusive=no "$OUT/callgrind.$WORKLOAD.out" 2>/dev/null | swift demangle --simplified \
    > "$OUT/callgrind.$WORKLOAD.top.txt"

COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- Sources Package.swift || echo "+uncommitted")
python3 - "$TOTAL_IR" "$BASE_IR" "$DELIVERED" "$WORKLOAD" "$TRANSPORT" "$SERIALIZER_LABEL" "$COMMIT" "$OUT/callgrind.$WORKLOAD.summary.json" <<'PY'
import datetime, json, sys
total, base, delivered = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
workload, transport, serializer, commit, summary = sys.argv[4:9]
print(f"\nFastBroker, {workload} over {transport}/{serializer}: {delivered:,} events delivered")
print(f"  total Ir {total:,}  →  {total / max(delivered, 1):,.0f} instructions per delivered event (all included)")
if base:
    print(f"  set-up baseline Ir {base:,}  →  marginal {(total - base) / max(delivered, 1):,.0f} instructions per delivered event")
with open(summary, "w") as f:
    json.dump({"workload": workload, "transport": transport, "serializer": serializer, "commit": commit,
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "delivered": delivered, "total_ir": total, "baseline_ir": base,
               "total_ir_per_event": total / max(delivered, 1),
               "marginal_ir_per_event": (total - base) / max(delivered, 1) if base else None}, f, indent=2)
PY
echo
echo "Top functions by self instructions (callgrind_annotate, full list in $OUT/callgrind.$WORKLOAD.top.txt):"
awk '/^-+$/ {n++} n >= 3' "$OUT/callgrind.$WORKLOAD.top.txt" | grep -E '^ *[0-9,]+ ' | head -25 | cut -c1-180
