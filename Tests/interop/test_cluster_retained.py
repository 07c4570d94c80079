# Retained events across FastBroker nodes over one real nats-server with JetStream (SPEC §5, §7;
# issue 13 item 5): a PUBLISH with retain on node A is returned by SUBSCRIBE get_retained on node
# B — exact and pattern subscriptions, filters and eligible lists applied, `retained: true` and
# the publisher's disclosure as published, A's publication id; the bucket's last write of a topic
# wins on every node; a node started after the retain gets it; it outlives the publishing node.
#
# Mirroring takes a moment (a KV put, then every node's watcher), so positive checks re-subscribe
# until the retained event is there (bounded). "Nothing retained" and "the node has caught up"
# are never checked by sleeping: a live sentinel published on the subscriber's own node comes
# after any retained EVENT of the subscription, and a marker topic retained by a node after its
# other retains reaches a watcher only after them (one writer per node, bucket revision order).

import asyncio
import sys
import time
from pathlib import Path

import pytest
from autobahn.wamp.types import PublishOptions

from conftest import make_broker
from rawwire import get_metrics, metric_sum
from test_cluster_routing import joining, nats_url  # noqa: F401 (nats_url: a module-scoped fixture)
from wampclient import Inbox, connect, publish, run, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions  # noqa: E402


def retain(**options):
    return PublishOptions(acknowledge=True, retain=True, **options)


def start_node(tmp_path_factory, url, name):
    return make_broker(tmp_path_factory, "retained-" + name, mutate=joining(name, url)).start()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, nats_url):  # noqa: F811
    started = [start_node(tmp_path_factory, nats_url, n) for n in ("ra", "rb", "rc")]
    yield started
    for node in started:
        node.finish()


async def retained_now(session, topic, sentinel_topic=None, match=None, **options):
    """The retained events `session`'s node returns now for (topic, match, options): subscribes
    with get_retained, then a live sentinel from the same session (exclude_me off) on the same
    node ends the batch: retained EVENTs are queued right after SUBSCRIBED, before it."""
    inbox = Inbox(session)
    subscription = await session.subscribe(inbox.handler, topic, options=FastBrokerSubscribeOptions(
        match=match, get_retained=True, details_arg="details", **options))
    sentinel = unique("sentinel")
    await publish(session, sentinel_topic or topic, sentinel, n=1000,
                  options=PublishOptions(acknowledge=True, exclude_me=False))
    events = await inbox.until(sentinel)
    await subscription.unsubscribe()
    # Live events of other nodes' publications may arrive meanwhile; only retained ones count.
    return [e for e in events if e.details.retained is True], inbox


async def retained_within(session, topic, until, within=5.0, **kwargs):
    """Re-asks until `until(events)` holds (the mirror has caught up); returns the events."""
    start = time.monotonic()
    while True:
        events, inbox = await retained_now(session, topic, **kwargs)
        if until(events):
            return events, inbox
        assert time.monotonic() - start < within, f"retained events on {topic} after {within}s: {[e.args for e in events]}"
        await asyncio.sleep(0.05)


def values(events):
    return [e.args[0] for e in events]


def test_retained_on_one_node_is_returned_on_another_with_exact_details(nodes):
    a, b, _ = nodes

    async def body():
        topic = unique("com.cretain.exact")
        publisher = await connect(a, "ws", "realm1")
        # Autobahn's PublishOptions has no disclose_me: add it on the wire (as test_pubsub does).
        def disclose(msg):
            if msg[0] == 16 and len(msg) > 4 and msg[4][:1] == ["disclosed"]:
                msg[2]["disclose_me"] = True
        publisher.recorder.rewrite_outgoing = disclose
        await publish(publisher, topic, "older", options=retain())
        published = await publish(publisher, topic, "disclosed", {"deep": [1.5, None]}, k="välue", options=retain())
        subscriber = await connect(b, "rs", "realm1")
        events, inbox = await retained_within(subscriber, topic, lambda ev: values(ev) == ["disclosed"])
        event = events[0]
        assert event.args == ["disclosed", {"deep": [1.5, None]}] and event.kwargs == {"k": "välue"}
        raw = inbox.raw(event)
        assert raw[2] == published.id, "the id A's PUBLISHED carried"
        identity = publisher.welcome()[2]
        assert raw[3] == {"retained": True, "publisher": publisher.session_id,
                          "publisher_authid": identity["authid"], "publisher_authrole": identity["authrole"]}, raw
        # Not disclosed: no publisher in the details, on the other node too.
        plain = await publish(publisher, topic, "plain", options=retain())
        events, inbox = await retained_within(subscriber, topic, lambda ev: values(ev) == ["plain"])
        assert inbox.raw(events[0])[2:4] == [plain.id, {"retained": True}]
    run(body())


def test_patterns_filters_and_eligible_lists_apply_on_the_other_node(nodes):
    a, b, _ = nodes

    async def body():
        base = unique("com.cretain.pattern")
        publisher = await connect(a, "ws", "realm1")
        subscriber = await connect(b, "ws", "realm1")
        other = await connect(b, "ws", "realm1")
        x = await publish(publisher, f"{base}.x.a", "xa", n=1, options=retain())
        y = await publish(publisher, f"{base}.y.a", "ya", n=5, options=retain())
        z = await publish(publisher, f"{base}.x.b", "xb", n=9, options=retain())
        await publish(publisher, f"{base}.z.a", "only-other", n=7, options=retain(eligible=[other.session_id]))
        w = await publish(publisher, f"{base}.w.a", "last", n=3, options=retain())  # written after the others

        def seen(ev):
            return "last" in values(ev)
        events, _ = await retained_within(subscriber, f"{base}.", seen, match="prefix", sentinel_topic=f"{base}.s")
        assert sorted((e.details.topic, e.kwargs["n"], e.details.publication) for e in events) == sorted(
            [(f"{base}.x.a", 1, x.id), (f"{base}.y.a", 5, y.id), (f"{base}.x.b", 9, z.id), (f"{base}.w.a", 3, w.id)])
        events, _ = await retained_now(subscriber, f"{base}..a", match="wildcard", sentinel_topic=f"{base}.s.a")
        assert sorted(values(events)) == ["last", "xa", "ya"], "eligible list: not for this session"
        events, _ = await retained_now(subscriber, f"{base}.", match="prefix", sentinel_topic=f"{base}.s",
                                       filter="n > :v", filter_values={":v": 4})
        assert sorted(values(events)) == ["xb", "ya"], "the filter applies to mirrored events"
        events, _ = await retained_now(other, f"{base}.z.a")
        assert values(events) == ["only-other"], "the eligible session gets it on the other node"
    run(body(), timeout=60)


def test_a_cleared_topic_is_cleared_on_every_node(nodes):
    a, b, c = nodes

    async def body():
        topic = unique("com.cretain.clear")
        marker = unique("com.cretain.marker")
        publisher = await connect(a, "ws", "realm1")
        subscriber = await connect(c, "ws", "realm1")
        await publish(publisher, topic, "kept", options=retain())
        await retained_within(subscriber, topic, lambda ev: values(ev) == ["kept"])
        await publish(publisher, topic, options=retain())  # neither args nor kwargs: clears
        await publish(publisher, marker, "after-the-clear", options=retain())
        await retained_within(subscriber, marker, lambda ev: values(ev) == ["after-the-clear"])
        events, _ = await retained_now(subscriber, topic)
        assert events == [], "the clear came before the marker"
    run(body())


def test_the_last_write_of_a_topic_wins_on_every_node(nodes):
    """A and B retain the same topics at the same time; every node must end with the same event
    per topic — the bucket's last — even where a node's own newer retain was still on its way
    when the other node's older one arrived."""
    a, b, c = nodes

    async def body():
        base = unique("com.cretain.race")
        topics = [f"{base}.t{i}" for i in range(30)]
        on_a = await connect(a, "ws", "realm1")
        on_b = await connect(b, "rs", "realm1")
        on_c = await connect(c, "ws", "realm1")
        for topic in topics:  # interleaved, unacknowledged: the two nodes race per topic
            on_b.publish(topic, "from-b", options=PublishOptions(retain=True))
            on_a.publish(topic, "from-a", options=PublishOptions(retain=True))
        # Each node's marker is written after its retains: a node that has the other's marker
        # has applied every retain of it.
        await publish(on_a, f"{base}.marker-a", "m", options=retain())
        await publish(on_b, f"{base}.marker-b", "m", options=retain())
        for session in (on_a, on_b, on_c):
            await retained_within(session, f"{base}.marker-", lambda ev: len(ev) == 2, match="prefix",
                                  sentinel_topic=f"{base}.marker-x")
        finals = {}
        for name, session in (("a", on_a), ("b", on_b), ("c", on_c)):
            events, _ = await retained_now(session, f"{base}.t", match="prefix", sentinel_topic=f"{base}.tz")
            finals[name] = {e.details.topic: (e.args[0], e.details.publication) for e in events}
        assert sorted(finals["c"]) == sorted(topics), finals["c"]
        assert finals["a"] == finals["c"] and finals["b"] == finals["c"], (
            [t for t in topics if not finals["a"].get(t) == finals["b"].get(t) == finals["c"].get(t)])
        # Sequential: B retains after A's retain reached C, so B's is the newer everywhere.
        topic = unique("com.cretain.newer")
        await publish(on_a, topic, "first", options=retain())
        await retained_within(on_c, topic, lambda ev: values(ev) == ["first"])
        newer = await publish(on_b, topic, "second", options=retain())
        for session in (on_c, on_a, on_b):
            events, _ = await retained_within(session, topic, lambda ev: values(ev) == ["second"])
            assert events[0].details.publication == newer.id
    run(body(), timeout=90)


def test_a_node_started_later_gets_retained_events_that_outlive_their_node(tmp_path_factory, nats_url):  # noqa: F811
    publishing = start_node(tmp_path_factory, nats_url, "rpub")
    late = None
    try:
        topic = unique("com.cretain.late")

        async def retain_on_a_node_that_then_exits():
            publisher = await connect(publishing, "ws", "realm1")
            published = await publish(publisher, topic, "outlives", n=1, options=retain())
            return published.id
        published_id = run(retain_on_a_node_that_then_exits())
        # Started after the retain: the watcher's initial values bring it (re-asked until the
        # publishing node's write has reached the bucket).
        late = start_node(tmp_path_factory, nats_url, "rlate")

        async def seen_on_the_late_node():
            session = await connect(late, "rs", "realm1")
            events, _ = await retained_within(session, topic, lambda ev: len(ev) == 1)
            assert (events[0].args, events[0].kwargs, events[0].details.publication) == (["outlives"], {"n": 1}, published_id)
        run(seen_on_the_late_node())
        publishing.finish()
        after = start_node(tmp_path_factory, nats_url, "rafter")
        try:
            run(seen_on_the_late_node())  # the publishing node is gone: still there

            async def seen_on_a_node_started_after_the_exit():
                session = await connect(after, "ws", "realm1")
                events, _ = await retained_within(session, topic, lambda ev: len(ev) == 1)
                assert events[0].details.publication == published_id
            run(seen_on_a_node_started_after_the_exit())
        finally:
            after.finish()
        text = get_metrics(late)[1]
        assert metric_sum(text, "fastbroker_cluster_retained_mirrored_total") >= 1, text
        lost = [line for line in text.splitlines()
                if line.startswith("fastbroker_cluster_events_lost_total{reason=\"retained") and not line.endswith(" 0")]
        assert lost == [], lost
    finally:
        publishing.finish()
        if late:
            late.finish()


def test_without_jetstream_retained_events_stay_local_and_each_loss_is_counted(tmp_path_factory):
    """NATS without JetStream: no bucket. The node keeps serving retained events to its own
    sessions; each retain it could not hand to the cluster is counted and logged, never silent."""
    import subprocess
    from conftest import free_port
    from test_cluster_routing import NATS_SERVER
    port = free_port()
    proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    node = None
    try:
        node = start_node(tmp_path_factory, f"nats://127.0.0.1:{port}", "rnojs")

        def wait_lost(expected):
            # The writer thread settles each write after its attempt. A retain that arrives while an
            # older one of its topic still waits replaces it (only the newest matters, not a loss),
            # so each publication waits for the previous one's count: exactly one loss per retain.
            deadline = time.monotonic() + 10
            while True:
                text = get_metrics(node)[1]
                lost = [line for line in text.splitlines()
                        if line.startswith('fastbroker_cluster_events_lost_total{reason="retained_write_failed"}')]
                if lost == [f'fastbroker_cluster_events_lost_total{{reason="retained_write_failed"}} {expected}']:
                    return
                assert time.monotonic() < deadline, (expected, lost)
                time.sleep(0.05)

        async def body():
            topic = unique("com.cretain.nojs")
            session = await connect(node, "ws", "realm1")
            for n in range(3):
                await publish(session, topic, "local", n, options=retain())
                await asyncio.get_running_loop().run_in_executor(None, wait_lost, n + 1)
            events, _ = await retained_now(session, topic)
            assert [(e.args, e.details.retained) for e in events] == [(["local", 2], True)]
        run(body())
        assert "retained events bucket unavailable" in node.logs(), node.logs()
        assert "not written to the cluster" in node.logs(), node.logs()
    finally:
        if node:
            node.finish()
        proc.terminate()
        proc.wait(10)


def test_a_node_started_before_nats_shares_retained_events_once_it_is_up(tmp_path_factory):
    """The bucket cannot be bound while NATS is down: the node keeps trying (its first JetStream
    request waits for the connection, later ones retry every second) and, once NATS is up,
    writes and mirrors like the others."""
    from conftest import free_port
    from test_cluster_routing import start_nats, stop_nats
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    early = start_node(tmp_path_factory, url, "rearly")
    proc = late = None
    try:
        proc = start_nats(port, tmp_path_factory.mktemp("nats-retained-late"))
        late = start_node(tmp_path_factory, url, "rlater")

        async def body():
            topic = unique("com.cretain.early")
            on_early = await connect(early, "ws", "realm1")
            on_late = await connect(late, "rs", "realm1")
            start = time.monotonic()
            while True:  # the early node binds the bucket at its next retry (every second)
                published = await publish(on_early, topic, "from-early", options=retain())
                events, _ = await retained_now(on_late, topic)
                if events:
                    break
                assert time.monotonic() - start < 10, "the early node never wrote to the bucket"
                await asyncio.sleep(0.2)
            await retained_within(on_late, topic, lambda ev: [e.details.publication for e in ev] == [published.id])
            mirrored = await publish(on_late, topic, "from-later", options=retain())
            await retained_within(on_early, topic, lambda ev: [e.details.publication for e in ev] == [mirrored.id])
        run(body(), timeout=60)
    finally:
        early.finish()
        if late:
            late.finish()
        if proc:
            stop_nats(proc)
