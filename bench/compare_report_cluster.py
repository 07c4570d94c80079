# The cross-node table of bench/RESULTS.md (issue 11 item 7), imported by compare_report.py, which
# passes in its own cell formatting and median picking (one implementation of each). The runs come
# from bench/cluster.sh: broker `fbcluster` (3 FastBroker nodes over a 3-server NATS cluster;
# tags l1to1/lfanout = every client on node A, x1to1/xfanout and lat* = publisher on node A,
# subscribers on other nodes) and `natscluster` (the NATS cluster alone, same placement).

ROWS = [
    # label, one broker tag, on-node-A tag, cross-node tag
    ("1→1 (subscriber on node B)", "1to1", "l1to1", "x1to1"),
    ("1→100 (subscribers spread over nodes A, B, C)", "fanout", "lfanout", "xfanout"),
    ("latency, 1→1 at 5,000 publications/s", "lat1@5k", None, "lat1@5k"),
    ("latency, 1→100 at 5,000 publications/s (last subscriber)", "lat100@5k", None, "lat100@5k"),
]


def cluster_section(pick, cell, good, ratio):
    """The markdown of the cross-node section, or a sentence saying it was not measured."""
    lines = ["| Workload | FastBroker, one broker | FastBroker cluster, all clients on node A | **FastBroker cluster, cross-node** "
             "| Cross-node ÷ one broker | nats-server, one server | nats-server cluster, cross-node | FB ÷ NATS, cross-node "
             "| Loss FB · NATS, cross-node |",
             "|---|---|---|---|---|---|---|---|---|"]
    measured = False
    for label, single_tag, local_tag, cross_tag in ROWS:
        latency = single_tag.startswith("lat")
        single = pick("fastbroker", "rs", "json", single_tag)
        local = pick("fbcluster", "rs", "json", local_tag) if local_tag else None
        cross = pick("fbcluster", "rs", "json", cross_tag)
        nats_single = pick("nats", "nats", "json", single_tag)
        nats_cross = pick("natscluster", "nats", "json", cross_tag)
        if cross is None and nats_cross is None:
            continue
        measured = True
        if latency:
            def p99_ratio(a, b):   # how many times a's p99 b's is (≥ 1: b is slower)
                return f"{b['latency_us']['p99'] / a['latency_us']['p99']:.1f}× p99" if good(a) and good(b) and a["latency_us"]["p99"] else "—"
            vs_single = p99_ratio(single, cross)
            vs_nats = f"p99 NATS ÷ FB {nats_cross['latency_us']['p99'] / cross['latency_us']['p99']:.2f}" \
                if good(cross) and good(nats_cross) and cross["latency_us"]["p99"] else "—"
        else:
            vs_single = ratio(single, cross)
            vs_nats = ratio(nats_cross, cross, fmt="{:.2f}")
        loss = " · ".join(str(r["loss"]) if good(r) else "—" for r in (cross, nats_cross))
        local_cell = cell(local, latency) if local_tag else "—"
        lines.append(f"| {label} | {cell(single, latency)} | {local_cell} | **{cell(cross, latency)}** | {vs_single} "
                     f"| {cell(nats_single, latency)} | {cell(nats_cross, latency)} | {vs_nats} | {loss} |")
    if not measured:
        return "Not measured (CLUSTER=0, or no nats-server)."
    return "\n".join(lines) + """

Set-up (`bench/cluster.sh`): three nats-servers with JetStream form one cluster over loopback routes;
FastBroker nodes a, b, c (loops: 1) each connect to their own nats-server, as a deployment would put
them side by side. Publishers connect to node a (nats-server 1); cross-node subscribers to node b
(1→1) or round-robin over a, b and c (1→100: 34 on a, 33 on b, 33 on c — a third stay local). Each
cross-node run waits 1.5 s after its last SUBSCRIBED before publishing (SPEC §7: a subscription is in
force on every node within 1 s). One broker = the single-node rows above (the `loops: 1` FastBroker,
the one nats-server), measured in the same rounds. All six cluster processes share the broker's
pinned CPU with the single-node brokers (fastbench keeps its own): on this 2-core machine the
cross-node figures are the cost of the whole path — publisher's node, its nats-server, a route,
the other nats-server, the subscriber's node — on one core, not what a cluster of machines
delivers. Latency: scheduled send time to arrival at the last subscriber, coordinated-omission-free."""
