#!/usr/bin/env bash
# bench/memory-per-connection.sh: bytes of broker memory per idle session and per subscription
# (issue 10). For each transport, starts a fresh release broker (loops: 1, connection limits raised
# for one client address), and bench/memory_per_connection.py measures its VmRSS idle, with
# MEM_SESSIONS idle sessions (default 2000), after 10 of them subscribe to 1,000 distinct topics
# each (10,000 subscriptions), after every session subscribes to one shared topic, and after all
# closed. Prints one JSON line per transport and writes them to bench/soak-results/memory-*.json.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SESSIONS=${MEM_SESSIONS:-2000}
RS_PORT=${MEM_RS_PORT:-19181}
WS_PORT=${MEM_WS_PORT:-19180}
OUT=${MEM_OUT:-$HERE/soak-results}
mkdir -p "$OUT"

(cd "$ROOT" && swift build -c release --product fastbroker >/dev/null)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
WORK=$(mktemp -d /tmp/fastbroker-mem.XXXXXX)
BROKER_PID=""
cleanup() {
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/config.json" <<EOF
{
  "loops": 1,
  "listeners": [
    {"transport": "websocket", "host": "127.0.0.1", "port": $WS_PORT, "path": "/ws", "serializers": ["json"]},
    {"transport": "rawsocket", "host": "127.0.0.1", "port": $RS_PORT, "serializers": ["json"]}
  ],
  "realms": [
    {"name": "realm1",
     "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_connections": $((SESSIONS + 100)), "max_connections_per_ip": $((SESSIONS + 100)),
             "max_subscriptions_per_session": 1001}
}
EOF

for transport in rawsocket websocket; do
    port=$RS_PORT
    [ "$transport" = websocket ] && port=$WS_PORT
    "$BIN/fastbroker" --config "$WORK/config.json" > "$WORK/broker.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    python3 "$HERE/memory_per_connection.py" --pid "$BROKER_PID" --port "$port" --transport "$transport" \
        --sessions "$SESSIONS" --out "$OUT/memory-$transport.json"
    kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
done
