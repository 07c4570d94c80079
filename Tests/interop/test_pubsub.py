# Publish/subscribe through the real broker with Autobahn|Python: payload fidelity across
# transports, acknowledge, publisher exclusion, unsubscribe, shared subscription ids, pattern
# subscriptions, subscriber black/whitelisting, publisher identification and permission
# refusals. SPEC §5.
#
# "Nothing arrives" is checked without sleeping: the negative publication is followed by a
# sentinel publication from the same publisher, and the first event that arrives must be the
# sentinel (a broker delivers one publisher's events to one subscriber in order).

import asyncio
import re

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions

from conftest import ALICE, CAROL, DAVE, SECURE_REALM
from wampclient import Inbox, ack, connect, publish, run, strict_equal, unique

MAX_ID = 2**53

# Values whose JSON form a re-encoding or lossy broker would change.
TRICKY_ARGS = [
    "plain ascii",
    "unicode: héllo wörld ñ 中文 العربية",
    "astral: 😀🎉𝄞 and a family 👨‍👩‍👧",
    'escapes: quote " backslash \\ slash / newline \n tab \t cr \r bell \u0007 nul-in-middle \u0000 end',
    "line separators \u2028 \u2029 and BOM \ufeff",
    "",
    2**53,
    -(2**53),
    2**53 - 1,
    0,
    -1,
    0.1,
    1e300,
    -1e-300,
    -0.0,
    1.0,
    123456789.125,
    True,
    False,
    None,
    [],
    {},
    [[], [[]], {"a": [{}]}],
    {"nested": {"deeper": {"list": [1, 2.5, "three", None, True, {"k": "v"}]}}},
    {"emoji-key-😀": "value", "": "empty key", "quote\"key": 1},
]
TRICKY_KWARGS = {
    "text": "Grüße 😀 \u0001",
    "big": 2**53,
    "neg": -(2**53),
    "float": 0.1,
    "huge": 1e300,
    "negzero": -0.0,
    "list": [1, [2, [3, [4]]]],
    "empty_list": [],
    "empty_dict": {},
    "flags": [True, False, None],
    "unicode_ключ": "значение",
}


def assert_payload(received, expected, what):
    assert strict_equal(received, expected), f"{what} changed in transit:\n  sent {expected!r}\n  got  {received!r}"


@pytest.mark.parametrize("pub_transport,sub_transport", [("ws", "rs"), ("rs", "ws"), ("ws", "ws"), ("rs", "rs")])
def test_payload_preserved_exactly(broker, pub_transport, sub_transport):
    async def body():
        topic = unique("com.example.payload")
        sub = await connect(broker, sub_transport, "realm1")
        pub = await connect(broker, pub_transport, "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(topic)
        p = await publish(pub, topic, *TRICKY_ARGS, options=ack(), **TRICKY_KWARGS)
        ev = await inbox.get()
        assert ev.details.publication == p.id
        raw = inbox.raw(ev)
        # Decoded by Python's json module, independent of Autobahn:
        assert len(raw) == 6, raw
        assert_payload(raw[4], TRICKY_ARGS, "args")
        assert_payload(raw[5], TRICKY_KWARGS, "kwargs")
        # And as Autobahn delivers them to the handler:
        assert_payload(ev.args, TRICKY_ARGS, "args (Autobahn)")
        assert_payload(ev.kwargs, TRICKY_KWARGS, "kwargs (Autobahn)")
    run(body())


def test_kwargs_only_publication(broker):
    async def body():
        topic = unique("com.example.kwonly")
        sub = await connect(broker, "rs", "realm1")
        pub = await connect(broker, "ws", "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(topic)
        await publish(pub, topic, options=ack(), only="kwargs", n=2**53)
        ev = await inbox.get()
        raw = inbox.raw(ev)
        # Autobahn sends [16, req, opts, topic, [], {...}]; the EVENT carries the same.
        sent = [m for m in pub.recorder.sent if m[0] == 16][-1]
        assert raw[4:] == sent[4:], (raw, sent)
        assert ev.args == [] and ev.kwargs == {"only": "kwargs", "n": 2**53}
    run(body())


def test_no_payload_publication_has_no_args(broker):
    async def body():
        topic = unique("com.example.nopayload")
        sub = await connect(broker, "ws", "realm1")
        pub = await connect(broker, "rs", "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(topic)
        await publish(pub, topic, options=ack())
        sent = [m for m in pub.recorder.sent if m[0] == 16][-1]
        assert len(sent) == 4, f"Autobahn sent a payload after all: {sent}"
        ev = await inbox.get()
        raw = inbox.raw(ev)
        assert len(raw) == 4, f"EVENT for a publication without payload must omit args/kwargs: {raw}"
        assert ev.args == [] and ev.kwargs == {}
    run(body())


@pytest.mark.parametrize("transport", ["ws", "rs"])
def test_acknowledge_and_publication_ids(broker, transport):
    async def body():
        topic = unique("com.example.ack")
        sub = await connect(broker, "rs", "realm1")
        pub = await connect(broker, transport, "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(topic)
        ids = []
        for i in range(8):
            p = await publish(pub, topic, i, options=ack())
            assert type(p.id) is int and 1 <= p.id <= MAX_ID, p.id
            ev = await inbox.get()
            assert ev.args == [i] and ev.details.publication == p.id
            ids.append(p.id)
        assert len(set(ids)) == len(ids)
        # Random over [1, 2^53] (SPEC §4): 8 draws all below 2^32 has probability 2^-168.
        assert max(ids) > 2**32, f"publication ids do not look random: {ids}"
        published = pub.recorder.received_of(17)
        assert [m[2] for m in published] == ids
        reqs = [m[1] for m in pub.recorder.sent if m[0] == 16]
        assert [m[1] for m in published] == reqs, "PUBLISHED must echo the request id"
    run(body())


def test_no_acknowledge_no_reply(broker):
    async def body():
        topic = unique("com.example.noack")
        sub = await connect(broker, "ws", "realm1")
        pub = await connect(broker, "ws", "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(topic)
        assert pub.publish(topic, "quiet") is None
        assert pub.publish(topic, "quiet2", options=PublishOptions(acknowledge=False)) is None
        await publish(pub, topic, "sentinel", options=ack())
        before = await inbox.until("sentinel")
        assert [e.args for e in before] == [["quiet"], ["quiet2"]]
        replies = [m for m in pub.recorder.received if m[0] != 2]
        assert [m[0] for m in replies] == [17], f"only the acknowledged publish gets a reply: {replies}"
    run(body())


def test_publisher_exclusion(broker):
    async def body():
        topic = unique("com.example.excl")
        s = await connect(broker, "rs", "realm1")
        other = await connect(broker, "ws", "realm1")
        mine, theirs = Inbox(s), Inbox(other)
        await mine.subscribe(topic)
        await theirs.subscribe(topic)
        await publish(s, topic, "default", options=ack())
        await publish(s, topic, "explicit-true", options=PublishOptions(acknowledge=True, exclude_me=True))
        await publish(s, topic, "to-self", options=PublishOptions(acknowledge=True, exclude_me=False))
        assert [e.args for e in (await theirs.get(), await theirs.get(), await theirs.get())] == \
            [["default"], ["explicit-true"], ["to-self"]]
        first = await mine.get()
        assert first.args == ["to-self"], f"publisher received its own excluded event: {first}"
    run(body())


def test_unsubscribe_stops_events(broker):
    async def body():
        topic, sentinel_topic = unique("com.example.unsub"), unique("com.example.unsub.sentinel")
        sub = await connect(broker, "ws", "realm1")
        pub = await connect(broker, "rs", "realm1")
        inbox = Inbox(sub)
        subscription = await inbox.subscribe(topic)
        await inbox.subscribe(sentinel_topic)
        await publish(pub, topic, "while-subscribed")
        assert (await inbox.get()).args == ["while-subscribed"]
        await asyncio.wait_for(subscription.unsubscribe(), 3)
        unsubscribed = sub.recorder.received_of(35)
        assert len(unsubscribed) == 1 and unsubscribed[0][1] == [m for m in sub.recorder.sent if m[0] == 34][0][1]
        await publish(pub, topic, "after-unsubscribe")
        await publish(pub, sentinel_topic, "sentinel")
        assert await inbox.until("sentinel") == []
    run(body())


def test_unsubscribe_unknown_subscription(broker):
    from rawwire import RawSocketClient

    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.hello("realm1")
            c.send_msg([34, 77, 4242424242])
            reply = c.recv_msg()
            assert reply[:3] == [8, 34, 77] and reply[4] == "wamp.error.no_such_subscription", reply
            assert isinstance(reply[3], dict)
            # The session is still usable.
            c.send_msg([32, 78, {}, "com.example.after"])
            assert c.recv_msg()[:2] == [33, 78]
    run(asyncio.to_thread(raw))


def test_subscription_ids_shared(broker):
    async def body():
        topic = unique("com.example.shared")
        a = await connect(broker, "ws", "realm1")
        b = await connect(broker, "rs", "realm1")
        pub = await connect(broker, "ws", "realm1")
        ia, ib = Inbox(a), Inbox(b)
        sa = await ia.subscribe(topic)
        sb = await ib.subscribe(topic)
        assert sa.id == sb.id, "identical subscriptions of two sessions must share one id"
        sa2 = await ia.subscribe(topic)
        assert sa2.id == sa.id, "a session subscribing twice identically must get the same id"
        other = await ia.subscribe(topic, match="prefix")
        assert other.id != sa.id, "a different match policy is a different subscription"
        await publish(pub, topic, "x")
        await publish(pub, topic, "y")
        ev_b = [await ib.get(), await ib.get()]
        assert [e.args for e in ev_b] == [["x"], ["y"]]
        assert ev_b[0].details.subscription.id == sb.id
        # Session a holds the exact subscription (subscribed twice, one id) and the prefix one:
        # the broker sends each event once per subscription id, not once per SUBSCRIBE.
        for _ in range(100):
            if len([m for m in a.recorder.received_of(36) if m[4:5] == [["y"]]]) >= 2:
                break
            await asyncio.sleep(0.02)
        x_events = [m for m in a.recorder.received_of(36) if m[4:5] == [["x"]]]
        assert sorted(m[1] for m in x_events) == sorted([sa.id, other.id]), x_events
    run(body())


def test_pattern_subscriptions(broker):
    async def body():
        base = unique("com.example.pat")
        sub = await connect(broker, "rs", "realm1")
        pub = await connect(broker, "ws", "realm1")
        prefix, wildcard, exact = Inbox(sub), Inbox(sub), Inbox(sub)
        await prefix.subscribe(base + ".", match="prefix")
        await wildcard.subscribe(base + "..reading", match="wildcard")
        await exact.subscribe(base + ".room1.reading")

        await publish(pub, base + ".room1.reading", 1)          # all three
        await publish(pub, base + ".room2.reading", 2)          # prefix + wildcard
        await publish(pub, base + ".room1.reading.extra", 3)    # prefix only (wildcard = whole components)
        await publish(pub, base + "x.room1.reading", 4)         # none: "…patx" is not "…pat."
        await publish(pub, base + ".a.b.reading", 5)            # prefix only (one component per empty slot)
        await publish(pub, base + ".room1.reading", "end")      # sentinel (matches all three)

        p_events = await prefix.until("end")
        w_events = await wildcard.until("end")
        e_events = await exact.until("end")
        # Each Inbox has its own queue and handler, so it sees only its subscription's events.
        assert [e.args[0] for e in p_events] == [1, 2, 3, 5], p_events
        assert [e.args[0] for e in w_events] == [1, 2], w_events
        assert [e.args[0] for e in e_events] == [1], e_events
        topics = {1: ".room1.reading", 2: ".room2.reading", 3: ".room1.reading.extra", 5: ".a.b.reading"}
        for e in p_events + w_events:
            assert e.details.topic == base + topics[e.args[0]], f"details.topic wrong for {e}"
        for e in p_events + w_events:
            raw = [m for m in sub.recorder.received_of(36) if m[2] == e.details.publication and m[1] == e.details.subscription.id][0]
            assert raw[3].get("topic") == base + topics[e.args[0]], raw
    run(body())


async def _bw_setup(broker):
    """On the secure realm: publisher alice (role user); subscribers dave, carol (role user)
    and an anonymous guest; all on one public topic."""
    topic = unique("com.example.public.bw")
    pub = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
    subs = {
        "dave": await connect(broker, "rs", SECURE_REALM, authid=DAVE[0], secret=DAVE[1]),
        "carol": await connect(broker, "ws", SECURE_REALM, authid=CAROL[0], secret=CAROL[1]),
        "guest": await connect(broker, "rs", SECURE_REALM),
    }
    inboxes = {}
    for name, s in subs.items():
        inboxes[name] = Inbox(s)
        await inboxes[name].subscribe(topic)
    return topic, pub, subs, inboxes


def test_black_and_white_listing(broker):
    async def body():
        topic, pub, subs, inboxes = await _bw_setup(broker)
        sid = {name: s.session_id for name, s in subs.items()}
        cases = [
            ("exclude", {"exclude": [sid["dave"]]}, {"carol", "guest"}),
            ("eligible", {"eligible": [sid["carol"]]}, {"carol"}),
            ("exclude_authid", {"exclude_authid": ["carol"]}, {"dave", "guest"}),
            ("eligible_authid", {"eligible_authid": ["dave"]}, {"dave"}),
            ("exclude_authrole", {"exclude_authrole": ["guest"]}, {"dave", "carol"}),
            ("eligible_authrole", {"eligible_authrole": ["guest"]}, {"guest"}),
            ("eligible+exclude", {"eligible": [sid["dave"], sid["carol"]], "exclude": [sid["carol"]]}, {"dave"}),
            ("authrole+authid", {"eligible_authrole": ["user"], "exclude_authid": ["dave"]}, {"carol"}),
            ("eligible-empty-match", {"eligible_authid": ["nobody"]}, set()),
            ("two-excludes", {"exclude": [sid["guest"]], "exclude_authid": ["carol"]}, {"dave"}),
        ]
        for name, opts, _ in cases:
            await publish(pub, topic, name, options=PublishOptions(acknowledge=True, **opts))
        await publish(pub, topic, "sentinel")
        for who, inbox in inboxes.items():
            got = [e.args[0] for e in await inbox.until("sentinel")]
            expected = [name for name, _, receivers in cases if who in receivers]
            assert got == expected, f"{who} received {got}, expected {expected}"
    run(body())


def test_publisher_identification(broker):
    async def body():
        topic, pub, subs, inboxes = await _bw_setup(broker)
        # Autobahn 26.10 has no disclose_me in PublishOptions: add it on the wire.
        def disclose(msg):
            if msg[0] == 16 and msg[4:5] == [["disclosed"]]:
                msg[2]["disclose_me"] = True
        pub.recorder.rewrite_outgoing = disclose
        await publish(pub, topic, "disclosed")
        await publish(pub, topic, "anonymous")
        for who, inbox in inboxes.items():
            e1, e2 = await inbox.get(), await inbox.get()
            assert e1.args == ["disclosed"] and e2.args == ["anonymous"]
            d1 = inbox.raw(e1)[3]
            assert d1.get("publisher") == pub.session_id, (who, d1)
            assert d1.get("publisher_authid") == ALICE[0], (who, d1)
            assert d1.get("publisher_authrole") == "user", (who, d1)
            assert e1.details.publisher == pub.session_id
            d2 = inbox.raw(e2)[3]
            assert not ({"publisher", "publisher_authid", "publisher_authrole"} & set(d2)), \
                f"publisher disclosed without disclose_me: {d2}"
    run(body())


def test_guest_publish_refused(broker):
    async def body():
        guest = await connect(broker, "ws", SECURE_REALM)
        user = await connect(broker, "rs", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        topic = unique("com.example.public.guestpub")
        inbox = Inbox(user)
        await inbox.subscribe(topic)
        with pytest.raises(ApplicationError) as info:
            await publish(guest, topic, "from-guest", options=ack())
        assert info.value.error == "wamp.error.not_authorized"
        err = guest.recorder.received_of(8)[-1]
        assert err[:3] == [8, 16, [m for m in guest.recorder.sent if m[0] == 16][-1][1]], err
        # Without acknowledge the refusal is silent, and nothing is delivered either way.
        assert guest.publish(topic, "silent-refusal") is None
        await publish(user, topic, "sentinel", options=PublishOptions(acknowledge=True, exclude_me=False))
        assert await inbox.until("sentinel") == []
        assert guest.recorder.received_of(8) == [err], "a refused publish without acknowledge must be silent"
        # The guest session survives the refusals.
        sub = await Inbox(guest).subscribe(unique("com.example.public.still"))
        assert sub.id >= 1
    run(body())


def test_subscribe_refused_outside_role(broker):
    async def body():
        guest = await connect(broker, "rs", SECURE_REALM)
        alice = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        for session, topic in ((guest, "com.example.private.x"), (guest, "org.other.public"),
                               (alice, "org.example.x")):
            with pytest.raises(ApplicationError) as info:
                await Inbox(session).subscribe(topic)
            assert info.value.error == "wamp.error.not_authorized", (topic, info.value)
            err = session.recorder.received_of(8)[-1]
            assert err[1] == 32 and isinstance(err[3].get("message"), str), err
        # Allowed ones still work.
        assert (await Inbox(guest).subscribe("com.example.public.ok")).id >= 1
        assert (await Inbox(alice).subscribe("com.example.anything")).id >= 1
    run(body())


def test_user_publish_outside_role_refused(broker):
    async def body():
        alice = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        with pytest.raises(ApplicationError) as info:
            await publish(alice, "org.other.topic", 1, options=ack())
        assert info.value.error == "wamp.error.not_authorized"
    run(body())


def test_invalid_uri_refused(broker):
    from rawwire import RawSocketClient

    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.hello("realm1")
            req = 10
            for topic in ("com.example.bad uri", "com..example", "com.example.", ".com.example", "", "com.#.x"):
                req += 1
                c.send_msg([16, req, {"acknowledge": True}, topic, ["x"]])
                reply = c.recv_msg()
                assert reply[:3] == [8, 16, req] and reply[4] == "wamp.error.invalid_uri", (topic, reply)
                req += 1
                c.send_msg([32, req, {}, topic])
                reply = c.recv_msg()
                assert reply[:3] == [8, 32, req] and reply[4] == "wamp.error.invalid_uri", (topic, reply)
            # Without acknowledge: silent; the session stays usable.
            c.send_msg([16, 99, {}, "com.example.bad uri", ["x"]])
            c.send_msg([32, 100, {}, "com.example.good"])
            assert c.recv_msg()[:2] == [33, 100]
    run(asyncio.to_thread(raw))


def test_many_subscribers_get_identical_event_bytes(broker):
    """All subscribers of one subscription get the same EVENT (SPEC §5: encoded once per
    subscription); checked on the raw RawSocket bytes of 60 subscribers."""
    from rawwire import RawSocketClient
    topic = unique("com.example.fanout")

    def subscribers():
        clients = []
        for _ in range(60):
            c = RawSocketClient(broker.rs_port)
            c.hello("realm1")
            c.send_msg([32, 1, {}, topic])
            reply = c.recv_msg()
            assert reply[0] == 33
            clients.append((c, reply[2]))
        assert len({sid for _, sid in clients}) == 1, "identical subscriptions must share one id"
        return clients

    def frames(clients):
        out = []
        for c, _ in clients:
            ftype, payload = c.recv_frame()
            assert ftype == 0
            out.append(payload)
            c.close()
        return out

    async def body():
        clients = await asyncio.to_thread(subscribers)
        pub = await connect(broker, "ws", "realm1")
        p = await publish(pub, topic, "fan", {"out": [1, 2.5, "ü"]}, options=ack(), k=-0.0)
        payloads = await asyncio.to_thread(frames, clients)
        assert len(set(payloads)) == 1, "subscribers of one subscription got different EVENT bytes"
        import json as _json
        ev = _json.loads(payloads[0])
        assert ev[:3] == [36, clients[0][1], p.id]
        assert strict_equal(ev[4:], [["fan", {"out": [1, 2.5, "ü"]}], {"k": -0.0}]), ev
    run(body())


def test_unicode_topic_uri(broker):
    async def body():
        topic = unique("com.example.ünïcödé.主题")
        sub = await connect(broker, "rs", "realm1")
        pub = await connect(broker, "ws", "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(topic)
        await publish(pub, topic, "😀")
        ev = await inbox.get()
        assert ev.args == ["😀"]
    run(body())


def test_anonymous_sessions_get_distinct_authids_usable_in_exclude_authid(broker):
    async def body():
        topic = unique("com.example.anonids")
        a = await connect(broker, "ws", "realm1")
        b = await connect(broker, "rs", "realm1")
        ida, idb = a.welcome()[2]["authid"], b.welcome()[2]["authid"]
        assert ida != idb and re.fullmatch(r"([A-Z2-9]{4}-){5}[A-Z2-9]{4}", ida), (ida, idb)
        got_a, got_b = Inbox(a), Inbox(b)
        await got_a.subscribe(topic)
        await got_b.subscribe(topic)
        pub = await connect(broker, "ws", "realm1")
        await publish(pub, topic, "x", options=PublishOptions(acknowledge=True, exclude_authid=[ida]))
        await publish(pub, topic, "end")
        assert [e.args for e in await got_a.until("end")] == []
        assert [e.args for e in await got_b.until("end")] == [["x"]]
    run(body())
