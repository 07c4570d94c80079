# Shared by perf/record.sh and perf/callgrind.sh (sourced): builds the release broker and load tool,
# writes a benchmark broker config into perf/out and defines start/stop helpers. Ports 19080/19081
# keep clear of bench/compare.sh and of a broker on the default ports.

PERF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$PERF_DIR")
OUT=$PERF_DIR/out
mkdir -p "$OUT"
WS_PORT=${WS_PORT:-19080}
RS_PORT=${RS_PORT:-19081}
LOOPS=${LOOPS:-1}
TRANSPORT=${TRANSPORT:-rs}
SERIALIZER=${SERIALIZER:-json}
# SUBSCRIBER_SERIALIZER: subscribers speak another serializer than publishers (the broker
# transcodes each payload once per publication); SERIALIZER_LABEL names the pair.
SERIALIZER_ARGS=(--serializer "$SERIALIZER")
SERIALIZER_LABEL=$SERIALIZER
if [ -n "${SUBSCRIBER_SERIALIZER:-}" ]; then
    SERIALIZER_ARGS+=(--subscriber-serializer "$SUBSCRIBER_SERIALIZER")
    SERIALIZER_LABEL="$SERIALIZER->$SUBSCRIBER_SERIALIZER"
fi
# MATCH=prefix|wildcard: subscribers subscribe by pattern (EVENTs then carry the topic in details).
if [ -n "${MATCH:-}" ]; then
    SERIALIZER_ARGS+=(--match "$MATCH")
    SERIALIZER_LABEL="$SERIALIZER_LABEL, match $MATCH"
fi

case "$TRANSPORT" in
    rs) URL="rs://127.0.0.1:$RS_PORT" ;;
    ws) URL="ws://127.0.0.1:$WS_PORT/ws" ;;
    *) echo "TRANSPORT must be rs or ws" >&2; exit 2 ;;
esac

case "${WORKLOAD:-}" in
    1to1|fanout|nton|shared|filters|latency) ;;
    *) echo "usage: $0 1to1|fanout|nton|shared|filters|latency   (env: TRANSPORT=rs|ws, LOOPS, ...)" >&2; exit 2 ;;
esac

echo "[perf] building fastbroker and fastbench (release)" >&2
(cd "$ROOT" && swift build -c release --product fastbroker >/dev/null && swift build -c release --product fastbench >/dev/null)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_BROKER=(taskset -c 0)
    PIN_TOOL=(taskset -c 1)
else
    PIN_BROKER=()
    PIN_TOOL=()
fi

cat > "$OUT/broker-config.json" <<JSON
{
  "loops": $LOOPS,
  "listeners": [
    {"transport": "websocket", "host": "127.0.0.1", "port": $WS_PORT, "path": "/ws", "serializers": ["json", "msgpack", "cbor"]},
    {"transport": "rawsocket", "host": "127.0.0.1", "port": $RS_PORT, "serializers": ["json", "msgpack", "cbor"]}
  ],
  "realms": [
    {"name": "realm1",
     "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_message_bytes": 16777216, "max_session_outbound_bytes": 268435456,
             "slow_consumer": "disconnect", "handshake_timeout_ms": 60000}
}
JSON

BROKER_PID=""
stop_broker() {
    if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for _ in $(seq 1 600); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    BROKER_PID=""
}
trap stop_broker EXIT

wait_port() {   # wait_port PORT SECONDS
    for _ in $(seq 1 $(($2 * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "[perf] the broker did not open port $1 (log: $OUT/broker.log)" >&2
    exit 1
}

# A port already listening would be shared silently (the broker binds with SO_REUSEPORT): refuse.
for port in "$RS_PORT" "$WS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "[perf] port $port is already in use (a leftover broker?); stop it or set RS_PORT / WS_PORT" >&2
        exit 1
    fi
done

port_of_url() { if [ "$TRANSPORT" = rs ]; then echo "$RS_PORT"; else echo "$WS_PORT"; fi; }
