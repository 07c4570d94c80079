# A two-machine cluster simulated with network namespaces (issue 11 item 6): nats-server A lives in
# namespace A, nats-server B in namespace B, and the only path between them — the "inter-node
# link" carrying their route — is a veth pair between the two namespaces. FastBroker nodes a and b
# run in the root namespace, each connected over its own veth to its own nats-server (a deployment
# puts them side by side), so cutting the inter-node link separates the machines while each node
# keeps its NATS connection. Checks: (a) with a 20 ms delay on the inter-node link (tc netem; on a
# kernel without netem, a delaying relay on B's end of the route), cross-node delivery is complete,
# in order, and never faster than the delay, while local delivery is; (b) a partition (the link set
# down until both nats-servers have dropped their route) loses exactly what README's Cluster section
# says: events published meanwhile never reach the other side; NATS drops them silently (each
# node's own NATS connection stayed up), so the receiving node counts them from the hole in the
# publisher node's per-topic sequence that the first event after healing reveals
# (`fastbroker_cluster_events_lost_total{reason="gap"}`, exactly), the publishing node counts
# nothing, and delivery resumes in order with no duplicates; (c) a node's own link to its
# nats-server dying without a reset is noticed within seconds (libnats pings every 2 s, gives up
# after 3 unanswered), the node fails over to the other nats-server, and what it missed meanwhile
# is counted as a gap.
# Skipped only when this user may not create network namespaces.

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import make_broker
from rawwire import get_metrics, metric_sum
from test_cluster_routing import NATS_SERVER, joining
from wampclient import Inbox, connect, publish, run, unique


def metric(node, name):
    return metric_sum(get_metrics(node)[1], name)


def lost_by_reason(node):
    """{reason: count} of fastbroker_cluster_events_lost_total."""
    prefix = 'fastbroker_cluster_events_lost_total{reason="'
    return {line[len(prefix):].split('"')[0]: int(float(line.split()[-1]))
            for line in get_metrics(node)[1].splitlines() if line.startswith(prefix)}

DELAY_S = 0.020
# nats-server notices a dead route after ping_interval × ping_max without an answer (2 min × 2 by
# default; shortened here so the partition is seen within seconds).
NATS_PING = 'ping_interval: "1s"\nping_max: 3\n'

# A TCP relay that forwards each chunk DELAY seconds after it arrived, in order, both ways: the
# inter-node delay on kernels without sch_netem.
RELAY = r"""
import asyncio, sys, time
host, port, up_host, up_port, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
async def pump(reader, writer):
    line = asyncio.Queue()   # a delay line: (due, chunk) in arrival order
    async def deliver():
        while True:
            due, data = await line.get()
            if data is None:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            writer.write(data)
            await writer.drain()
    delivering = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            line.put_nowait((time.monotonic() + delay, data))
    except OSError:
        pass
    line.put_nowait((0, None))
    try:
        await delivering
    except OSError:
        pass
    writer.close()
async def handle(down_reader, down_writer):
    try:
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(up_host, up_port), 2)
    except (OSError, asyncio.TimeoutError):
        down_writer.close()
        return
    await asyncio.gather(pump(down_reader, up_writer), pump(up_reader, down_writer))
async def main():
    server = await asyncio.start_server(handle, host, port)
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def in_ns(ns, *command):
    return ["ip", "netns", "exec", ns, *command]


def routez(monitor):
    """A nats-server's /routez, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{monitor}/routez", timeout=0.5) as response:
            return json.load(response)
    except OSError:
        return None


def routes(monitor):
    answer = routez(monitor)
    return None if answer is None else answer["num_routes"]


def route_ids(lab):
    """Each server's route connection ids: unchanged means the route never dropped."""
    return [[r["rid"] for r in routez(monitor)["routes"]] for monitor in (lab.monitor_a, lab.monitor_b)]


def wait_routes(lab, count, within=15.0):
    deadline = time.monotonic() + within
    while [routes(lab.monitor_a), routes(lab.monitor_b)] != [count, count]:
        assert time.monotonic() < deadline, \
            f"nats-servers A and B have {[routes(lab.monitor_a), routes(lab.monitor_b)]} routes, expected {count} within {within}s"
        time.sleep(0.1)


class Lab:
    """The namespaces, links and processes; close() removes whatever was made, even half-way."""

    def __init__(self, tmp_path_factory):
        tag = os.getpid() % 100000
        self.octet = 100 + os.getpid() % 100
        self.ns_a, self.ns_b = f"fbnsA{tag}", f"fbnsB{tag}"
        self.link_a, self.link_b = f"fbXa{tag}", f"fbXb{tag}"   # the inter-node link's ends
        self.dir = tmp_path_factory.mktemp("netns")
        self.namespaces, self.root_links, self.procs, self.brokers = [], [], [], []
        self.netem = False

    def net(self, subnet, host):
        return f"10.{self.octet}.{subnet}.{host}"

    def build(self, tmp_path_factory):
        for ns in (self.ns_a, self.ns_b):
            ip("netns", "add", ns)
            self.namespaces.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        # root ↔ A (subnet 1) and root ↔ B (subnet 2): each FastBroker node to its own nats-server.
        for subnet, ns, name in ((1, self.ns_a, "A"), (2, self.ns_b, "B")):
            root_end, ns_end = f"fbR{name}{self.ns_a[5:]}", f"fbN{name}{self.ns_a[5:]}"
            ip("link", "add", root_end, "type", "veth", "peer", "name", ns_end)
            self.root_links.append(root_end)
            ip("link", "set", ns_end, "netns", ns)
            ip("addr", "add", f"{self.net(subnet, 1)}/24", "dev", root_end)
            ip("link", "set", root_end, "up")
            ip("-n", ns, "addr", "add", f"{self.net(subnet, 2)}/24", "dev", ns_end)
            ip("-n", ns, "link", "set", ns_end, "up")
        # A ↔ B (subnet 3): the inter-node link.
        ip("link", "add", self.link_a, "type", "veth", "peer", "name", self.link_b)
        self.root_links.append(self.link_a)
        ip("link", "set", self.link_a, "netns", self.ns_a)
        ip("link", "set", self.link_b, "netns", self.ns_b)
        for ns, link, host in ((self.ns_a, self.link_a, 1), (self.ns_b, self.link_b, 2)):
            ip("-n", ns, "addr", "add", f"{self.net(3, host)}/24", "dev", link)
            ip("-n", ns, "link", "set", link, "up")
        self.root_links.remove(self.link_a)   # gone with its namespace
        self.netem = subprocess.run(in_ns(self.ns_a, "tc", "qdisc", "add", "dev", self.link_a, "root", "netem",
                                          "delay", f"{int(DELAY_S * 1000)}ms"), capture_output=True).returncode == 0
        route_target = f"{self.net(3, 1)}:6222"
        if not self.netem:   # no sch_netem in this kernel: delay B's end of the route in user space
            relay = subprocess.Popen(in_ns(self.ns_b, sys.executable, "-c", RELAY, "127.0.0.1", "6223", self.net(3, 1), "6222",
                                           str(DELAY_S)), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.procs.append(relay)
            assert relay.stdout.readline().strip() == "ready", "the delaying relay did not start"
            route_target = "127.0.0.1:6223"
        self.monitor_a, self.monitor_b = f"{self.net(1, 2)}:8222", f"{self.net(2, 2)}:8222"
        for ns, subnet, route_listen, routes_line in ((self.ns_a, 1, self.net(3, 1), ""),
                                                      (self.ns_b, 2, self.net(3, 2), f"routes: [nats-route://{route_target}]")):
            conf = self.dir / f"{ns}.conf"
            conf.write_text(f"server_name: {ns}\nlisten: {self.net(subnet, 2)}:4222\nhttp: {self.net(subnet, 2)}:8222\n{NATS_PING}"
                            f"cluster {{\n name: netns\n listen: {route_listen}:6222\n {routes_line}\n}}\n")
            log = open(self.dir / f"{ns}.log", "wb")
            self.procs.append(subprocess.Popen(in_ns(ns, NATS_SERVER, "-c", str(conf)), stdout=log, stderr=subprocess.STDOUT))
        wait_routes(self, 1)
        for name, subnet in (("a", 1), ("b", 2)):
            node = make_broker(tmp_path_factory, f"netns-node-{name}", mutate=joining(name, f"nats://{self.net(subnet, 2)}:4222"))
            self.brokers.append(node.start())

    def set_link(self, state):
        ip("-n", self.ns_a, "link", "set", self.link_a, state)

    def close(self):
        for node in self.brokers:
            node.stop()
        for proc in self.procs:
            proc.kill()
            proc.wait(5)
        for ns in self.namespaces:
            ip("netns", "del", ns, check=False)
        for link in self.root_links:
            ip("link", "del", link, check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.access(NATS_SERVER, os.X_OK):
        pytest.fail("nats-server is not installed (scripts/setup.sh --test installs it)")
    probe = f"fbnsprobe{os.getpid() % 100000}"
    try:
        made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        pytest.skip("the ip command (iproute2) is missing: network namespaces cannot be made")
    if made.returncode != 0:
        pytest.skip(f"ip netns add is not permitted here: {made.stderr.strip()}")
    ip("netns", "del", probe)
    lab = Lab(tmp_path_factory)
    try:
        lab.build(tmp_path_factory)
        yield lab
        for node in lab.brokers:
            assert node.alive(), f"a node died during the tests:\n{node.logs()}"
    finally:
        lab.close()


class StampedInbox(Inbox):
    """An Inbox that also notes when each event arrived (monotonic clock, shared by namespaces)."""

    def __init__(self, session):
        super().__init__(session)
        self.arrived = {}

    def handler(self, *args, **kwargs):
        if len(args) == 2 and isinstance(args[0], int):
            self.arrived[args[0]] = time.monotonic()
        super().handler(*args, **kwargs)


async def settle(publisher, inboxes, topic, within=10.0, probes=None):
    """Probes until the subscription on the far node is in force, then drains every inbox with a
    sentinel; returns every non-probe event the inboxes got meanwhile (must be none). `probes`, a
    dict, gets how many probes were published ("sent") and how many the far inbox got ("received")."""
    start, far = time.monotonic(), inboxes[-1]
    stray = []
    probes = {} if probes is None else probes
    probes.update(sent=0, received=0)
    while True:
        await publish(publisher, topic, "probe")
        probes["sent"] += 1
        try:
            event = await far.get(timeout=0.2)
            if event.args != ["probe"]:
                stray.append(event.args)
            else:
                probes["received"] += 1
            break
        except AssertionError:
            assert time.monotonic() - start < within, f"interest in {topic} did not cross within {within}s"
    marker = unique("settled")
    await publish(publisher, topic, marker)
    for inbox in inboxes:
        events = await inbox.until(marker, timeout=5.0)
        stray += [e.args for e in events if e.args != ["probe"]]
        if inbox is far:
            probes["received"] += sum(e.args == ["probe"] for e in events)
    return stray


def test_cross_node_delivery_pays_the_link_delay_complete_and_in_order(lab):
    a, b = lab.brokers

    async def body():
        topic = unique("com.netns.delay")
        local = StampedInbox(await connect(a, "ws", "realm1"))
        remote = StampedInbox(await connect(b, "ws", "realm1"))
        for inbox in (local, remote):
            await inbox.subscribe(topic)
        publisher = await connect(a, "rs", "realm1")
        assert await settle(publisher, [local, remote], topic) == []
        sent = {}
        for i in range(100):
            sent[i] = time.monotonic()
            await publish(publisher, topic, i, sent[i])
        await publish(publisher, topic, "end", 0)
        for inbox in (local, remote):
            assert [e.args[0] for e in await inbox.until("end", timeout=5.0)] == list(range(100)), "complete, in order"
        remote_latency = [remote.arrived[i] - sent[i] for i in range(100)]
        local_latency = [local.arrived[i] - sent[i] for i in range(100)]
        assert min(remote_latency) >= DELAY_S, \
            f"a cross-node event took {min(remote_latency) * 1000:.1f} ms, less than the {DELAY_S * 1000:.0f} ms link delay"
        assert min(local_latency) < DELAY_S, f"local delivery never beat the link delay: {min(local_latency) * 1000:.1f} ms"
        assert [sum(lost_by_reason(node).values()) for node in (a, b)] == [0, 0], "a slow link loses nothing"

    run(body())


async def subscriber_on_b_publisher_on_a(a, b, prefix):
    """A fresh topic, an Inbox subscribed to it on node b and a publisher on node a, once the
    subscription is in force across the link."""
    topic = unique(prefix)
    remote = Inbox(await connect(b, "ws", "realm1"))
    await remote.subscribe(topic)
    publisher = await connect(a, "rs", "realm1")
    assert await settle(publisher, [remote], topic) == []
    return topic, remote, publisher


def test_a_partition_loses_what_is_published_meanwhile_counted_as_a_gap_then_delivery_resumes(lab):
    a, b = lab.brokers

    async def body():
        topic, remote, publisher = await subscriber_on_b_publisher_on_a(a, b, "com.netns.partition")
        for i in range(50):
            publisher.publish(topic, "before", i)
        await publish(publisher, topic, "before-end")
        assert [e.args for e in await remote.until("before-end")] == [["before", i] for i in range(50)]
        lost_before = [lost_by_reason(node) for node in (a, b)]
        assert lost_before[1]["gap"] == 0 and sum(lost_before[0].values()) == 0, lost_before
        published_before = metric(a, "fastbroker_cluster_published_total")
        disconnects_before = [metric(node, "fastbroker_cluster_disconnects_total") for node in (a, b)]

        lab.set_link("down")
        try:
            wait_routes(lab, 0)   # both nats-servers gave up the route (ping_interval × ping_max)
            for i in range(50):
                await publish(publisher, topic, "during", i)   # each one PUBLISHED by node a
        finally:
            lab.set_link("up")
        wait_routes(lab, 1)
        probes = {}   # probes published before b's interest crossed the new route are lost too
        stray = await settle(publisher, [remote], topic, within=15.0, probes=probes)
        assert stray == [], f"events published during the partition arrived after it: {stray[:5]}"
        for i in range(50):
            publisher.publish(topic, "after", i)
        await publish(publisher, topic, "after-end")
        assert [e.args for e in await remote.until("after-end")] == [["after", i] for i in range(50)], \
            "after healing: every event, in order, no duplicates, nothing from the partition"

        # NATS dropped them silently (no route, no interest); b counts them from the hole in a's
        # sequence on this topic, a (whose publishes NATS accepted) counts nothing.
        expected = 50 + probes["sent"] - probes["received"]
        lost_after = [lost_by_reason(node) for node in (a, b)]
        assert lost_after[1] == {**lost_before[1], "gap": expected}, \
            f"node b counted {lost_after[1]}, expected gap={expected} (50 during the cut, {probes} probes) and nothing else"
        assert lost_after[0] == lost_before[0], f"node a counted a loss: {lost_after[0]}"
        logged = f"cluster: {expected} publication(s) from node a on {topic} (realm realm1) never arrived"
        assert logged in b.logs(), f"node b did not log the gap: {b.logs()[-2000:]}"
        assert metric(a, "fastbroker_cluster_published_total") >= published_before + 50, \
            "node a handed the partition's publications to NATS"
        assert [metric(node, "fastbroker_cluster_disconnects_total") for node in (a, b)] == disconnects_before, \
            "each node kept its own NATS connection"

    run(body())


def test_a_cut_shorter_than_the_route_timeout_loses_nothing(lab):
    a, b = lab.brokers

    async def body():
        topic, remote, publisher = await subscriber_on_b_publisher_on_a(a, b, "com.netns.blip")
        routes_before = route_ids(lab)
        lost_before = [lost_by_reason(node) for node in (a, b)]   # the partition test's gap stays counted
        lab.set_link("down")
        try:
            for i in range(50):
                await publish(publisher, topic, "during", i)
            await asyncio.sleep(0.3)
        finally:
            lab.set_link("up")
        await publish(publisher, topic, "end")
        # TCP retransmits what the route sent into the dead link (backed off: within ~2 s here).
        assert [e.args for e in await remote.until("end", timeout=10.0)] == [["during", i] for i in range(50)], \
            "a short cut delays events but keeps them all, in order, once"
        assert route_ids(lab) == routes_before, "the route never dropped (the cut was shorter than ping_interval × ping_max)"
        assert [lost_by_reason(node) for node in (a, b)] == lost_before, "nothing lost, no gap counted"

    run(body())


def test_a_dead_link_to_the_nodes_own_nats_server_is_noticed_within_seconds_and_counted(lab):
    a, b = lab.brokers
    node_a_link = lab.root_links[0]   # root ↔ A: node a's link to its own nats-server

    async def body():
        topic = unique("com.netns.nodelink")
        local = Inbox(await connect(a, "ws", "realm1"))
        await local.subscribe(topic)
        publisher = await connect(b, "rs", "realm1")
        assert await settle(publisher, [local], topic) == []
        lost_before = lost_by_reason(a)
        disconnects, reconnects = (metric(a, f"fastbroker_cluster_{name}_total") for name in ("disconnects", "reconnects"))

        ip("link", "set", node_a_link, "down")   # no reset reaches node a: only its pings can tell
        try:
            cut = time.monotonic()
            for i in range(20):
                await publish(publisher, topic, "missed", i)   # nats-server A writes them into the dead link
            while metric(a, "fastbroker_cluster_disconnects_total") == disconnects:
                assert time.monotonic() - cut < 15.0, "node a did not notice its dead NATS link within 15 s (2 s pings × 4 ≈ 8 s)"
                await asyncio.sleep(0.2)
            # libnats fails over to nats-server B, whose client address A advertised (the link stays down).
            while metric(a, "fastbroker_cluster_reconnects_total") == reconnects:
                assert time.monotonic() - cut < 30.0, "node a did not fail over to nats-server B"
                await asyncio.sleep(0.2)
            probes = {}
            stray = await settle(publisher, [local], topic, within=15.0, probes=probes)
        finally:
            ip("link", "set", node_a_link, "up")
        assert stray == [], f"events published while node a was cut off arrived: {stray[:5]}"
        expected = 20 + probes["sent"] - probes["received"]
        assert lost_by_reason(a) == {**lost_before, "gap": lost_before["gap"] + expected}, \
            f"node a counted {lost_by_reason(a)}, expected {expected} more as gap (20 missed, {probes} probes)"

    run(body())
