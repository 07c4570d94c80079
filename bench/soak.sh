#!/usr/bin/env bash
# bench/soak.sh: issue 10's soak test, one command, opt-in (not part of CI or scripts/test.sh).
# Builds fastbroker and fastbench (release) and, for each run of the matrix, starts a fresh broker
# with the soak config (bench/soak-results/<stamp>/config-*.json), watches it with
# bench/soak_monitor.py (RSS every 100 ms, a fresh HELLO every 100 ms), idles, runs
# `fastbench soak` (1,000 publishers as fast as the healthy subscribers allow, 10 healthy and 10
# slow subscribers on one topic), lets it settle, reads /metrics, stops the broker. Then
# bench/soak_report.py checks every run and writes bench/SOAK.md.
#
#   bench/soak.sh                        # 5 runs × (60 s load + ~25 s around it)
#   bench/soak.sh --duration 10          # quick run (also: SOAK_DURATION=10)
#   SOAK_RUNS="rawsocket:1:disconnect" SOAK_PUBLISHERS=200 bench/soak.sh --duration 10
#
# Knobs (environment): SOAK_DURATION (s of load per run, 60), SOAK_RUNS (space-separated
# TRANSPORT:LOOPS:POLICY, default the four transport × loops runs with `disconnect` plus RawSocket
# loops 1 with `drop`), SOAK_PUBLISHERS (1000), SOAK_HEALTHY (10), SOAK_SLOW (10), SOAK_IDLE (s
# before the load, 3), SOAK_SETTLE (s after it, 15), SOAK_MAX_MESSAGE_BYTES (65536),
# SOAK_MAX_OUTBOUND_BYTES (524288), SOAK_WINDOW (events outstanding per healthy subscriber, 2048),
# SOAK_SLOW_READ_BYTES (what a slow subscriber reads per 100 ms, 65536),
# SOAK_RS_PORT / SOAK_WS_PORT (19081 / 19080 for the first run, +2 for each next one), SOAK_OUT (results directory), SOAK_REPORT
# (bench/SOAK.md). A dirty tree is refused unless SOAK_ALLOW_DIRTY=1 (the report then says so).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${SOAK_DURATION:-60}
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift 2 ;;
        --duration=*) DURATION=${1#--duration=}; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
RUNS=${SOAK_RUNS:-"rawsocket:1:disconnect websocket:1:disconnect rawsocket:2:disconnect websocket:2:disconnect rawsocket:1:drop"}
PUBLISHERS=${SOAK_PUBLISHERS:-1000}
HEALTHY=${SOAK_HEALTHY:-10}
SLOW=${SOAK_SLOW:-10}
IDLE=${SOAK_IDLE:-3}
SETTLE=${SOAK_SETTLE:-15}
MAX_MESSAGE_BYTES=${SOAK_MAX_MESSAGE_BYTES:-65536}
MAX_OUTBOUND_BYTES=${SOAK_MAX_OUTBOUND_BYTES:-524288}
WINDOW=${SOAK_WINDOW:-2048}
SLOW_READ_BYTES=${SOAK_SLOW_READ_BYTES:-65536}
BASE_RS_PORT=${SOAK_RS_PORT:-19081}
BASE_WS_PORT=${SOAK_WS_PORT:-19080}
REPORT=${SOAK_REPORT:-$HERE/SOAK.md}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${SOAK_OUT:-$HERE/soak-results/$STAMP}

log() { echo "[soak] $*" >&2; }

# --- The commit measured ----------------------------------------------------------------------------
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD)
if ! (cd "$ROOT" && git diff --quiet HEAD -- Sources Package.swift bench); then
    if [ "${SOAK_ALLOW_DIRTY:-0}" != 1 ]; then
        log "the tree has uncommitted changes under Sources/, Package.swift or bench/: commit them, or SOAK_ALLOW_DIRTY=1 (marked in the report)"
        exit 1
    fi
    COMMIT="$COMMIT+uncommitted"
fi

log "building fastbroker and fastbench (release)"
(cd "$ROOT" && swift build -c release --product fastbroker >/dev/null && swift build -c release --product fastbench >/dev/null)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/fastbroker-soak.XXXXXX)   # broker logs (one line per session: large), not kept

# 1,000+ sockets in each process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((PUBLISHERS + HEALTHY + SLOW + 64)) ]; then
    log "ulimit -n is $(ulimit -n): too few descriptors for $PUBLISHERS publishers"
    exit 1
fi

# The soak config: limits are stated here and copied into the report. max_connections(_per_ip) are
# raised because every client comes from 127.0.0.1; the rest are the bounds the RSS check derives from.
soak_config() {   # soak_config LOOPS POLICY
    cat <<EOF
{
  "loops": $1,
  "listeners": [
    {"transport": "websocket", "host": "127.0.0.1", "port": $WS_PORT, "path": "/ws", "serializers": ["json", "msgpack"]},
    {"transport": "rawsocket", "host": "127.0.0.1", "port": $RS_PORT, "serializers": ["json", "msgpack"]}
  ],
  "realms": [
    {"name": "realm1",
     "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_message_bytes": $MAX_MESSAGE_BYTES, "max_session_outbound_bytes": $MAX_OUTBOUND_BYTES,
             "slow_consumer": "$2", "handshake_timeout_ms": 10000,
             "max_connections": $((2 * (PUBLISHERS + HEALTHY + SLOW) + 100)), "max_connections_per_ip": $((2 * (PUBLISHERS + HEALTHY + SLOW) + 100))},
  "metrics": {"path": "/metrics"}
}
EOF
}

BROKER_PID=""
MONITOR_PID=""
cleanup() {
    for pid in "$MONITOR_PID" "$BROKER_PID"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {   # wait_port PORT LOG
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "the broker did not open port $1; its log ends:"
    tail -n 20 "$2" >&2
    return 1
}

metrics() { curl -s --max-time 5 "http://127.0.0.1:$WS_PORT/metrics" || echo "# metrics unavailable"; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
run_index=0
for run in $RUNS; do
    IFS=: read -r transport loops policy <<< "$run"
    # Each run on its own ports: the previous broker's closed connections linger in TIME_WAIT on
    # its ports, and its listener may not be rebound for a minute.
    RS_PORT=$((BASE_RS_PORT + 2 * run_index))
    WS_PORT=$((BASE_WS_PORT + 2 * run_index))
    run_index=$((run_index + 1))
    for port in "$RS_PORT" "$WS_PORT"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            log "port $port is already in use (a leftover broker?); set SOAK_RS_PORT / SOAK_WS_PORT"
            exit 1
        fi
    done
    case "$transport" in
        rawsocket) url="rs://127.0.0.1:$RS_PORT" ;;
        websocket) url="ws://127.0.0.1:$WS_PORT/ws" ;;
        *) log "unknown transport in SOAK_RUNS: $run"; exit 2 ;;
    esac
    name="$transport-loops$loops-$policy"
    log "run $name: $PUBLISHERS publishers, $HEALTHY healthy + $SLOW slow subscribers, ${DURATION}s"
    soak_config "$loops" "$policy" > "$OUT/config-$name.json"
    "$BIN/fastbroker" --config "$OUT/config-$name.json" > "$WORK/broker-$name.log" 2>&1 &
    BROKER_PID=$!
    wait_port "$RS_PORT" "$WORK/broker-$name.log"
    wait_port "$WS_PORT" "$WORK/broker-$name.log"
    python3 "$HERE/soak_monitor.py" --pid "$BROKER_PID" --port "$RS_PORT" --out "$OUT/monitor-$name.json" &
    MONITOR_PID=$!
    sleep "$IDLE"
    tool_start=$(date +%s.%N)
    cut -d' ' -f1 /proc/loadavg > "$OUT/loadavg-$name.txt"
    "$BIN/fastbench" soak --url "$url" --publishers "$PUBLISHERS" --healthy "$HEALTHY" --slow "$SLOW" \
        --duration "$DURATION" --window "$WINDOW" --slow-read-bytes "$SLOW_READ_BYTES" --json "$OUT/fastbench-$name.json" >&2 \
        || log "fastbench soak $name ended with an error (see the report)"
    tool_end=$(date +%s.%N)
    sleep "$SETTLE"
    metrics > "$OUT/metrics-$name.txt"
    kill "$MONITOR_PID"; wait "$MONITOR_PID" 2>/dev/null || true
    MONITOR_PID=""
    cut -d' ' -f1 /proc/loadavg >> "$OUT/loadavg-$name.txt"
    kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
    printf '{"name": "%s", "transport": "%s", "loops": %s, "policy": "%s", "tool_start": %s, "tool_end": %s}\n' \
        "$name" "$transport" "$loops" "$policy" "$tool_start" "$tool_end" > "$OUT/run-$name.json"
    tail -n 3 "$WORK/broker-$name.log" > "$OUT/broker-tail-$name.log" || true
done

export OUT REPORT COMMIT DURATION PUBLISHERS HEALTHY SLOW IDLE SETTLE MAX_MESSAGE_BYTES MAX_OUTBOUND_BYTES WINDOW LOAD_START RUNS
export LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
# The parameters beside the results, so soak_report.py can be re-run on them later (OUT=… REPORT=…).
python3 -c 'import json, os; print(json.dumps({k: os.environ[k] for k in
    "COMMIT DURATION PUBLISHERS HEALTHY SLOW IDLE SETTLE MAX_MESSAGE_BYTES MAX_OUTBOUND_BYTES WINDOW LOAD_START LOAD_END RUNS".split()}))' \
    > "$OUT/params.json"
python3 "$HERE/soak_report.py"
log "wrote $REPORT (raw results in ${OUT#$ROOT/})"
