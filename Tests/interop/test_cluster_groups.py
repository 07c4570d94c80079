# Consumer groups across FastBroker nodes over one real nats-server with JetStream (SPEC §7,
# issue 11 item 4). Shared: members on two nodes, a publisher on a third; every event reaches
# exactly one member cluster-wide. Failover: the node holding the group's KV lease consumes; when
# its member leaves or the node is killed (-9), a standby member on another node takes over
# within lease_ttl_ms + 2 s, and every event acknowledged after the takeover arrives, in order.
#
# No sleeps before negative checks: takeover is detected by probes reaching the standby; "exactly
# once" is checked per member against per-publisher order (a member's later event would arrive
# after any duplicate of an earlier one).

import asyncio
import sys
import time
from pathlib import Path

from conftest import make_broker
from rawwire import get_metrics, metric_sum
from test_cluster_routing import joining, nats_url  # noqa: F401 (nats_url: a module-scoped fixture)
from wampclient import connect, publish, run, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions as Group  # noqa: E402

TTL_MS = 3000


def start_node(tmp_path_factory, url, name):
    return make_broker(tmp_path_factory, "group-" + name, mutate=joining(name, url, TTL_MS)).start()


class Member:
    """One group member's events as (kind, n) pairs, in arrival order."""

    def __init__(self):
        self.got = []

    def handler(self, kind, n=None):
        self.got.append((kind, n))

    def of(self, kind):
        return [n for k, n in self.got if k == kind]


async def wait_until(condition, within, what, publisher=None, topic=None):
    """Publishes probes (when given a publisher) until `condition()` holds; returns seconds."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < within, f"{what} did not happen within {within}s"
        if publisher is not None:
            await publish(publisher, topic, "probe")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def shared_run(members, publisher, topic, total):
    """Publishes events 0..total-1 to a shared group without filters and returns each member's;
    checks every event arrived exactly once and each member saw the publisher's order."""
    for n in range(total):
        await publish(publisher, topic, "ev", n)
    # Ends until each member had one: no fallback hop without filters, so per-publisher order
    # holds and each member's events (duplicates included) came before its end.
    start = time.monotonic()
    while not all(m.of("end") for m in members):
        assert time.monotonic() - start < 10, [len(m.got) for m in members]
        await publish(publisher, topic, "end")
        await asyncio.sleep(0.01)
    events = [m.of("ev") for m in members]
    assert sorted(sum(events, [])) == list(range(total)), "every event exactly once across the nodes"
    assert all(e == sorted(e) for e in events), "each member sees the publisher's order"
    return events


def test_shared_group_over_two_nodes_gets_each_event_exactly_once(tmp_path_factory, nats_url):
    nodes = [start_node(tmp_path_factory, nats_url, n) for n in ("sa", "sb", "sc")]
    try:
        async def body():
            topic = unique("com.cluster.shared")
            members = [Member(), Member()]
            for node, member in zip(nodes[:2], members):
                session = await connect(node, "ws", "realm1")
                await session.subscribe(member.handler, topic, options=Group(type="shared", group="workers"))
            publisher = await connect(nodes[2], "rs", "realm1")
            # Both queue subscriptions in force: each member has had a probe.
            await wait_until(lambda: all(m.of("probe") for m in members), 5, "both members receiving", publisher, topic)
            events = await shared_run(members, publisher, topic, 400)
            assert min(len(e) for e in events) > 400 // 5, f"both nodes take a share: {[len(e) for e in events]}"
        run(body(), timeout=60)
        for node in nodes[:2]:  # group members ask NATS for no broadcast copies
            metrics = get_metrics(node)[1]
            assert metric_sum(metrics, "fastbroker_cluster_delivered_total") == 0, metrics
            assert metric_sum(metrics, "fastbroker_cluster_group_received_total") > 0, metrics
    finally:
        for node in nodes:
            node.finish()


async def failover_pair(nodes, topic):
    """Active member on nodes[0], standby on nodes[1], publisher on nodes[2]; returns them once
    the active member receives (its node holds the lease)."""
    active, standby = Member(), Member()
    active_session = await connect(nodes[0], "ws", "realm1")
    await active_session.subscribe(active.handler, topic, options=Group(type="failover", group="f"))
    publisher = await connect(nodes[2], "ws", "realm1")
    await wait_until(lambda: active.of("probe"), 5, "the first node consuming", publisher, topic)
    standby_session = await connect(nodes[1], "rs", "realm1")
    await standby_session.subscribe(standby.handler, topic, options=Group(type="failover", group="f"))
    # The standby's node wants the lease but must not consume: a sentinel run reaches only the active.
    for n in range(20):
        await publish(publisher, topic, "before", n)
    await publish(publisher, topic, "end")
    await wait_until(lambda: active.of("end"), 5, "the active member's end")
    return active, active_session, standby, publisher


async def check_takeover(active, standby, publisher, topic, started):
    took = await wait_until(lambda: standby.of("probe"), TTL_MS / 1000 + 2, "standby takeover", publisher, topic)
    print(f"takeover after {time.monotonic() - started:.2f}s ({took:.2f}s of probing)")
    total = 300
    for n in range(total):
        await publish(publisher, topic, "after", n)
    await publish(publisher, topic, "end2")
    await wait_until(lambda: standby.of("end2"), 5, "the standby's end")
    assert standby.of("after") == list(range(total)), "every event acknowledged after the takeover, in order"
    assert standby.of("before") == [], "the standby consumed nothing while the other node held the lease"
    assert active.of("before") == list(range(20))


def test_failover_group_moves_when_the_active_member_leaves(tmp_path_factory, nats_url):
    nodes = [start_node(tmp_path_factory, nats_url, n) for n in ("fa", "fb", "fc")]
    try:
        async def body():
            topic = unique("com.cluster.failover")
            active, active_session, standby, publisher = await failover_pair(nodes, topic)
            started = time.monotonic()
            active_session.leave()
            await check_takeover(active, standby, publisher, topic, started)
        run(body(), timeout=60)
    finally:
        for node in nodes:
            node.finish()


def test_failover_group_moves_when_the_active_node_is_killed(tmp_path_factory, nats_url):
    nodes = [start_node(tmp_path_factory, nats_url, n) for n in ("ka", "kb", "kc")]
    try:
        async def body():
            topic = unique("com.cluster.failover-kill")
            active, _, standby, publisher = await failover_pair(nodes, topic)
            started = time.monotonic()
            nodes[0].proc.kill()  # -9: the lease is not released, it expires after the TTL
            nodes[0].proc.wait(5)
            await check_takeover(active, standby, publisher, topic, started)
        run(body(), timeout=60)
    finally:
        nodes[0].exit_checked = True
        for node in nodes[1:]:
            node.finish()
