#!/usr/bin/env bash
# bench/compare.sh: FastBroker against Crossbar.io on the same workloads, in one run, with the same
# load tool (fastbench); plus FastBroker against itself: MessagePack vs JSON, TLS vs plaintext,
# loops: 2 vs loops: 1. Installs Crossbar from PyPI into bench/.venv, builds the release broker and
# load tool, generates a self-signed certificate (openssl), starts Crossbar (bench/crossbar/config.json)
# and two FastBrokers (loops: 1 with plaintext and TLS listeners; loops: 2), runs every workload
# against each in turn (interleaved rounds, medians reported), prints the tables and writes
# bench/RESULTS.md (including perf/callgrind.sh's latest instruction counts, when present).
#
# Environment knobs: DURATION (s, measured window per run, default 5), WARMUP (s, default 1),
# REPEATS (default 3), PAYLOAD (bytes, default 64), FB_LOOPS (the main FastBroker's loops, default 1:
# it gets one core), MULTI_LOOPS (the second FastBroker's loops, default 2), CROSSBAR_VERSION
# (default 26.10.1), RESULTS (output file, default bench/RESULTS.md).
# The whole script takes about 9 minutes on the 2-core machine (plus the Crossbar install once).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
REPEATS=${REPEATS:-3}
PAYLOAD=${PAYLOAD:-64}
FB_LOOPS=${FB_LOOPS:-1}
MULTI_LOOPS=${MULTI_LOOPS:-2}
CROSSBAR_VERSION=${CROSSBAR_VERSION:-26.10.1}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
FB_WS_PORT=${FB_WS_PORT:-18080}
FB_RS_PORT=${FB_RS_PORT:-18081}
FB_WSS_PORT=${FB_WSS_PORT:-18082}
FB_RSS_PORT=${FB_RSS_PORT:-18083}
FB2_RS_PORT=${FB2_RS_PORT:-18091}
CB_WS_PORT=${CB_WS_PORT:-28080}
CB_RS_PORT=${CB_RS_PORT:-28081}
OUT=$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
started=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "[compare] $*" >&2; }

# --- Crossbar in a venv ---------------------------------------------------------------------------
VENV=$HERE/.venv
if ! "$VENV/bin/crossbar" version >/dev/null 2>&1; then
    log "installing crossbar==$CROSSBAR_VERSION into bench/.venv (once)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip >/dev/null
    "$VENV/bin/pip" install --quiet "crossbar==$CROSSBAR_VERSION"
fi
CB_VERSION=$("$VENV/bin/python" -c 'import crossbar; print(crossbar.__version__)')
PY_VERSION=$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')

# --- FastBroker and fastbench, release ------------------------------------------------------------
log "building fastbroker and fastbench (release)"
(cd "$ROOT" && swift build -c release --product fastbroker >/dev/null && swift build -c release --product fastbench >/dev/null)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
FASTBENCH=$BIN/fastbench
FASTBROKER=$BIN/fastbroker
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- Sources Package.swift bench/FastBench || echo "+uncommitted")

# --- CPU pinning: broker on CPU 0, load tool on CPU 1 ---------------------------------------------
NPROC=$(nproc)
if [ "$NPROC" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_BROKER=(taskset -c 0)
    PIN_MULTI=(taskset -c 0-$((NPROC - 1)))
    PIN_TOOL=(taskset -c 1)
    PINNING="Crossbar and the loops: $FB_LOOPS FastBroker pinned to CPU 0, fastbench to CPU 1 (taskset); the loops: $MULTI_LOOPS FastBroker on CPUs 0–$((NPROC - 1)) (so on this machine one of its loops shares CPU 1 with fastbench). Other processes on the machine are not excluded"
else
    PIN_BROKER=()
    PIN_MULTI=()
    PIN_TOOL=()
    PINNING="no pinning (nproc=$NPROC or taskset missing): brokers and load tool share the CPUs"
fi
log "$PINNING"

# --- Self-signed certificate for the TLS listeners ------------------------------------------------
mkdir -p "$OUT/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$OUT/tls/key.pem" -out "$OUT/tls/cert.pem" -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
CERT=$OUT/tls/cert.pem
TLS_DESC="self-signed P-256 ECDSA certificate (openssl), verified by fastbench against it (--ca); $(openssl version | cut -d' ' -f1-2)"

# --- Start the brokers ----------------------------------------------------------------------------
fastbroker_config() {   # fastbroker_config LOOPS WS RS [WSS RSS]
    local tls_listeners=""
    if [ $# -ge 5 ]; then
        tls_listeners=",
    {\"transport\": \"websocket\", \"host\": \"127.0.0.1\", \"port\": $4, \"path\": \"/ws\", \"serializers\": [\"json\", \"msgpack\"],
     \"tls\": {\"certificate\": \"tls/cert.pem\", \"key\": \"tls/key.pem\"}},
    {\"transport\": \"rawsocket\", \"host\": \"127.0.0.1\", \"port\": $5, \"serializers\": [\"json\", \"msgpack\"],
     \"tls\": {\"certificate\": \"tls/cert.pem\", \"key\": \"tls/key.pem\"}}"
    fi
    cat <<EOF
{
  "loops": $1,
  "listeners": [
    {"transport": "websocket", "host": "127.0.0.1", "port": $2, "path": "/ws", "serializers": ["json", "msgpack"]},
    {"transport": "rawsocket", "host": "127.0.0.1", "port": $3, "serializers": ["json", "msgpack"]}$tls_listeners
  ],
  "realms": [
    {"name": "realm1",
     "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_message_bytes": 16777216, "max_session_outbound_bytes": 268435456,
             "slow_consumer": "disconnect", "handshake_timeout_ms": 10000}
}
EOF
}
FB2_WS_PORT=$((FB2_RS_PORT - 1))
fastbroker_config "$FB_LOOPS" "$FB_WS_PORT" "$FB_RS_PORT" "$FB_WSS_PORT" "$FB_RSS_PORT" > "$OUT/fastbroker.json"
fastbroker_config "$MULTI_LOOPS" "$FB2_WS_PORT" "$FB2_RS_PORT" > "$OUT/fastbroker-multi.json"
mkdir -p "$OUT/crossbar-node"
sed -e "s/\"port\": 28081/\"port\": $CB_RS_PORT/" -e "s/\"port\": 28080/\"port\": $CB_WS_PORT/" \
    "$HERE/crossbar/config.json" > "$OUT/crossbar-node/config.json"

FB_PID=""
FB2_PID=""
CB_PID=""
cleanup() {
    for pid in "$FB_PID" "$FB2_PID" "$CB_PID"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() {   # wait_port PORT WHAT
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$2 did not open port $1; see $OUT"
    exit 1
}

# A port already listening would be shared silently: FastBroker binds with SO_REUSEPORT, so a
# leftover broker would take half the connections and publishers and subscribers would not meet.
ALL_PORTS=("$FB_RS_PORT" "$FB_WS_PORT" "$FB_RSS_PORT" "$FB_WSS_PORT" "$FB2_RS_PORT" "$FB2_WS_PORT" "$CB_RS_PORT" "$CB_WS_PORT")
for port in "${ALL_PORTS[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is already in use (a leftover broker?); stop it or set FB_*_PORT / FB2_RS_PORT / CB_*_PORT"
        exit 1
    fi
done

log "starting FastBroker (loops=$FB_LOOPS) on rs:$FB_RS_PORT ws:$FB_WS_PORT rss:$FB_RSS_PORT wss:$FB_WSS_PORT"
"${PIN_BROKER[@]}" "$FASTBROKER" --config "$OUT/fastbroker.json" > "$OUT/fastbroker.log" 2>&1 &
FB_PID=$!
log "starting FastBroker (loops=$MULTI_LOOPS) on rs:$FB2_RS_PORT"
"${PIN_MULTI[@]}" "$FASTBROKER" --config "$OUT/fastbroker-multi.json" > "$OUT/fastbroker-multi.log" 2>&1 &
FB2_PID=$!
log "starting Crossbar $CB_VERSION on rs:$CB_RS_PORT ws:$CB_WS_PORT"
"${PIN_BROKER[@]}" "$VENV/bin/crossbar" start --cbdir "$OUT/crossbar-node" --loglevel warn > "$OUT/crossbar.log" 2>&1 &
CB_PID=$!
for port in "${ALL_PORTS[@]}"; do wait_port "$port" "a broker"; done
# The router worker, a child of the Crossbar controller, is the process that routes: its CPU is the broker's.
CB_WORKER=$(pgrep -P "$CB_PID" -f crossbar-worker | head -1 || true)
[ -n "$CB_WORKER" ] || CB_WORKER=$CB_PID

url_of() {   # url_of BROKER TRANSPORT
    case "$1:$2" in
        fastbroker:rs) echo "rs://127.0.0.1:$FB_RS_PORT" ;;
        fastbroker:ws) echo "ws://127.0.0.1:$FB_WS_PORT/ws" ;;
        fastbroker:rss) echo "rss://127.0.0.1:$FB_RSS_PORT" ;;
        fastbroker:wss) echo "wss://127.0.0.1:$FB_WSS_PORT/ws" ;;
        fastbrokerL2:rs) echo "rs://127.0.0.1:$FB2_RS_PORT" ;;
        fastbrokerL2:ws) echo "ws://127.0.0.1:$FB2_WS_PORT/ws" ;;
        crossbar:rs) echo "rs://127.0.0.1:$CB_RS_PORT" ;;
        crossbar:ws) echo "ws://127.0.0.1:$CB_WS_PORT/ws" ;;
        *) log "no URL for $1 over $2"; exit 2 ;;
    esac
}
pid_of() {
    case "$1" in
        fastbroker) echo "$FB_PID" ;;
        fastbrokerL2) echo "$FB2_PID" ;;
        crossbar) echo "$CB_WORKER" ;;
    esac
}

# bench BROKER TRANSPORT SERIALIZER WORKLOAD TAG REP [extra fastbench args...]
# writes run-BROKER-TRANSPORT-SERIALIZER-TAG-REP.json; the 1-minute load average before each run
# goes to loads.txt.
bench() {
    local broker=$1 transport=$2 serializer=$3 workload=$4 tag=$5 rep=$6
    shift 6
    local tls=()
    case "$transport" in rss|wss) tls=(--ca "$CERT") ;; esac
    cut -d' ' -f1 /proc/loadavg >> "$OUT/loads.txt"
    "${PIN_TOOL[@]}" "$FASTBENCH" --url "$(url_of "$broker" "$transport")" --serializer "$serializer" "${tls[@]}" \
        --workload "$workload" --payload "$PAYLOAD" --duration "$DURATION" --warmup "$WARMUP" \
        --broker-pid "$(pid_of "$broker")" --label "$broker" \
        --json "$OUT/run-$broker-$transport-$serializer-$tag-$rep.json" "$@" >&2 \
        || log "$broker $transport $serializer $tag run $rep failed (kept in the table as an error)"
}

unsupported() {   # unsupported BROKER TRANSPORT SERIALIZER TAG: true when run 1 reported it unsupported
    grep -q '"status": "unsupported"' "$OUT/run-$1-$2-$3-$4-1.json" 2>/dev/null
}

# One round: "TRANSPORT SERIALIZER WORKLOAD BROKER..."; pairs alternate their order every round.
# Variants of a workload run next to their reference, so both see the same moment's machine.
RUNS=(
    "rs json 1to1 crossbar fastbroker"
    "rss json 1to1 fastbroker"
    "rs msgpack 1to1 crossbar fastbroker"
    "rs json fanout crossbar fastbroker"
    "rs json fanout fastbrokerL2"
    "rss json fanout fastbroker"
    "rs msgpack fanout crossbar fastbroker"
    "rs json nton crossbar fastbroker"
    "rs json shared crossbar fastbroker"
    "rs json filters crossbar fastbroker"
    "rs msgpack filters fastbroker"
    "rs json latency crossbar fastbroker"
    "ws json 1to1 crossbar fastbroker"
    "ws json fanout crossbar fastbroker"
    "wss json fanout fastbroker"
    "ws msgpack fanout crossbar fastbroker"
)
for rep in $(seq 1 "$REPEATS"); do
    log "round $rep of $REPEATS"
    for run in "${RUNS[@]}"; do
        set -- $run
        transport=$1 serializer=$2 workload=$3
        shift 3
        brokers=("$@")
        if [ $((rep % 2)) -eq 0 ] && [ ${#brokers[@]} -eq 2 ]; then brokers=("${brokers[1]}" "${brokers[0]}"); fi
        for broker in "${brokers[@]}"; do
            tag=$workload
            [ "$workload" = latency ] && tag=latency@5000
            if [ "$rep" -gt 1 ] && unsupported "$broker" "$transport" "$serializer" "$tag"; then continue; fi
            if [ "$workload" = latency ]; then bench "$broker" "$transport" "$serializer" latency "$tag" "$rep" --rate 5000
            else bench "$broker" "$transport" "$serializer" "$workload" "$tag" "$rep"; fi
        done
    done
done

# Latency at half of each broker's own median 1->1 peak.
half_peak() {
    python3 - "$OUT" "$1" <<'EOF'
import glob, json, statistics, sys
rates = [json.load(open(f)).get("delivered_per_s", 0) for f in glob.glob(f"{sys.argv[1]}/run-{sys.argv[2]}-rs-json-1to1-*.json")]
rates = [r for r in rates if r > 0]
print(max(100, int(statistics.median(rates) / 2)) if rates else 0)
EOF
}
for broker in crossbar fastbroker; do
    rate=$(half_peak "$broker")
    if [ "$rate" -gt 0 ]; then
        for rep in $(seq 1 "$REPEATS"); do bench "$broker" rs json latency latency@half "$rep" --rate "$rate"; done
    fi
done

cleanup
trap - EXIT
elapsed=$(( $(date +%s) - started ))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Tables and RESULTS.md ------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
SWIFT_VERSION=$(swift --version 2>&1 | head -1)
CALLGRIND_DIR=$ROOT/perf/out
export LOAD_START LOAD_END OUT RESULTS NPROC PINNING CB_VERSION PY_VERSION FB_LOOPS MULTI_LOOPS DURATION WARMUP \
    PAYLOAD REPEATS CPU_MODEL SWIFT_VERSION elapsed TLS_DESC COMMIT CALLGRIND_DIR
python3 "$HERE/compare_report.py"
