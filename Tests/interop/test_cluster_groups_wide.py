# Consumer-group rules decided cluster-wide (SPEC §7, issue 11 item 4): a real three-server
# nats-server cluster with JetStream, three FastBroker nodes each on a different NATS server,
# Autobahn clients. An exclusive group is refused on every node while a member exists anywhere,
# with the exact ERROR one node gives; a type mismatch is refused across nodes both ways; the
# active failover member is the longest-standing one cluster-wide, and when its node is killed
# (-9) the next longest-standing member — not a later one — takes over within lease_ttl_ms + 2 s.
#
# Every SUBSCRIBE is acknowledged before the next step, so join order is fixed without sleeps;
# "nobody else got it" is checked with a sentinel from the same publisher (per-publisher order).

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest
from autobahn.wamp.exception import ApplicationError

from conftest import free_port
from test_cluster_groups import Group, Member, start_node, wait_until, TTL_MS
from test_cluster_routing import NATS_SERVER
from wampclient import connect, publish, run, unique

TAKEN = "fastbroker.error.exclusive_subscription_taken"
MISMATCH = "fastbroker.error.subscription_type_mismatch"


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory):
    """Three routed nats-servers with JetStream; returns their client URLs once JetStream has a
    meta leader (before that, KV buckets cannot be made)."""
    if not os.access(NATS_SERVER, os.X_OK):
        pytest.fail("nats-server is not installed (scripts/setup.sh --test installs it)")
    store = tmp_path_factory.mktemp("nats-cluster")
    ports = [(free_port(), free_port(), free_port()) for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{cluster}" for _, cluster, _ in ports)
    procs = [subprocess.Popen(
        [NATS_SERVER, "-a", "127.0.0.1", "-p", str(client), "-m", str(monitor), "-n", f"s{i}", "-js", "-sd", str(store / f"s{i}"),
         "--cluster_name", "fastbroker-groups", "--cluster", f"nats://127.0.0.1:{cluster}", "--routes", routes],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i, (client, cluster, monitor) in enumerate(ports)]
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                leaders = {json.load(urllib.request.urlopen(f"http://127.0.0.1:{m}/jsz", timeout=1))
                           .get("meta_cluster", {}).get("leader") for _, _, m in ports}
                if len(leaders) == 1 and None not in leaders:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "no JetStream meta leader"
            time.sleep(0.1)
        yield [f"nats://127.0.0.1:{client}" for client, _, _ in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


@pytest.fixture
def three_nodes(tmp_path_factory, nats_cluster, request):
    names = [f"{request.node.name[5:13]}-{n}" for n in "abc"]
    nodes = [start_node(tmp_path_factory, url, name) for url, name in zip(nats_cluster, names)]
    yield nodes
    for node in nodes:
        node.finish()
    for node in nodes:  # every verdict came from the cluster, none from one node alone
        assert "decided on this node only" not in node.logs(), node.logs()


def run_killing(node, coroutine):
    """Runs a test body that kills `node` (-9): its exit is not checked at teardown."""
    try:
        run(coroutine, timeout=60)
    finally:
        node.exit_checked = True


async def refused(session, topic, options):
    with pytest.raises(ApplicationError) as refusal:
        await session.subscribe(lambda *a: None, topic, options=options)
    return refusal.value.error, refusal.value.args[0]


async def joins_within(session, topic, options, seconds):
    """Retries a refused exclusive SUBSCRIBE until it is accepted; returns the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            await session.subscribe(lambda *a: None, topic, options=options)
            return time.monotonic() - start
        except ApplicationError as e:
            assert e.error == TAKEN, e
            assert time.monotonic() - start < seconds, f"still {TAKEN} after {seconds}s"
            await asyncio.sleep(0.05)


def test_exclusive_is_refused_on_every_node_while_a_member_exists(three_nodes):
    a, b, c = three_nodes

    async def body():
        topic = unique("com.cluster.exclusive")
        x = Group(type="exclusive", group="x")
        holder = await connect(a, "ws", "realm1")
        subscription = await holder.subscribe(lambda *args: None, topic, options=x)
        # One node's refusal is the reference: same URI and the very same message on other nodes.
        local = await refused(await connect(a, "rs", "realm1"), topic, x)
        assert local == (TAKEN, f'exclusive group "x" on {topic} is held by another session')
        on_b = await connect(b, "ws", "realm1")
        on_c = await connect(c, "rs", "realm1")
        assert await refused(on_b, topic, x) == local
        assert await refused(on_c, topic, x) == local
        # The holder leaves gracefully: the group is free at once (the lease is released).
        await subscription.unsubscribe()
        took = await joins_within(on_b, topic, x, 3)
        print(f"exclusive free on another node {took:.2f}s after UNSUBSCRIBED")
        assert await refused(on_c, topic, x) == local
        assert await refused(holder, topic, x) == local
        # The new holder's node dies: free once its lease has expired.
        b.proc.kill()
        b.proc.wait(5)
        killed = time.monotonic()
        await joins_within(on_c, topic, x, TTL_MS / 1000 + 2)
        print(f"exclusive free {time.monotonic() - killed:.2f}s after its holder's node was killed")
        assert await refused(holder, topic, x) == local

    run_killing(b, body())


def test_type_mismatch_is_refused_across_nodes_both_ways(three_nodes):
    a, b, c = three_nodes

    async def body():
        topic = unique("com.cluster.mixed")
        first = await connect(a, "ws", "realm1")
        await first.subscribe(lambda *args: None, topic, options=Group(type="exclusive", group="e"))
        await first.subscribe(lambda *args: None, topic, options=Group(type="shared", group="s"))
        other = await connect(b, "rs", "realm1")
        third = await connect(c, "ws", "realm1")
        local = await refused(await connect(a, "ws", "realm1"), topic, Group(type="shared", group="e"))
        assert local == (MISMATCH, f'group "e" on {topic} is exclusive, not shared')
        assert await refused(other, topic, Group(type="shared", group="e")) == local
        assert await refused(third, topic, Group(type="failover", group="e")) == (
            MISMATCH, f'group "e" on {topic} is exclusive, not failover')
        # The other way: a shared group exists; failover and exclusive joins elsewhere are refused.
        assert await refused(other, topic, Group(type="failover", group="s")) == (
            MISMATCH, f'group "s" on {topic} is shared, not failover')
        assert await refused(third, topic, Group(type="exclusive", group="s")) == (
            MISMATCH, f'group "s" on {topic} is shared, not exclusive')
        # The same type joins fine on another node.
        await other.subscribe(lambda *args: None, topic, options=Group(type="shared", group="s"))

    run(body(), timeout=60)


async def failover_on_three_nodes(nodes, topic, group):
    """Members join on nodes a, b, c in that order (each SUBSCRIBED before the next); the
    publisher is on c. Returns them once a's member receives and a sentinel run reached only it."""
    members = [Member() for _ in nodes]
    sessions = []
    for node, member, transport in zip(nodes, members, ("ws", "rs", "ws")):
        session = await connect(node, transport, "realm1")
        sessions.append(await session.subscribe(member.handler, topic, options=Group(type="failover", group=group)))
    publisher = await connect(nodes[2], "rs", "realm1")
    await wait_until(lambda: members[0].of("probe"), 5, "the first member's node consuming", publisher, topic)
    for n in range(20):
        await publish(publisher, topic, "before", n)
    await publish(publisher, topic, "end")
    await wait_until(lambda: members[0].of("end"), 5, "the active member's end")
    assert members[0].of("before") == list(range(20))
    return members, sessions, publisher


async def probe_until(members, active, publisher, topic, within, never=()):
    """Publishes probes until member `active` receives one; members in `never` must get none."""
    start = time.monotonic()
    while not members[active].of("probe2"):
        assert time.monotonic() - start < within, f"member {active} did not take over within {within}s"
        await publish(publisher, topic, "probe2")
        await asyncio.sleep(0.02)
    for i in never:
        assert members[i].of("probe2") == [], f"member {i} took over before member {active}"
    return time.monotonic() - start


def test_failover_goes_to_the_next_longest_standing_member_when_its_node_is_killed(three_nodes):
    a, b, c = three_nodes

    async def body():
        topic = unique("com.cluster.failover-order")
        members, _, publisher = await failover_on_three_nodes(three_nodes, topic, "f")
        killed = time.monotonic()
        a.proc.kill()  # -9: its lease and standing expire after the TTL
        a.proc.wait(5)
        await probe_until(members, 1, publisher, topic, TTL_MS / 1000 + 2, never=[2])
        print(f"failover takeover {time.monotonic() - killed:.2f}s after kill -9 (lease_ttl_ms {TTL_MS})")
        await check_after(members, 1, publisher, topic)

    run_killing(a, body())


def test_failover_leaves_a_node_whose_next_member_joined_later(three_nodes):
    a, b, c = three_nodes

    async def body():
        topic = unique("com.cluster.failover-standing")
        members, sessions, publisher = await failover_on_three_nodes(three_nodes, topic, "g")
        # A later member on a's node: when a's first member leaves, b's member has stood longer.
        # (Until a's node has yielded the lease — milliseconds — that later member may get a probe.)
        later = Member()
        await (await connect(a, "rs", "realm1")).subscribe(later.handler, topic, options=Group(type="failover", group="g"))
        members.append(later)
        left = time.monotonic()
        await sessions[0].unsubscribe()
        await probe_until(members, 1, publisher, topic, TTL_MS / 1000 + 2, never=[2])
        print(f"failover moved to the longest-standing node {time.monotonic() - left:.2f}s after UNSUBSCRIBED")
        await check_after(members, 1, publisher, topic)

    run(body(), timeout=60)


async def check_after(members, active, publisher, topic):
    total = 300
    for n in range(total):
        await publish(publisher, topic, "after", n)
    await publish(publisher, topic, "end2")
    await wait_until(lambda: members[active].of("end2"), 5, "the new active member's end")
    assert members[active].of("after") == list(range(total)), "every acknowledged event after the takeover, in order"
    for i, member in enumerate(members):
        if i != active:
            assert member.of("after") == [], f"member {i} consumed after the takeover"
