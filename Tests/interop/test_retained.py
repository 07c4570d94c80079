# Event retention end to end with Autobahn|Python (SPEC §5): PUBLISH `retain=True`, SUBSCRIBE
# `get_retained=True`. The retained EVENT arrives after SUBSCRIBED with `"retained": true` in its
# raw details and the publication id the publisher's PUBLISHED carried, before any later live
# event; prefix and wildcard subscriptions get every matching topic's latest retained event,
# filters and eligible lists apply; an empty retained PUBLISH clears the topic; the payload
# reaches JSON, MessagePack and CBOR subscribers exactly whatever the publisher's serializer;
# with two loops the publisher and the subscriber sit on different loops (the store is per realm,
# shared by the loops).

import asyncio
import sys
from pathlib import Path

import pytest
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from conftest import make_broker
from loop_placement import connect_on_loop
from test_serializers import join, same
from wampclient import Inbox, connect, publish, run, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions  # noqa: E402


def retain(**options):
    return PublishOptions(acknowledge=True, retain=True, **options)


@pytest.fixture(scope="module")
def broker2(tmp_path_factory):
    """Two loops, every serializer on both listeners."""
    def configure(config):
        config["loops"] = 2
        for listener in config["listeners"]:
            del listener["serializers"]
    b = make_broker(tmp_path_factory, "retained", mutate=configure).start()
    yield b
    b.finish()


def test_retained_event_after_subscribed_then_live_events(broker):
    async def body():
        topic = unique("com.example.retained")
        pub = await connect(broker, "ws", "realm1")
        await publish(pub, topic, "old", options=retain())
        latest = await publish(pub, topic, "latest", n=1, options=retain())
        sub = await connect(broker, "rs", "realm1")
        inbox = Inbox(sub)
        subscription = await inbox.subscribe(topic, get_retained=True)
        first = await inbox.get()
        assert (first.args, first.kwargs) == (["latest"], {"n": 1})
        assert first.details.retained is True
        assert first.details.publication == latest.id
        raw = inbox.raw(first)
        assert raw[:3] == [36, subscription.id, latest.id] and raw[3] == {"retained": True}, raw
        live = await publish(pub, topic, "live")
        second = await inbox.get()
        assert second.args == ["live"] and second.details.publication == live.id
        assert not second.details.retained
        # Without get_retained nothing retained comes: a live sentinel is the first event.
        plain = Inbox(await connect(broker, "ws", "realm1"))
        await plain.subscribe(topic)
        await publish(pub, topic, "sentinel")
        assert (await plain.get()).args == ["sentinel"]
    run(body())


def test_patterns_filters_and_eligible_lists(broker):
    async def body():
        base = unique("com.example.retained")
        pub = await connect(broker, "ws", "realm1")
        sub = await connect(broker, "ws", "realm1")
        a = await publish(pub, f"{base}.x.a", n=1, options=retain())
        b = await publish(pub, f"{base}.y.a", n=5, options=retain())
        c = await publish(pub, f"{base}.x.b", n=9, options=retain())
        await publish(pub, f"{base}.z.a", n=7, options=retain(eligible=[pub.session_id]))

        async def retained_of(topic, match, **options):
            inbox = Inbox(sub)
            await sub.subscribe(inbox.handler, topic, options=FastBrokerSubscribeOptions(
                match=match, get_retained=True, details_arg="details", **options))
            await publish(pub, topic if match == "exact" else f"{base}.x.a", "sentinel", n=100,   # passes the filter too
                          options=PublishOptions(acknowledge=True))
            events = await inbox.until("sentinel")
            assert all(e.details.retained is True for e in events)
            return sorted((e.details.topic, e.kwargs["n"], e.details.publication) for e in events)

        assert await retained_of(f"{base}..a", "wildcard") == sorted(
            [(f"{base}.x.a", 1, a.id), (f"{base}.y.a", 5, b.id)])
        assert await retained_of(f"{base}.", "prefix") == sorted(
            [(f"{base}.x.a", 1, a.id), (f"{base}.y.a", 5, b.id), (f"{base}.x.b", 9, c.id)])
        filtered = await retained_of(f"{base}.", "prefix", filter="n > :v", filter_values={":v": 3})
        assert sorted(n for _, n, _ in filtered) == [5, 9], filtered
    run(body())


def test_empty_retained_publish_clears_the_topic(broker):
    async def body():
        topic = unique("com.example.retained")
        pub = await connect(broker, "ws", "realm1")
        await publish(pub, topic, "kept", options=retain())
        await publish(pub, topic, options=retain())
        inbox = Inbox(await connect(broker, "rs", "realm1"))
        await inbox.subscribe(topic, get_retained=True)
        await publish(pub, topic, "sentinel")
        assert (await inbox.get()).args == ["sentinel"]
    run(body())


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
def test_retained_payload_reaches_every_serializer_exactly(broker2, serializer):
    async def body():
        topic = unique("com.example.retained.cross")
        args = [1, -(2**63), 2**64 - 1, 1.5, "é", None, True, [{"k": b"\x00\xff"}]]
        pub = await join(broker2, "ws", serializer)
        await pub.publish(topic, *args, bin=b"\x01\x02", options=retain())
        for transport, target in [("ws", "json"), ("rs", "msgpack"), ("ws", "cbor")]:
            sub = await join(broker2, transport, target)
            got = asyncio.get_running_loop().create_future()
            await sub.subscribe(lambda *a, details, **kw: got.set_result((list(a), kw, details)), topic,
                                options=SubscribeOptions(get_retained=True, details_arg="details"))
            received, kwargs, details = await asyncio.wait_for(got, 3)
            assert same(received, args), f"{serializer} → {target}: {received!r}"
            assert same(kwargs, {"bin": b"\x01\x02"}) and details.retained is True
            sub.leave()
        pub.leave()
    run(body())


@pytest.mark.parametrize("publisher_loop", [0, 1])
def test_retained_across_loops(broker2, publisher_loop):
    async def body():
        topic = unique("com.example.retained.loops")
        pub = await connect_on_loop(broker2, publisher_loop)
        sub = await connect_on_loop(broker2, 1 - publisher_loop)
        published = await publish(pub, topic, "from-the-other-loop", options=retain())
        inbox = Inbox(sub)
        await inbox.subscribe(topic, get_retained=True)
        event = await inbox.get()
        assert event.args == ["from-the-other-loop"] and event.details.publication == published.id
        assert event.details.retained is True
        live = await publish(pub, topic, "live")
        after = await inbox.get()
        assert after.args == ["live"] and after.details.publication == live.id
    run(body())


def test_welcome_announces_event_retention(broker):
    async def body():
        session = await connect(broker, "ws", "realm1")
        welcome = session.welcome()
        assert welcome[2]["roles"]["broker"]["features"]["event_retention"] is True
    run(body())
