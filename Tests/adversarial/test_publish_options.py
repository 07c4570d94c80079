# PUBLISH options as an attack surface (issue 9 item 3): repeated option keys used to cost one
# rescan of the whole options dict each (4,000 repeated "exclude": [] froze a loop for seconds),
# and exclude/eligible lists had no length cap. Each attack below is a few publishes of < 64 KiB,
# bounded to a few seconds (the old code took far longer), in JSON and MessagePack, followed by
# the health checks; the 1,000-entry lists must still pick exactly the right subscribers.

import json
import time

import msgpack
import pytest

from conftest import interop_conftest, with_healthy
from rawwire import RawSocketClient, get_metrics, metric_sum
from wampclient import unique

LIMIT = 1000  # limits.max_list_option_entries default
LIMIT_METRIC = 'fastbroker_limit_refusals_total{limit="max_list_option_entries"}'
ATTACK_SECONDS = 5.0  # the whole attack; the old code needed seconds per publish
FAKE_IDS = [2**53 + i for i in range(1, 2 * LIMIT)]  # beyond WAMP ids: never a real session


class MsgpackRawSocketClient(RawSocketClient):
    """RawSocketClient speaking MessagePack (serializer 2 in the RawSocket handshake)."""

    def handshake(self, byte1=0xF2, byte2=0, byte3=0):
        return super().handshake(byte1, byte2, byte3)

    def send_msg(self, msg):
        return self.send_frame(msg if isinstance(msg, (bytes, bytearray)) else msgpack.packb(msg))

    def recv_msg(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            ftype, payload = self.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
            if ftype == 1:
                self.send_frame(payload, ftype=2)
            elif ftype == 0:
                return msgpack.unpackb(payload, raw=False)


CLIENTS = {"json": RawSocketClient, "msgpack": MsgpackRawSocketClient}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    def both_serializers(config):
        for listener in config["listeners"]:
            listener["serializers"] = ["json", "msgpack"]
    b = interop_conftest.make_broker(tmp_path_factory, "publish_options", mutate=both_serializers).start()
    yield b
    b.finish()


def publish_bytes(serializer, request, members, topic, args):
    """A PUBLISH whose options dict has exactly `members` ((key, value) pairs, repeats kept),
    which neither json.dumps nor msgpack.packb of a dict can express."""
    if serializer == "json":
        body = ",".join(f'"{k}":{rawjson(v)}' for k, v in members)
        return f'[16,{request},{{{body}}},"{topic}",{rawjson(args)}]'.encode()
    out = bytearray([0x95]) + msgpack.packb(16) + msgpack.packb(request)  # fixarray of 5
    out += bytes([0xDE]) + len(members).to_bytes(2, "big")  # map16 with the repeats
    for k, v in members:
        out += msgpack.packb(k) + msgpack.packb(v)
    return bytes(out + msgpack.packb(topic) + msgpack.packb(args))


def rawjson(value):
    return json.dumps(value, separators=(",", ":"))


def joined(serializer, broker):
    client = CLIENTS[serializer](broker.rs_port)
    client.hello("realm1")
    return client


def subscribe(client, topic, request=1):
    client.send_msg([32, request, {}, topic])
    reply = client.recv_msg()
    assert reply[:2] == [33, request], reply
    return reply[2]


def expect_only(client, tag, sentinel):
    """The client's next event is `tag`, or (tag None) the sentinel comes first."""
    event = client.recv_msg()
    assert event[0] == 36, event
    if tag is None:
        assert event[4] == [sentinel], f"an event that should have been filtered out arrived: {event!r}"
        return
    assert event[4] == [tag], event
    event = client.recv_msg()
    assert event[0] == 36 and event[4] == [sentinel], event


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_repeated_exclude_keys_are_linear_and_the_last_wins(broker, serializer):
    def attack():
        topic = unique("com.example.repeat")
        with joined(serializer, broker) as publisher, joined("json", broker) as subscriber:
            subscribe(subscriber, topic)
            me = subscriber.welcome[1]
            spam = [("exclude", [])] * 4000
            start = time.monotonic()
            for request in range(1, 6):
                frame = publish_bytes(serializer, request, spam + [("acknowledge", True)], topic, [f"spam{request}"])
                assert len(frame) < interop_conftest.MAX_MESSAGE_BYTES
                publisher.send_msg(frame)
            for request in range(1, 6):
                reply = publisher.recv_msg(timeout=ATTACK_SECONDS)
                assert reply[:2] == [17, request], reply
            # Last key wins: the final exclude names the subscriber; the earlier ones do not count.
            frame = publish_bytes(serializer, 6, spam + [("exclude", [me]), ("acknowledge", True)], topic, ["excluded"])
            publisher.send_msg(frame)
            assert publisher.recv_msg(timeout=ATTACK_SECONDS)[:2] == [17, 6]
            took = time.monotonic() - start
            assert took < ATTACK_SECONDS, f"6 publishes with 4,000 repeated option keys took {took:.1f}s"
            publisher.send_msg([16, 7, {"acknowledge": True}, topic, ["sentinel"]])
            assert publisher.recv_msg()[:2] == [17, 7]
            for request in range(1, 6):
                event = subscriber.recv_msg()
                assert event[0] == 36 and event[4] == [f"spam{request}"], event
            expect_only(subscriber, None, "sentinel")
    with_healthy(broker, attack)


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_list_over_the_limit_is_refused_naming_it(broker, serializer):
    def attack():
        topic = unique("com.example.toolong")
        with joined(serializer, broker) as publisher, joined("json", broker) as subscriber:
            subscribe(subscriber, topic)
            _, text = get_metrics(broker)
            refused_before = metric_sum(text, "fastbroker_limit_refusals_total")
            assert LIMIT_METRIC in text, text
            cases = [("exclude", FAKE_IDS[:LIMIT + 1]), ("eligible", FAKE_IDS[:LIMIT + 1] + [subscriber.welcome[1]]),
                     ("exclude_authid", [f"user{i}" for i in range(LIMIT + 1)]),
                     ("eligible_authrole", ["anonymous"] * (LIMIT + 1))]
            for request, (option, entries) in enumerate(cases, start=1):
                publisher.send_msg([16, request, {"acknowledge": True, option: entries}, topic, ["refused"]])
                reply = publisher.recv_msg()
                assert reply[:3] == [8, 16, request], reply
                assert reply[4] == "fastbroker.error.limit_exceeded", reply
                assert reply[3]["message"] == f"options.{option} has more than {LIMIT} entries (limits.max_list_option_entries)", reply
            # Without acknowledge the refusal is silent, but counted.
            publisher.send_msg([16, 10, {option: entries}, topic, ["refused"]])
            publisher.send_msg([16, 11, {"acknowledge": True}, topic, ["sentinel"]])
            assert publisher.recv_msg()[:2] == [17, 11], "the silent refusal must not answer"
            expect_only(subscriber, None, "sentinel")
            _, text = get_metrics(broker)
            assert metric_sum(text, "fastbroker_limit_refusals_total") == refused_before + len(cases) + 1, text
    with_healthy(broker, attack)


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_thousand_entry_lists_pick_the_right_subscribers(broker, serializer):
    def attack():
        topic = unique("com.example.lists")
        with joined(serializer, broker) as publisher, joined("json", broker) as a, \
                joined("msgpack", broker) as b, joined("json", broker) as c:
            for s in (a, b, c):
                subscribe(s, topic)
            ida, idb, idc = (s.welcome[1] for s in (a, b, c))
            authid_a = a.welcome[2]["authid"]
            publications = [
                # eligible: a and b among 998 others; exclude: b among 999 others → only a.
                ({"eligible": FAKE_IDS[:LIMIT - 2] + [idb, ida], "exclude": [idb] + FAKE_IDS[:LIMIT - 1]}, {"a"}),
                # eligible_authid: only a's authid among 999 others.
                ({"eligible_authid": [f"nobody{i}" for i in range(LIMIT - 1)] + [authid_a]}, {"a"}),
                # exclude: a and c at the end of 1,000 → only b.
                ({"exclude": FAKE_IDS[:LIMIT - 2] + [idc, ida]}, {"b"}),
                # exclude_authrole: 1,000 roles, none theirs → everyone.
                ({"exclude_authrole": [f"role{i}" for i in range(LIMIT)]}, {"a", "b", "c"}),
            ]
            for request, (options, receivers) in enumerate(publications, start=1):
                tag = f"p{request}"
                publisher.send_msg([16, request, dict(options, acknowledge=True), topic, [tag]])
                assert publisher.recv_msg()[:2] == [17, request]
                publisher.send_msg([16, 100 + request, {"acknowledge": True}, topic, ["sentinel"]])
                assert publisher.recv_msg()[:2] == [17, 100 + request]
                for name, s in (("a", a), ("b", b), ("c", c)):
                    expect_only(s, tag if name in receivers else None, "sentinel")
    with_healthy(broker, attack)
