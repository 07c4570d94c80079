# URI size and spelling (issue 9, items 1 and 6). A 300,000-byte prefix pattern, a wildcard
# pattern of 300,000 empty components or a PUBLISH to a 300,000-component topic used to overflow
# the stack of the subscription index; limits.max_uri_bytes now refuses them with
# wamp.error.invalid_uri naming the limit, and the index no longer recurses anyway. Canonically
# equivalent spellings ("caf\u00e9", "cafe\u0301") are different URIs: different subscriptions,
# different groups, each receiving only its own events.

import json

from conftest import assert_healthy
from rawwire import RawSocketClient, get_metrics, metric_sum

HUGE = 300_000
DEFAULT_MAX_URI_BYTES = 1024
NFC = "com.example.caf\u00e9"
NFD = "com.example.cafe\u0301"


def big_messages(cfg):
    cfg["limits"]["max_message_bytes"] = 1 << 20   # room for 300 KB URIs in one message


def client(broker):
    c = RawSocketClient(broker.rs_port, timeout=3.0)
    c.hello()
    return c


def assert_invalid_uri(reply, request_type, request, length, limit=DEFAULT_MAX_URI_BYTES):
    assert reply[:3] == [8, request_type, request] and reply[4] == "wamp.error.invalid_uri", reply
    message = reply[3].get("message", "")
    assert "max_uri_bytes" in message and str(length) in message and str(limit) in message, reply


def subscribed(c, request, topic, options=None):
    c.send_msg([32, request, options or {}, topic])
    reply = c.recv_msg()
    assert reply[:2] == [33, request], reply
    return reply[2]


def published(c, request, topic, *args):
    c.send_msg([16, request, {"acknowledge": True}, topic, list(args)])
    reply = c.recv_msg()
    assert reply[:2] == [17, request], reply
    return reply[2]


def next_event(c):
    msg = c.recv_msg()
    assert msg[0] == 36, msg
    return msg


def test_huge_patterns_are_refused_and_the_session_goes_on(fresh_broker):
    broker = fresh_broker(big_messages)
    prefix = "com." + "a" * (HUGE - 4)
    wildcard = "." * (HUGE - 1)   # 300,000 empty components
    with client(broker) as c:
        c.send_msg([32, 1, {"match": "prefix"}, prefix])
        assert_invalid_uri(c.recv_msg(), 32, 1, HUGE)
        c.send_msg([32, 2, {"match": "wildcard"}, wildcard])
        assert_invalid_uri(c.recv_msg(), 32, 2, HUGE - 1)
        # Nothing was half-subscribed: the session works, and leaving it tears nothing down wrong.
        sub = subscribed(c, 3, "com.example.after")
        c.send_msg([34, 4, sub])
        assert c.recv_msg() == [35, 4]
    assert_healthy(broker)


def test_publish_to_a_huge_topic_while_a_wildcard_pattern_exists(fresh_broker):
    broker = fresh_broker(big_messages)
    topic = ".".join(["x"] * (HUGE // 2))   # 150,000 components, 299,999 bytes
    with client(broker) as sub, client(broker) as pub:
        subscribed(sub, 1, "com..x", {"match": "wildcard"})
        pub.send_msg([16, 1, {"acknowledge": True}, topic, ["ack"]])
        assert_invalid_uri(pub.recv_msg(), 16, 1, len(topic))
        # Without acknowledge the refusal is silent but counted; the sentinel's PUBLISHED is the
        # next reply, so no ERROR came for the silent one.
        _, before = get_metrics(broker)
        pub.send_msg([16, 2, {}, topic, ["silent"]])
        published(pub, 3, "com.example.x", "sentinel")
        _, after = get_metrics(broker)
        refused = "fastbroker_publications_refused_total"
        assert metric_sum(after, refused) == metric_sum(before, refused) + 1
        event = next_event(sub)
        assert event[4] == ["sentinel"], event
    assert_healthy(broker)


def test_a_uri_of_exactly_max_uri_bytes_is_accepted(broker):
    exact = "com.example." + "x" * (DEFAULT_MAX_URI_BYTES - len("com.example."))
    over = exact + "y"
    assert len(exact.encode()) == DEFAULT_MAX_URI_BYTES
    with client(broker) as sub, client(broker) as pub:
        sid = subscribed(sub, 1, exact)
        subscribed(sub, 2, exact[:-1], {"match": "prefix"})
        sub.send_msg([32, 3, {"match": "prefix"}, over])
        assert_invalid_uri(sub.recv_msg(), 32, 3, DEFAULT_MAX_URI_BYTES + 1)
        # Multi-byte characters count as their UTF-8 bytes: 1023 + 2 > 1024.
        sub.send_msg([32, 4, {}, exact[:-1] + "\u00e9"])
        assert_invalid_uri(sub.recv_msg(), 32, 4, DEFAULT_MAX_URI_BYTES + 1)
        pub.send_msg([16, 1, {"acknowledge": True}, over, []])
        assert_invalid_uri(pub.recv_msg(), 16, 1, DEFAULT_MAX_URI_BYTES + 1)
        pid = published(pub, 2, exact, "at the limit")
        received = {next_event(sub)[1] for _ in range(2)}
        assert sid in received and len(received) == 2, received
        assert pid
    assert_healthy(broker)


def test_canonically_equivalent_topics_are_different_subscriptions(broker):
    with client(broker) as a, client(broker) as b, client(broker) as pub:
        a_id = subscribed(a, 1, NFC)
        b_id = subscribed(b, 1, NFD)
        assert a_id != b_id, "canonically equivalent topics got one subscription"
        published(pub, 1, NFD, "nfd-1")
        published(pub, 2, NFC, "nfc-1")
        published(pub, 3, NFD, "nfd-2")
        published(pub, 4, NFC, "nfc-2")
        # Each publisher's events arrive in order, so a subscriber's next event after one of its
        # own proves it got nothing of the other spelling in between.
        assert [(e[1], e[4]) for e in (next_event(a), next_event(a))] == [(a_id, ["nfc-1"]), (a_id, ["nfc-2"])]
        assert [(e[1], e[4]) for e in (next_event(b), next_event(b))] == [(b_id, ["nfd-1"]), (b_id, ["nfd-2"])]
    assert_healthy(broker)


def test_canonically_equivalent_group_names_are_different_groups(broker):
    topic = "com.example.groups.nfc"
    with client(broker) as a, client(broker) as b, client(broker) as pub:
        a_id = subscribed(a, 1, topic, {"type": "shared", "group": "caf\u00e9"})
        b_id = subscribed(b, 1, topic, {"type": "shared", "group": "cafe\u0301"})
        assert a_id != b_id
        # Two groups: each member gets every event (one group of two would share them out).
        for i in range(2):
            published(pub, i + 1, topic, i)
        for member, sid in ((a, a_id), (b, b_id)):
            assert [(e[1], e[4]) for e in (next_event(member), next_event(member))] == [(sid, [0]), (sid, [1])]
    assert_healthy(broker)


def test_topics_in_messages_keep_their_bytes(broker):
    """The raw JSON escapes are decoded to distinct byte strings end to end (EVENT details of a
    prefix subscription carry the publication's own spelling)."""
    with client(broker) as a, client(broker) as pub:
        subscribed(a, 1, "com.example.caf", {"match": "prefix"})
        for i, topic in enumerate((NFC, NFD)):
            published(pub, i + 1, topic, i)
        topics = [next_event(a)[3]["topic"] for _ in range(2)]
        assert [t.encode() for t in topics] == [NFC.encode(), NFD.encode()], json.dumps(topics)
    assert_healthy(broker)


def test_filters_with_canonically_equivalent_constants_are_different_subscriptions(broker):
    """A guard rather than a regression test: fingerprints render constants as escaped ASCII,
    so they already differed; subscription keys now compare them as bytes regardless."""
    topic = "com.example.filters.nfc"
    nfc, nfd = "caf\u00e9", "cafe\u0301"

    def options(value):
        return {"filter": "s = :v", "filter_values": {":v": value}}

    with client(broker) as a, client(broker) as b, client(broker) as pub:
        a_id = subscribed(a, 1, topic, options(nfc))
        b_id = subscribed(b, 1, topic, options(nfd))
        assert a_id != b_id, "filters differing in their constants' bytes got one subscription"
        for i, (s, tag) in enumerate([(nfd, "nfd-1"), (nfc, "nfc-1"), (nfd, "nfd-2"), (nfc, "nfc-2")]):
            pub.send_msg([16, i + 1, {"acknowledge": True}, topic, [tag], {"s": s}])
            assert pub.recv_msg()[:2] == [17, i + 1]
        assert [(e[1], e[4]) for e in (next_event(a), next_event(a))] == [(a_id, ["nfc-1"]), (a_id, ["nfc-2"])]
        assert [(e[1], e[4]) for e in (next_event(b), next_event(b))] == [(b_id, ["nfd-1"]), (b_id, ["nfd-2"])]
    assert_healthy(broker)
