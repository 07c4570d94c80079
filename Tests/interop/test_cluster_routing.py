# Two FastBroker nodes over one real nats-server (SPEC §7): a publication on node A reaches a
# subscriber on node B exactly once, with the publication id A's PUBLISHED carried, its payload,
# in publication order, with exclude/eligible lists and disclose_me applied on B. Run it with
# FASTBROKER_TEST_LOOPS=1 and =2 (each node then spreads its sessions over that many loops).
#
# Interest takes effect cluster-wide within 1 s of SUBSCRIBED (SPEC §7): each test first waits
# for a probe publication to cross, then checks. "Nothing else arrived" is checked with a
# sentinel from the same publisher (per-publisher order holds across nodes).

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from autobahn.wamp.types import PublishOptions

import asyncio

from conftest import free_port, make_broker
from rawwire import get_metrics, metric_sum
from test_serializers import VALUES, join, same
from wampclient import Inbox, connect, publish, run, unique

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def start_nats(port, store):
    if not os.access(NATS_SERVER, os.X_OK):
        pytest.fail("nats-server is not installed (scripts/setup.sh --test installs it)")
    proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)


def stop_nats(proc):
    proc.terminate()
    proc.wait(10)


def joining(name, url, lease_ttl_ms=None):
    def mutate(config):
        config["cluster"] = {"node": name, "nats": {"servers": [url]}}
        if lease_ttl_ms is not None:
            config["cluster"]["nats"]["lease_ttl_ms"] = lease_ttl_ms
        for listener in config["listeners"]:
            listener.pop("serializers", None)  # the default: json, msgpack and cbor
    return mutate


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory):
    port = free_port()
    proc = start_nats(port, tmp_path_factory.mktemp("nats"))
    yield f"nats://127.0.0.1:{port}"
    stop_nats(proc)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, nats_url):
    a = make_broker(tmp_path_factory, "node-a", mutate=joining("a", nats_url)).start()
    b = make_broker(tmp_path_factory, "node-b", mutate=joining("b", nats_url)).start()
    c = make_broker(tmp_path_factory, "node-c", mutate=joining("c", nats_url)).start()  # never subscribed
    yield a, b, c
    for node in (a, b, c):
        node.finish()


async def wait_for_interest(publisher, inbox, topic, within=3.0):
    """Publishes probes until one reaches `inbox` (the subscription is in force across nodes);
    drains the probes that follow it with a sentinel. Returns the seconds it took."""
    start = time.monotonic()
    while True:
        await publish(publisher, topic, "probe")
        try:
            await inbox.get(timeout=0.1)
            break
        except AssertionError:
            assert time.monotonic() - start < within, f"interest in {topic} did not cross within {within}s"
    marker = unique("drained")
    await publish(publisher, topic, marker)
    await inbox.until(marker, timeout=3.0)
    return time.monotonic() - start


def test_publication_crosses_once_with_its_id_and_payload(nodes):
    a, b, _ = nodes

    async def body():
        topic = unique("com.cluster.t")
        subscriber = await connect(b, "ws", "realm1")
        inbox = Inbox(subscriber)
        await inbox.subscribe(topic)
        publisher = await connect(a, "rs", "realm1")
        took = await wait_for_interest(publisher, inbox, topic)
        assert took < 2.0, f"subscription took {took:.2f}s to be in force on the other node"

        published = await publish(publisher, topic, 1, "two", {"three": [3.5, None]}, key="välue", n=2**53)
        event = await inbox.get()
        assert event.args == [1, "two", {"three": [3.5, None]}]
        assert event.kwargs == {"key": "välue", "n": 2**53}
        assert event.details.publication == published.id, "EVENT carries the id PUBLISHED gave"
        assert event.details.publisher is None, "no disclose_me, no publisher"
        sentinel = unique("sentinel")
        await publish(publisher, topic, sentinel)
        assert await inbox.until(sentinel) == [], "exactly once"

    run(body())


def test_events_of_one_publisher_keep_their_order_across_topics(nodes):
    a, b, _ = nodes

    async def body():
        prefix = unique("com.cluster.order")
        subscriber = await connect(b, "ws", "realm1")
        inbox = Inbox(subscriber)
        await inbox.subscribe(prefix + ".", match="prefix")
        publisher = await connect(a, "ws", "realm1")
        await wait_for_interest(publisher, inbox, prefix + ".x")
        count = 600
        for i in range(count):
            publisher.publish(f"{prefix}.{'abc'[i % 3]}", i)
        await publish(publisher, prefix + ".x", "end")
        received = [e.args[0] for e in await inbox.until("end", timeout=10.0)]
        assert received == list(range(count))

    run(body())


def test_a_burst_on_one_topic_crosses_complete_and_in_order(nodes):
    """Consecutive publications on one topic share NATS messages (ClusterBatch): a burst arrives
    whole, once, in order, and the publishing node sent no more NATS messages than publications."""
    a, b, _ = nodes

    async def body():
        topic = unique("com.cluster.burst")
        inbox = Inbox(await connect(b, "ws", "realm1"))
        await inbox.subscribe(topic)
        publisher = await connect(a, "rs", "realm1")
        await wait_for_interest(publisher, inbox, topic)
        before = get_metrics(a)[1]
        count = 3000
        for i in range(count):
            publisher.publish(topic, i, "x" * (i % 200))
        await publish(publisher, topic, "end")
        received = [e.args for e in await inbox.until("end", timeout=20.0)]
        assert [r[0] for r in received] == list(range(count)), "every event once, in publication order"
        assert all(r[1] == "x" * (r[0] % 200) for r in received), "payloads intact"
        after = get_metrics(a)[1]
        published = metric_sum(after, "fastbroker_cluster_published_total") - metric_sum(before, "fastbroker_cluster_published_total")
        messages = (metric_sum(after, "fastbroker_cluster_nats_messages_published_total")
                    - metric_sum(before, "fastbroker_cluster_nats_messages_published_total"))
        assert published >= count + 1, after
        assert 1 <= messages <= published, f"{messages} NATS messages for {published} publications"
        print(f"burst: {published} publications in {messages} NATS messages")

    run(body())
    text = get_metrics(b)[1]
    assert 'fastbroker_cluster_events_lost_total{reason="gap"} 0\n' in text, text
    assert 'fastbroker_cluster_events_lost_total{reason="malformed"} 0\n' in text, text


def test_lists_and_disclosure_apply_on_the_receiving_node(nodes):
    a, b, _ = nodes

    async def body():
        topic = unique("com.cluster.lists")
        first = await connect(b, "ws", "realm1")
        second = await connect(b, "rs", "realm1")
        inboxes = {"first": Inbox(first), "second": Inbox(second)}
        for inbox in inboxes.values():
            await inbox.subscribe(topic)
        publisher = await connect(a, "ws", "realm1")
        await wait_for_interest(publisher, inboxes["first"], topic)  # one subject serves both
        ready = unique("ready")
        await publish(publisher, topic, ready)
        for inbox in inboxes.values():
            await inbox.until(ready)

        # Autobahn's PublishOptions has no disclose_me: add it on the wire (as test_pubsub does).
        def disclose(msg):
            if msg[0] == 16 and msg[4:5] == [["not-second"]]:
                msg[2]["disclose_me"] = True
        publisher.recorder.rewrite_outgoing = disclose
        await publish(publisher, topic, "only-second",
                      options=PublishOptions(acknowledge=True, eligible=[second.session_id]))
        await publish(publisher, topic, "not-second",
                      options=PublishOptions(acknowledge=True, exclude=[second.session_id]))
        await publish(publisher, topic, "end")
        got_first = await inboxes["first"].until("end")
        got_second = await inboxes["second"].until("end")
        assert [e.args[0] for e in got_first] == ["not-second"]
        assert [e.args[0] for e in got_second] == ["only-second"]
        assert got_first[0].details.publisher == publisher.session_id, "disclose_me crosses nodes"

    run(body())


def test_a_node_started_before_nats_serves_locally_and_joins_later(tmp_path_factory):
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    early = make_broker(tmp_path_factory, "node-early", mutate=joining("early", url)).start()
    proc = None
    try:
        async def local_only():
            topic = unique("com.cluster.local")
            inbox = Inbox(await connect(early, "ws", "realm1"))
            await inbox.subscribe(topic)
            publisher = await connect(early, "rs", "realm1")
            published = await publish(publisher, topic, "here")
            event = await inbox.get()
            assert (event.args, event.details.publication) == (["here"], published.id)

        run(local_only())
        assert "retrying" in early.logs(), early.logs()

        proc = start_nats(port, tmp_path_factory.mktemp("nats-late"))
        late = make_broker(tmp_path_factory, "node-late", mutate=joining("late", url)).start()
        try:
            async def across():
                topic = unique("com.cluster.late")
                inbox = Inbox(await connect(late, "ws", "realm1"))
                await inbox.subscribe(topic)
                publisher = await connect(early, "ws", "realm1")
                # The early node reconnects in the background (250 ms between attempts).
                await wait_for_interest(publisher, inbox, topic, within=5.0)

            run(across())
        finally:
            late.finish()
    finally:
        early.finish()
        if proc:
            stop_nats(proc)


def test_a_node_without_subscribers_receives_nothing(nodes):
    a, b, c = nodes

    async def body():
        topic = unique("com.cluster.interest")
        inbox = Inbox(await connect(b, "ws", "realm1"))
        await inbox.subscribe(topic)
        publisher = await connect(a, "ws", "realm1")
        await wait_for_interest(publisher, inbox, topic)
        for i in range(50):
            publisher.publish(topic, i)
        await publish(publisher, topic, "end")
        assert [e.args[0] for e in await inbox.until("end")] == list(range(50))

    run(body())
    metrics = {node: get_metrics(broker)[1] for node, broker in (("a", a), ("b", b), ("c", c))}
    assert metric_sum(metrics["b"], "fastbroker_cluster_delivered_total") >= 51
    assert metric_sum(metrics["a"], "fastbroker_cluster_published_total") >= 51
    # NATS forwards only where there is interest: c's connection never carried a publication.
    assert metric_sum(metrics["c"], "fastbroker_cluster_received_total") == 0, metrics["c"]
    assert metric_sum(metrics["c"], "fastbroker_cluster_interest_subscriptions") == 0
    # Every session has left (run() closes them): b dropped all its NATS interest.
    deadline = time.monotonic() + 3
    while metric_sum(get_metrics(b)[1], "fastbroker_cluster_interest_subscriptions") != 0:
        assert time.monotonic() < deadline, get_metrics(b)[1]
        time.sleep(0.05)
    lost = [line for text in metrics.values() for line in text.splitlines()
            if line.startswith("fastbroker_cluster_events_lost_total") and not line.endswith(" 0")]
    assert lost == [], lost


def test_a_resubscribe_is_no_gap_and_healthy_traffic_counts_no_loss(nodes):
    """Events published while node b had no interest in a topic were never b's to lose: once b
    subscribes again its first event is a new baseline, not a gap in a's sequence on that topic
    (which did advance). Nothing this module's healthy traffic did counts a loss on any node."""
    a, b, c = nodes

    async def body():
        topic = unique("com.cluster.resubscribe")
        publisher = await connect(a, "rs", "realm1")
        inbox = Inbox(await connect(b, "ws", "realm1"))
        for rounds in range(3):
            subscription = await inbox.subscribe(topic)
            await wait_for_interest(publisher, inbox, topic)
            for i in range(20):
                publisher.publish(topic, rounds, i)
            await publish(publisher, topic, "end")
            assert [e.args for e in await inbox.until("end")] == [[rounds, i] for i in range(20)]
            await subscription.unsubscribe()   # b's last subscriber on the topic: b drops its interest
            deadline = time.monotonic() + 3
            while metric_sum(get_metrics(b)[1], "fastbroker_cluster_interest_subscriptions") != 0:
                assert time.monotonic() < deadline, "b kept its NATS interest after the last unsubscribe"
                await asyncio.sleep(0.05)
            for i in range(30):
                await publish(publisher, topic, "unheard", i)   # PUBLISHED: a stamped and queued it

    run(body())
    for name, node in (("a", a), ("b", b), ("c", c)):
        text = get_metrics(node)[1]
        assert 'fastbroker_cluster_events_lost_total{reason="gap"} 0\n' in text, f"node {name}: {text}"
        lost = [line for line in text.splitlines() if line.startswith("fastbroker_cluster_events_lost_total") and not line.endswith(" 0")]
        assert lost == [], f"node {name}: {lost}"


def test_cross_serializer_delivery_across_nodes(nodes):
    """MessagePack publisher on A; JSON (WebSocket) and CBOR (RawSocket) subscribers on B get the
    same values, binary and 64-bit integers included, transcoded on B, exactly once."""
    a, b, _ = nodes

    async def body():
        topic = unique("com.cluster.serializers")
        inboxes = {}
        sessions = []
        for transport, serializer in (("ws", "json"), ("rs", "cbor")):
            session = await join(b, transport, serializer)
            sessions.append(session)
            inbox = asyncio.Queue()
            await session.subscribe(lambda *args, q=inbox, **kwargs: q.put_nowait((list(args), kwargs)), topic)
            inboxes[serializer] = inbox
        publisher = await join(a, "ws", "msgpack")
        sessions.append(publisher)
        acknowledged = PublishOptions(acknowledge=True)
        # Interest crosses within 1 s: probe until both subscribers have one, then drain.
        deadline = time.monotonic() + 3
        while True:
            await publisher.publish(topic, "probe", options=acknowledged)
            if all(not q.empty() for q in inboxes.values()):
                break
            assert time.monotonic() < deadline, "interest did not cross within 3 s"
            await asyncio.sleep(0.05)
        await publisher.publish(topic, "ready", options=acknowledged)
        for inbox in inboxes.values():
            while (await asyncio.wait_for(inbox.get(), 3))[0] != ["ready"]:
                pass
        kwargs = {"k": VALUES[-6], "bin": b"\xff\x00", "big": 2**64 - 1, "neg": -(2**63), "half": 1.5}
        await publisher.publish(topic, *VALUES, options=acknowledged)
        await publisher.publish(topic, **kwargs, options=acknowledged)
        await publisher.publish(topic, "end", options=acknowledged)
        for serializer, inbox in inboxes.items():
            args, got = await asyncio.wait_for(inbox.get(), 3)
            assert same(args, VALUES) and got == {}, f"msgpack on a → {serializer} on b: {args!r} {got!r}"
            args, got = await asyncio.wait_for(inbox.get(), 3)
            assert args == [] and same(got, kwargs), f"msgpack on a → {serializer} on b: {got!r}"
            assert await asyncio.wait_for(inbox.get(), 3) == (["end"], {}), "exactly once, in order"
        for session in sessions:
            session.leave()
    run(body())


@contextlib.contextmanager
def node_on_own_nats(tmp_path_factory, name):
    """A node on a nats-server of its own (the tests stop that server with SIGSTOP); the server is
    resumed (SIGCONT), the node finished and the server stopped afterwards."""
    port = free_port()
    proc = start_nats(port, tmp_path_factory.mktemp(f"nats-{name}"))
    node = make_broker(tmp_path_factory, f"node-{name}", mutate=joining(name, f"nats://127.0.0.1:{port}")).start()
    try:
        yield proc, node
    finally:
        proc.send_signal(signal.SIGCONT)
        node.finish()
        stop_nats(proc)


async def stall_under_backlog(node, proc):
    """Crosses one publication to NATS (the link is up), stops NATS with its sockets open
    (SIGSTOP), then queues 600 × 32 KiB (19 MiB: far beyond loopback socket buffers, so the
    publisher thread blocks in libnats) and gets the last one acknowledged. Returns the
    subscriber's inbox, its topic and a session that was not publishing."""
    topic = unique("com.cluster.stalled")
    inbox = Inbox(await connect(node, "ws", "realm1"))
    await inbox.subscribe(topic)
    bulk = await connect(node, "ws", "realm1")
    other = await connect(node, "ws", "realm1")
    await publish(other, topic, "linked")
    await inbox.get()
    proc.send_signal(signal.SIGSTOP)
    blob = "x" * (32 << 10)
    for _ in range(600):
        bulk.publish(unique("com.cluster.bulk"), blob)
    await publish(bulk, unique("com.cluster.bulk"), "end")  # acknowledged: the loop got through
    return inbox, topic, other


def test_a_stalled_nats_server_never_stalls_the_publishers_loop(tmp_path_factory):
    """NATS stopped with its sockets open (SIGSTOP): libnats' publish would block once the socket
    buffers fill. The loop only queues for the node's publisher thread, so the publisher gets its
    acknowledgement and other sessions on the node keep being served, in bounded time."""
    with node_on_own_nats(tmp_path_factory, "stalled") as (proc, node):
        async def body():
            start = time.monotonic()
            inbox, topic, other = await stall_under_backlog(node, proc)
            await publish(other, topic, "still-served")
            assert (await inbox.get(timeout=10)).args == ["still-served"]
            took = time.monotonic() - start
            assert took < 10, f"the loop took {took:.1f}s to serve others while NATS was stalled"

        run(body(), timeout=60)


def test_sigterm_while_nats_is_stalled_ends_the_broker_in_bounded_time(tmp_path_factory):
    """NATS stopped (SIGSTOP) with megabytes queued for it: the publisher thread is blocked in a
    socket write that the server will never read. SIGTERM must still end the broker, exit 0, in
    bounded time: the node stops handing publications over (the rest counted lost), libnats'
    write deadline frees the blocked write, and JetStream calls still waiting after the grace
    have the connections closed under them."""
    with node_on_own_nats(tmp_path_factory, "stalled-stop") as (proc, node):
        run(stall_under_backlog(node, proc), timeout=60)
        assert node.alive(), node.logs()
        code, took = node.stop()
        node.exit_checked = True
        assert code == 0 and took < 8, f"exit {code} after {took:.1f}s with NATS stalled:\n{node.logs()}"
