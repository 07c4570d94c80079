#!/usr/bin/env bash
# bench/compare.sh: one command regenerates bench/RESULTS.md, its raw JSON (bench/results-latest/)
# and plots (bench/plots/*.svg) at the current commit. FastBroker against Crossbar.io and, for raw
# pub/sub, nats-server (fastbench speaks NATS too: one tool measures all three), on the same
# workloads; plus FastBroker against itself: MessagePack and CBOR vs JSON, TLS vs plaintext, loops: 2
# vs 1; and cross-node figures of a 3-node FastBroker cluster over a 3-server NATS cluster
# (bench/cluster.sh, sourced here).
# Refuses a tree with uncommitted changes (COMPARE_ALLOW_DIRTY=1 runs anyway and says so in the
# report). Runs perf/callgrind.sh 1to1 and fanout first (CALLGRIND=0 skips; the latest figures in
# perf/out/ are used then). Installs Crossbar from PyPI into bench/.venv, builds the release broker
# and load tool, generates a self-signed certificate (openssl), starts Crossbar
# (bench/crossbar/config.json), nats-server and two FastBrokers (loops: 1 with plaintext and TLS
# listeners; loops: 2), runs every workload against each in turn (interleaved rounds, medians
# reported), then latency without coordinated omission at 5,000/s and at 50 % and 90 % of each
# broker's own measured peak (1→1 and 1→100), then bench/filter-results.sh and
# bench/memory-per-connection.sh.
#
# Environment knobs: DURATION (s, measured window per run, default 5), WARMUP (s, default 1),
# REPEATS (default 3), LATENCY_REPEATS (rounds of the 5,000/s latency rows, default 5), PAYLOAD (bytes, default 64), FB_LOOPS (the main FastBroker's loops, default 1:
# it gets one core), MULTI_LOOPS (the second FastBroker's loops, default 2), CROSSBAR_VERSION
# (default 26.10.1), RESULTS (output file, default bench/RESULTS.md), NATS_SERVER (default
# /usr/sbin/nats-server; absent = no NATS rows), CALLGRIND (1), MEMORY (1: run memory-per-connection.sh),
# PLOTS (1: SVG plots with matplotlib, installed pinned into bench/.plot-venv), FILTER (1: also
# bench/filter-results.sh, FILTER-RESULTS.md's table), CLUSTER (1: the cross-node section,
# bench/cluster.sh; needs nats-server), CROSSBAR (1; 0 = no Crossbar rows and no install), LATENCY
# (1: the single-node latency section), RUNS_MATCHING (an extended regex: only the throughput runs
# whose line in RUNS matches, e.g. 'cbor|msgpack'; empty = all), BIN (a directory holding built
# fastbroker and fastbench: skips the release build, e.g. for a quick check of the script), LATEST
# (where the raw JSON goes, default bench/results-latest).
# The whole script takes about 50 minutes on the 2-core machine with REPEATS=3 (plus the installs once;
# the cluster section ~6 of them, CBOR ~2).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no)" ] && [ "${COMPARE_ALLOW_DIRTY:-0}" != 1 ]; then
    echo "[compare] the tree has uncommitted changes: commit them (results name the commit) or set COMPARE_ALLOW_DIRTY=1" >&2
    exit 1
fi
NATS_SERVER=${NATS_SERVER:-/usr/sbin/nats-server}
NATS_PORT=${NATS_PORT:-24222}
CALLGRIND=${CALLGRIND:-1}
MEMORY=${MEMORY:-1}
PLOTS=${PLOTS:-1}
FILTER=${FILTER:-1}
CLUSTER=${CLUSTER:-1}
CROSSBAR=${CROSSBAR:-1}
LATENCY=${LATENCY:-1}
RUNS_MATCHING=${RUNS_MATCHING:-}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
REPEATS=${REPEATS:-3}
LATENCY_REPEATS=${LATENCY_REPEATS:-5}
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
OUT=$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-$(cd "$ROOT" && git rev-parse --short HEAD)
mkdir -p "$OUT"
started=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "[compare] $*" >&2; }

# --- Instruction counts first (valgrind; independent of the machine's load) -----------------------
if [ "$CALLGRIND" = 1 ]; then
    for workload in 1to1 fanout; do
        log "perf/callgrind.sh $workload"
        "$ROOT/perf/callgrind.sh" "$workload" > "$OUT/callgrind-$workload.txt" 2>&1 || log "callgrind $workload failed: see $OUT/callgrind-$workload.txt"
    done
fi

# --- Crossbar in a venv ---------------------------------------------------------------------------
VENV=$HERE/.venv
CB_VERSION="not run (CROSSBAR=0)"
PY_VERSION="—"
if [ "$CROSSBAR" = 1 ]; then
    if ! "$VENV/bin/crossbar" version >/dev/null 2>&1; then
        log "installing crossbar==$CROSSBAR_VERSION into bench/.venv (once)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --upgrade pip >/dev/null
        "$VENV/bin/pip" install --quiet "crossbar==$CROSSBAR_VERSION"
    fi
    CB_VERSION=$("$VENV/bin/python" -c 'import crossbar; print(crossbar.__version__)')
    PY_VERSION=$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')
fi

# --- FastBroker and fastbench, release ------------------------------------------------------------
if [ -z "${BIN:-}" ]; then
    log "building fastbroker and fastbench (release)"
    (cd "$ROOT" && swift build -c release --product fastbroker >/dev/null && swift build -c release --product fastbench >/dev/null)
    BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
fi
BIN=$(cd "$BIN" && pwd)   # absolute: the brokers start in $OUT
FASTBENCH=$BIN/fastbench
FASTBROKER=$BIN/fastbroker
COMMIT=$(cd "$ROOT" && git rev-parse HEAD)$(cd "$ROOT" && git diff --quiet HEAD || echo "+uncommitted")
NATS_VERSION=""
[ -x "$NATS_SERVER" ] && NATS_VERSION=$("$NATS_SERVER" --version 2>&1 | head -1)

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
    {"transport": "websocket", "host": "127.0.0.1", "port": $2, "path": "/ws", "serializers": ["json", "msgpack", "cbor"]},
    {"transport": "rawsocket", "host": "127.0.0.1", "port": $3, "serializers": ["json", "msgpack", "cbor"]}$tls_listeners
  ],
  "realms": [
    {"name": "realm1",
     "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]},
    {"name": "secure",
     "auth": {"wampcra": {"userdb": "users.json"}},
     "roles": [{"name": "publisher", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_message_bytes": 16777216, "max_session_outbound_bytes": 268435456,
             "slow_consumer": "disconnect", "handshake_timeout_ms": 10000,
             "max_connections": 30000, "max_connections_per_ip": 30000, "max_subscriptions_per_session": 100000}
}
EOF
}
FB2_WS_PORT=$((FB2_RS_PORT - 1))
echo '[{"authid": "bench", "role": "publisher", "secret": "bench-secret"}]' > "$OUT/users.json"
fastbroker_config "$FB_LOOPS" "$FB_WS_PORT" "$FB_RS_PORT" "$FB_WSS_PORT" "$FB_RSS_PORT" > "$OUT/fastbroker.json"
fastbroker_config "$MULTI_LOOPS" "$FB2_WS_PORT" "$FB2_RS_PORT" > "$OUT/fastbroker-multi.json"
mkdir -p "$OUT/crossbar-node"
sed -e "s/\"port\": 28081/\"port\": $CB_RS_PORT/" -e "s/\"port\": 28080/\"port\": $CB_WS_PORT/" \
    "$HERE/crossbar/config.json" > "$OUT/crossbar-node/config.json"

FB_PID=""
FB2_PID=""
CB_PID=""
NATS_PID=""
# The cross-node section (cluster_start, cluster_round, cluster_latency, cluster_stop, cluster_ports).
# shellcheck source=bench/cluster.sh
. "$HERE/cluster.sh"
if [ "$CLUSTER" = 1 ] && [ -z "$NATS_VERSION" ]; then
    log "no nats-server ($NATS_SERVER): no cluster rows"
    CLUSTER=0
fi
cleanup() {
    cluster_stop
    for pid in "$FB_PID" "$FB2_PID" "$CB_PID" "$NATS_PID"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
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
ALL_PORTS=("$FB_RS_PORT" "$FB_WS_PORT" "$FB_RSS_PORT" "$FB_WSS_PORT" "$FB2_RS_PORT" "$FB2_WS_PORT")
[ "$CROSSBAR" = 1 ] && ALL_PORTS+=("$CB_RS_PORT" "$CB_WS_PORT")
[ -n "$NATS_VERSION" ] && ALL_PORTS+=("$NATS_PORT")
if [ "$CLUSTER" = 1 ]; then
    read -r -a cluster_port_list <<< "$(cluster_ports | tr '\n' ' ')"
    ALL_PORTS+=("${cluster_port_list[@]}")
fi
for port in "${ALL_PORTS[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is already in use (a leftover broker?); stop it or set FB_*_PORT / FB2_RS_PORT / CB_*_PORT"
        exit 1
    fi
done

# 10,000 connections per workload: the tool and the brokers need the descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "starting FastBroker (loops=$FB_LOOPS) on rs:$FB_RS_PORT ws:$FB_WS_PORT rss:$FB_RSS_PORT wss:$FB_WSS_PORT"
(cd "$OUT" && exec "${PIN_BROKER[@]}" "$FASTBROKER" --config "$OUT/fastbroker.json" > "$OUT/fastbroker.log" 2>&1) &
FB_PID=$!
log "starting FastBroker (loops=$MULTI_LOOPS) on rs:$FB2_RS_PORT"
(cd "$OUT" && exec "${PIN_MULTI[@]}" "$FASTBROKER" --config "$OUT/fastbroker-multi.json" > "$OUT/fastbroker-multi.log" 2>&1) &
FB2_PID=$!
if [ -n "$NATS_VERSION" ]; then
    log "starting $NATS_VERSION on $NATS_PORT"
    # max_payload (64 KiB payloads) is a config-file setting only: nats-server 2.9 has no flag for it.
    printf 'listen: 127.0.0.1:%s\nmax_payload: 67108864\n' "$NATS_PORT" > "$OUT/nats.conf"
    "${PIN_BROKER[@]}" "$NATS_SERVER" -c "$OUT/nats.conf" > "$OUT/nats.log" 2>&1 &
    NATS_PID=$!
fi
if [ "$CROSSBAR" = 1 ]; then
    log "starting Crossbar $CB_VERSION on rs:$CB_RS_PORT ws:$CB_WS_PORT"
    "${PIN_BROKER[@]}" "$VENV/bin/crossbar" start --cbdir "$OUT/crossbar-node" --loglevel warn > "$OUT/crossbar.log" 2>&1 &
    CB_PID=$!
fi
[ "$CLUSTER" = 1 ] && cluster_start
for port in "${ALL_PORTS[@]}"; do wait_port "$port" "a broker"; done
# The router worker, a child of the Crossbar controller, is the process that routes: its CPU is the broker's.
CB_WORKER=""
if [ "$CROSSBAR" = 1 ]; then
    CB_WORKER=$(pgrep -P "$CB_PID" -f crossbar-worker | head -1 || true)
    [ -n "$CB_WORKER" ] || CB_WORKER=$CB_PID
fi

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
        nats:nats) echo "nats://127.0.0.1:$NATS_PORT" ;;
        fbcluster:rs) echo "rs://127.0.0.1:$(cluster_rs_port 0)" ;;
        natscluster:nats) echo "nats://127.0.0.1:$(cluster_nats_port 0)" ;;
        *) log "no URL for $1 over $2"; exit 2 ;;
    esac
}
pid_of() {
    case "$1" in
        fastbroker) echo "$FB_PID" ;;
        fastbrokerL2) echo "$FB2_PID" ;;
        crossbar) echo "$CB_WORKER" ;;
        nats) echo "$NATS_PID" ;;
        natscluster) echo "${CLUSTER_PIDS[0]}" ;;   # server 1, the publisher's
        fbcluster) echo "${CLUSTER_PIDS[3]}" ;;     # node a, the publisher's
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

# One round: "TRANSPORT SERIALIZER WORKLOAD TAG BROKER... [-- fastbench args]"; the brokers' order
# rotates every round. Variants of a workload run next to their reference, so both see the same
# moment's machine. nats runs over its own protocol (transport "nats") with the same payloads.
RUNS=(
    "rs json 1to1 1to1 crossbar fastbroker nats"
    "rss json 1to1 1to1 fastbroker"
    "rs msgpack 1to1 1to1 crossbar fastbroker"
    "rs cbor 1to1 1to1 fastbroker"
    "rs json fanout fanout crossbar fastbroker nats"
    "rs json fanout fanout fastbrokerL2"
    "rss json fanout fanout fastbroker"
    "rs msgpack fanout fanout crossbar fastbroker"
    "rs cbor fanout fanout fastbroker"
    "rs json nton nton crossbar fastbroker nats"
    "rs json shared shared crossbar fastbroker nats"
    "rs json filters filters crossbar fastbroker nats"
    "rs msgpack filters filters fastbroker"
    "rs cbor filters filters fastbroker"
    "ws json 1to1 1to1 crossbar fastbroker"
    "ws json fanout fanout crossbar fastbroker"
    "wss json fanout fanout fastbroker"
    "ws msgpack fanout fanout crossbar fastbroker"
    "ws cbor fanout fanout fastbroker"
    # Workloads users run (issue 12 item 3).
    "rs json fanout conn10k crossbar fastbroker nats -- --subscribers 10000 --window 100000"
    "rs json fanout topics100k crossbar fastbroker nats -- --subscribers 100 --topics 100000"
    "rs json 1to1 p16 crossbar fastbroker nats -- --payload 16"
    "rs json 1to1 p1k crossbar fastbroker nats -- --payload 1024"
    "rs json 1to1 p64k crossbar fastbroker nats -- --payload 65536 --window 1024"
    "rs json fanout fanoutp16 crossbar fastbroker nats -- --payload 16"
    "rs json fanout fanoutp1k crossbar fastbroker nats -- --payload 1024"
    "rs json fanout fanoutp64k crossbar fastbroker nats -- --payload 65536 --window 1024"
    "rs json fanout prefix crossbar fastbroker nats -- --match prefix"
    "rs json fanout wildcard crossbar fastbroker nats -- --match wildcard"
    "rs json fanout cross crossbar fastbroker -- --subscriber-serializer msgpack"
    "rs json setups wampcra crossbar fastbroker -- --realm secure --authid bench --secret bench-secret --concurrency 10"
)
for rep in $(seq 1 "$REPEATS"); do
    log "round $rep of $REPEATS"
    for run in "${RUNS[@]}"; do
        [ -n "$RUNS_MATCHING" ] && ! [[ "$run" =~ $RUNS_MATCHING ]] && continue
        spec=${run%% -- *}
        extra=()
        [ "$spec" != "$run" ] && read -r -a extra <<< "${run#* -- }"
        read -r -a words <<< "$spec"
        transport=${words[0]} serializer=${words[1]} workload=${words[2]} tag=${words[3]}
        brokers=()
        for broker in "${words[@]:4}"; do
            [ "$broker" = nats ] && [ -z "$NATS_VERSION" ] && continue
            [ "$broker" = crossbar ] && [ "$CROSSBAR" = 0 ] && continue
            brokers+=("$broker")
        done
        [ "${#brokers[@]}" -gt 0 ] || continue
        # Rotate the order by round, so no broker always runs first.
        shift_by=$(( (rep - 1) % ${#brokers[@]} ))
        brokers=("${brokers[@]:$shift_by}" "${brokers[@]:0:$shift_by}")
        for broker in "${brokers[@]}"; do
            t=$transport
            [ "$broker" = nats ] && t=nats
            if [ "$rep" -gt 1 ] && unsupported "$broker" "$t" "$serializer" "$tag"; then continue; fi
            bench "$broker" "$t" "$serializer" "$workload" "$tag" "$rep" "${extra[@]}"
        done
    done
    [ "$CLUSTER" = 1 ] && cluster_round "$rep"
done

# Latency without coordinated omission, 1->1 and 1->100 (the last subscriber's latency), at 5,000
# publications/s and at 50 % and 90 % of each broker's own median peak in publications/s (from the
# throughput rounds). A rate over 95 % of the broker's peak is skipped (noted in latency-skipped.txt):
# the backlog would only grow.
peak_publications() {   # peak_publications BROKER TRANSPORT WORKLOAD SUBSCRIBERS
    python3 - "$OUT" "$@" <<'EOF'
import glob, json, statistics, sys
out, broker, transport, workload, subscribers = sys.argv[1:]
rates = [json.load(open(f)).get("delivered_per_s", 0) for f in glob.glob(f"{out}/run-{broker}-{transport}-json-{workload}-*.json")]
rates = [r for r in rates if r > 0]
print(int(statistics.median(rates) / int(subscribers)) if rates else 0)
EOF
}
# The 5,000/s rows are the ones compared across brokers and their p99 swings most with the noise
# of a shared VM, so they get LATENCY_REPEATS rounds; every round runs each broker in turn
# (interleaved, like the throughput rounds).
LATENCY_PLAN=()
for broker in crossbar fastbroker nats; do
    [ "$LATENCY" = 1 ] || break
    [ "$broker" = nats ] && [ -z "$NATS_VERSION" ] && continue
    [ "$broker" = crossbar ] && [ "$CROSSBAR" = 0 ] && continue
    for shape in "1to1 1" "fanout 100"; do
        read -r workload subscribers <<< "$shape"
        t=rs
        [ "$broker" = nats ] && t=nats
        peak=$(peak_publications "$broker" "$t" "$workload" "$subscribers")
        [ "$peak" -gt 0 ] || { echo "$broker $workload: no peak measured" >> "$OUT/latency-skipped.txt"; continue; }
        for point in "5k 5000" "50 $((peak / 2))" "90 $((peak * 9 / 10))"; do
            read -r label rate <<< "$point"
            if [ "$rate" -lt 1 ] || [ $((rate * 100)) -gt $((peak * 95)) ]; then
                echo "$broker $workload at $label ($rate/s): over 95 % of its peak ($peak/s)" >> "$OUT/latency-skipped.txt"
                continue
            fi
            LATENCY_PLAN+=("$broker $t $subscribers $label $rate")
        done
    done
done
LATENCY_ROUNDS=$(( LATENCY_REPEATS > REPEATS ? LATENCY_REPEATS : REPEATS ))
for rep in $(seq 1 "$LATENCY_ROUNDS"); do
    for entry in "${LATENCY_PLAN[@]}"; do
        read -r broker t subscribers label rate <<< "$entry"
        rounds=$REPEATS
        [ "$label" = 5k ] && rounds=$LATENCY_REPEATS
        [ "$rep" -le "$rounds" ] || continue
        bench "$broker" "$t" json latency "lat$subscribers@$label" "$rep" --rate "$rate" --subscribers "$subscribers"
    done
done

if [ "$CLUSTER" = 1 ]; then
    for rep in $(seq 1 "$REPEATS"); do cluster_latency "$rep"; done
fi

cleanup
trap - EXIT
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Tables and RESULTS.md ------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
SWIFT_VERSION=$(swift --version 2>&1 | head -1)
CALLGRIND_DIR=$ROOT/perf/out
# FilterBench's table in FILTER-RESULTS.md (the tree is still as committed: the check above holds).
if [ "$FILTER" = 1 ]; then
    log "bench/filter-results.sh"
    FILTER_JSON=$OUT/filter.json FILTER_ALLOW_DIRTY=${COMPARE_ALLOW_DIRTY:-0} "$HERE/filter-results.sh" > "$OUT/filter.txt" 2>&1 \
        || log "filter-results.sh failed: see $OUT/filter.txt"
fi

# Memory per idle connection and per subscription (its own brokers, one at a time).
if [ "$MEMORY" = 1 ]; then
    log "bench/memory-per-connection.sh"
    MEM_OUT=$OUT "$HERE/memory-per-connection.sh" > "$OUT/memory.txt" 2>&1 || log "memory-per-connection.sh failed: see $OUT/memory.txt"
fi
elapsed=$(( $(date +%s) - started ))

export LOAD_START LOAD_END OUT RESULTS NPROC PINNING CB_VERSION PY_VERSION FB_LOOPS MULTI_LOOPS DURATION WARMUP LATENCY_REPEATS \
    PAYLOAD REPEATS CPU_MODEL SWIFT_VERSION elapsed TLS_DESC COMMIT CALLGRIND_DIR NATS_VERSION
python3 "$HERE/compare_report.py"

# Raw JSON beside the tables: this run's results replace bench/results-latest/ (commit it with RESULTS.md).
LATEST=${LATEST:-$HERE/results-latest}
rm -rf "$LATEST"
mkdir -p "$LATEST"
cp "$OUT"/run-*.json "$OUT"/loads.txt "$LATEST"/
cp "$OUT"/memory-*.json "$OUT"/latency-skipped.txt "$OUT"/filter.json "$LATEST"/ 2>/dev/null || true
cp "$CALLGRIND_DIR"/callgrind.*.summary.json "$LATEST"/ 2>/dev/null || true
echo "$COMMIT" > "$LATEST/COMMIT"

# Plots (SVG) from the same JSON: matplotlib pinned (bench/plot-requirements.txt) in its own venv.
if [ "$PLOTS" = 1 ]; then
    PLOT_VENV=$HERE/.plot-venv
    if ! "$PLOT_VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
        log "installing matplotlib into bench/.plot-venv (once)"
        { python3 -m venv "$PLOT_VENV" && "$PLOT_VENV/bin/pip" install --quiet -r "$HERE/plot-requirements.txt"; } \
            || log "matplotlib install failed: no plots"
    fi
    "$PLOT_VENV/bin/python" "$HERE/compare_plots.py" "$LATEST" "$HERE/plots" || log "plotting failed"
fi
log "done in $(( $(date +%s) - started )) s: $RESULTS, $LATEST, $HERE/plots"
