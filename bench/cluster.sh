# bench/cluster.sh: the cross-node half of bench/compare.sh (issue 11 item 7), sourced by it; its
# functions use compare.sh's log, wait_port, fastbroker_config, bench and pinning, and compare.sh
# calls them after starting the single-node brokers (CLUSTER=0 skips them). Starts a 3-server nats-server cluster with JetStream (routes on
# loopback) and 3 FastBroker nodes (loops: 1), node X connected to its own nats-server X, the way
# a deployment co-locates them. Measured, with publishers on node A:
#   broker fbcluster   — FastBroker nodes: x1to1 (subscriber on node B), xfanout (100 subscribers
#                        spread over A, B, C), latency lat1@5k / lat100@5k with the same placement;
#                        and the same workloads with every client on node A (tags l1to1, lfanout):
#                        what being in a cluster costs a node's local delivery;
#   broker natscluster — the same cross-node workloads on the nats-server cluster alone (publisher
#                        on server 1, subscribers on 1, 2, 3): the engine underneath, same tool.
# Every process of the cluster is pinned with the single-node brokers (PIN_BROKER: one core for all
# six on a 2-core machine); fastbench keeps its own core. Subscriptions cross nodes within 1 s
# (SPEC §7): cross-node runs wait --settle 1.5 s after the last SUBSCRIBED before publishing.
# Knobs: CLUSTER_NATS_PORT (first client port, default 24231; routes at +2000), CLUSTER_RS_PORT
# (node A's RawSocket port, default 18111; B and C follow, WebSocket ports at +100).

CLUSTER_NATS_PORT=${CLUSTER_NATS_PORT:-24231}
CLUSTER_RS_PORT=${CLUSTER_RS_PORT:-18111}
CLUSTER_NODES=(a b c)
CLUSTER_PIDS=()
CLUSTER_SETTLE=1.5

cluster_nats_port() { echo $((CLUSTER_NATS_PORT + $1)); }          # cluster_nats_port INDEX (0..2)
cluster_rs_port() { echo $((CLUSTER_RS_PORT + $1)); }
cluster_ws_port() { echo $((CLUSTER_RS_PORT + 100 + $1)); }

# The ports the cluster takes (compare.sh refuses to start when one is in use).
cluster_ports() {
    for i in 0 1 2; do
        echo "$(cluster_nats_port "$i") $(( $(cluster_nats_port "$i") + 2000 )) $(cluster_rs_port "$i") $(cluster_ws_port "$i")"
    done
}

cluster_start() {
    local dir=$OUT/cluster i routes
    mkdir -p "$dir"
    for i in 0 1 2; do
        routes=""
        for j in 0 1 2; do
            [ "$j" = "$i" ] || routes="$routes nats-route://127.0.0.1:$(( $(cluster_nats_port "$j") + 2000 ))"
        done
        cat > "$dir/nats-$i.conf" <<EOF
server_name: bench-n$i
listen: 127.0.0.1:$(cluster_nats_port "$i")
max_payload: 67108864
jetstream { store_dir: "$dir/js-$i" }
cluster {
  name: bench
  listen: 127.0.0.1:$(( $(cluster_nats_port "$i") + 2000 ))
  routes: [$(echo $routes | tr ' ' ',')]
}
EOF
        "${PIN_BROKER[@]}" "$NATS_SERVER" -c "$dir/nats-$i.conf" > "$dir/nats-$i.log" 2>&1 &
        CLUSTER_PIDS+=($!)
    done
    for i in 0 1 2; do wait_port "$(cluster_nats_port "$i")" "nats-server $i of the cluster"; done
    for i in 0 1 2; do
        fastbroker_config 1 "$(cluster_ws_port "$i")" "$(cluster_rs_port "$i")" | python3 -c '
import json, sys
config = json.load(sys.stdin)
config["cluster"] = {"node": sys.argv[1], "nats": {"servers": [sys.argv[2]]}}
json.dump(config, sys.stdout, indent=1)' "${CLUSTER_NODES[$i]}" "nats://127.0.0.1:$(cluster_nats_port "$i")" > "$OUT/cluster-node-$i.json"
        # In $OUT, beside users.json (the config's userdb path is relative to the config file).
        (cd "$OUT" && exec "${PIN_BROKER[@]}" "$FASTBROKER" --config "$OUT/cluster-node-$i.json" > "$dir/node-$i.log" 2>&1) &
        CLUSTER_PIDS+=($!)
    done
    for i in 0 1 2; do wait_port "$(cluster_rs_port "$i")" "FastBroker node ${CLUSTER_NODES[$i]}"; done
    # The routes form after the listeners open: wait until every server has its two peers.
    local routed
    for _ in $(seq 1 100); do
        routed=0
        for i in 0 1 2; do
            [ "$(grep -c 'Route connection created' "$dir/nats-$i.log")" -ge 2 ] && routed=$((routed + 1))
        done
        [ "$routed" = 3 ] && break
        sleep 0.1
    done
    [ "$routed" = 3 ] || log "cluster: the nats-server routes did not all form within 10 s; see $dir"
    log "cluster: 3 nats-servers (JetStream) on $(cluster_nats_port 0)–$(cluster_nats_port 2), FastBroker nodes a, b, c on rs:$(cluster_rs_port 0)–$(cluster_rs_port 2)"
}

cluster_stop() {
    local pid
    for pid in "${CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    CLUSTER_PIDS=()
}

# The addresses the cross-node runs give fastbench (--url is node A / server 1).
cluster_wamp_spread() { echo "rs://127.0.0.1:$(cluster_rs_port 0),rs://127.0.0.1:$(cluster_rs_port 1),rs://127.0.0.1:$(cluster_rs_port 2)"; }
cluster_nats_spread() { echo "nats://127.0.0.1:$(cluster_nats_port 0),nats://127.0.0.1:$(cluster_nats_port 1),nats://127.0.0.1:$(cluster_nats_port 2)"; }

# cluster_round REP: the throughput runs of one round (the cluster's brokers alternate).
# Every cluster run publishes on a topic of its own: a node whose local delivery outruns its
# NATS link still has up to 65,536 publications of the previous run queued for NATS, and on a
# shared topic they would reach the next run's cross-node subscriber (as they rightly should).
cluster_round() {
    local rep=$1 settle=(--settle "$CLUSTER_SETTLE")
    bench fbcluster rs json 1to1 l1to1 "$rep" --topic "bench.cluster.l1to1.$rep"
    bench fbcluster rs json 1to1 x1to1 "$rep" "${settle[@]}" --subscriber-urls "rs://127.0.0.1:$(cluster_rs_port 1)" --topic "bench.cluster.x1to1.$rep"
    bench natscluster nats json 1to1 x1to1 "$rep" "${settle[@]}" --subscriber-urls "nats://127.0.0.1:$(cluster_nats_port 1)" --topic "bench.cluster.n1to1.$rep"
    bench fbcluster rs json fanout lfanout "$rep" --topic "bench.cluster.lfanout.$rep"
    bench fbcluster rs json fanout xfanout "$rep" "${settle[@]}" --subscriber-urls "$(cluster_wamp_spread)" --topic "bench.cluster.xfanout.$rep"
    bench natscluster nats json fanout xfanout "$rep" "${settle[@]}" --subscriber-urls "$(cluster_nats_spread)" --topic "bench.cluster.nfanout.$rep"
}

# cluster_latency REP: latency without coordinated omission at 5,000 publications/s, cross-node
# (every latency run of the cluster brokers is cross-node: tags lat1@5k and lat100@5k).
cluster_latency() {
    local rep=$1 settle=(--settle "$CLUSTER_SETTLE")
    bench fbcluster rs json latency lat1@5k "$rep" "${settle[@]}" --rate 5000 --subscribers 1 --topic "bench.cluster.lat1.$rep" \
        --subscriber-urls "rs://127.0.0.1:$(cluster_rs_port 1)"
    bench natscluster nats json latency lat1@5k "$rep" "${settle[@]}" --rate 5000 --subscribers 1 --topic "bench.cluster.nlat1.$rep" \
        --subscriber-urls "nats://127.0.0.1:$(cluster_nats_port 1)"
    bench fbcluster rs json latency lat100@5k "$rep" "${settle[@]}" --rate 5000 --subscribers 100 --topic "bench.cluster.lat100.$rep" \
        --subscriber-urls "$(cluster_wamp_spread)"
    bench natscluster nats json latency lat100@5k "$rep" "${settle[@]}" --rate 5000 --subscribers 100 --topic "bench.cluster.nlat100.$rep" \
        --subscriber-urls "$(cluster_nats_spread)"
}
