#!/usr/bin/env bash
# bench/smoke.sh: a short functional run of fastbench against a fresh broker (CI; scripts/test.sh's
# `bench-smoke` stage). Not a benchmark: it checks that every workload compare.sh measures still
# runs end to end and that fastbench's accounting finds the deliveries exact — status ok, loss 0,
# no duplicate, reordering, gap, misrouted event or wrong subscription id. ~2 s per workload.
# Env: FASTBROKER_BIN, FASTBENCH_BIN (default .build/debug/…), SMOKE_SECONDS (measured window, 0.5).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BROKER=${FASTBROKER_BIN:-$ROOT/.build/debug/fastbroker}
BENCH=${FASTBENCH_BIN:-$ROOT/.build/debug/fastbench}
SECONDS_EACH=${SMOKE_SECONDS:-0.5}
WORK=$(mktemp -d /tmp/fastbench-smoke.XXXXXX)
BROKER_PID=""
NATS_PID=""
NATS_SERVER=${NATS_SERVER:-/usr/sbin/nats-server}
cleanup() {
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null || true
    [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
ws_port=$(free_port)
cat > "$WORK/users.json" <<JSON
[{"authid": "bench", "role": "publisher", "secret": "bench-secret"}]
JSON
cat > "$WORK/config.json" <<JSON
{
  "loops": ${FASTBROKER_TEST_LOOPS:-1},
  "listeners": [{"transport": "rawsocket", "host": "127.0.0.1", "port": $port, "serializers": ["json", "msgpack", "cbor"]},
                {"transport": "websocket", "host": "127.0.0.1", "port": $ws_port, "path": "/ws", "serializers": ["json", "msgpack", "cbor"]}],
  "realms": [
    {"name": "realm1", "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]},
    {"name": "secure", "auth": {"wampcra": {"userdb": "users.json"}},
     "roles": [{"name": "publisher", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_subscriptions_per_session": 100000, "max_connections_per_ip": 1000}
}
JSON
(cd "$WORK" && exec "$BROKER" --config config.json > broker.log 2>&1) &
BROKER_PID=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

failed=0
run() {   # run NAME fastbench-args... (URL: rs:// to the broker unless URL is set)
    local name=$1; shift
    if ! "$BENCH" --url "${URL:-rs://127.0.0.1:$port}" --duration "$SECONDS_EACH" --warmup 0.1 --drain 2 --json "$WORK/$name.json" "$@" \
        > "$WORK/$name.txt" 2>&1; then
        echo "FAIL $name: fastbench exited non-zero: $(cat "$WORK/$name.txt")"; failed=1; return
    fi
    if ! python3 - "$WORK/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = {k: r[k] for k in ("loss", "duplicates", "misrouted", "out_of_order", "gaps", "wrong_subscription", "unknown_publications")
       if r.get(k, 0) != 0}
delivered = r.get("setups_per_s", r["delivered_per_s"])
if r["status"] != "ok" or bad or delivered <= 0:
    sys.exit(f"FAIL {sys.argv[2]}: status {r['status']} {r['note']} {bad} delivered/s {delivered}")
print(f"ok   {sys.argv[2]}: {delivered:.0f}/s")
PY
    then failed=1; fi
}
run 1to1 --workload 1to1
run fanout --workload fanout --subscribers 20
run window-under-one-publication --workload fanout --subscribers 30 --window 10
run nton --workload nton --publishers 4 --subscribers 4
run shared --workload shared
run filters --workload filters --subscribers 10
run latency --workload latency --rate 2000
run latency-fanout --workload latency --subscribers 20 --rate 1000
run topics --workload fanout --subscribers 10 --topics 2000
run prefix --workload fanout --subscribers 10 --match prefix
run wildcard --workload fanout --subscribers 10 --match wildcard --serializer msgpack
run cross --workload fanout --subscribers 10 --subscriber-serializer msgpack
run cbor --workload fanout --subscribers 10 --serializer cbor
# Subscribers spread over addresses (compare.sh's cross-node runs): here both listeners of one broker.
run subscriber-urls --workload fanout --subscribers 10 --settle 0.1 --subscriber-urls "rs://127.0.0.1:$port,ws://127.0.0.1:$ws_port/ws"
URL=ws://127.0.0.1:$ws_port/ws run websocket-msgpack --workload fanout --subscribers 10 --serializer msgpack
run payload-64k --workload 1to1 --payload 65536
run setups-wampcra --workload setups --realm secure --authid bench --secret bench-secret --concurrency 4

# The NATS side of fastbench (compare.sh measures nats-server with it), when nats-server is installed.
if [ -x "$NATS_SERVER" ]; then
    nats_port=$(free_port)
    "$NATS_SERVER" -a 127.0.0.1 -p "$nats_port" > "$WORK/nats.log" 2>&1 &
    NATS_PID=$!
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.1; done
    URL=nats://127.0.0.1:$nats_port run nats-wildcard --workload fanout --subscribers 10 --match wildcard
    URL=nats://127.0.0.1:$nats_port run nats-shared --workload shared
    URL=nats://127.0.0.1:$nats_port run nats-latency --workload latency --subscribers 10 --rate 1000
else
    echo "skip nats: $NATS_SERVER not installed"
fi
exit $failed
