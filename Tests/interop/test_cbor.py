# wamp.2.cbor end to end: the xconn client with its defaults (CBOR) and Autobahn|Python with
# CBORSerializer connect, subscribe and publish over WebSocket and RawSocket on listeners that name
# no serializers (the default offers all three); the 3×3 cross-serializer matrix (JSON, MessagePack,
# CBOR on both transports, subscribers on both loops) checks values exactly, binary included; a
# filter runs on a CBOR publication's kwargs with filter_values sent in CBOR; malformed CBOR gets an
# ABORT naming what was wrong.

import asyncio
import threading

import cbor2
import pytest
from autobahn.wamp.types import PublishOptions
from xconn.client import connect_anonymous

import txaio
from conftest import make_broker
from rawwire import RawSocketClient, RawWebSocketClient
from test_serializers import VALUES, join, same
from wampclient import run, unique

txaio.use_asyncio()  # xconn's import leaves txaio without a framework

COMBOS = [(t, s) for t in ("ws", "rs") for s in ("json", "msgpack", "cbor")]


@pytest.fixture(scope="module")
def broker3(tmp_path_factory):
    def default_serializers(config):
        config["loops"] = 2
        for listener in config["listeners"]:
            del listener["serializers"]  # the default: json, msgpack and cbor
    b = make_broker(tmp_path_factory, "cbor", mutate=default_serializers).start()
    yield b
    b.finish()


@pytest.mark.parametrize("publisher", COMBOS, ids=lambda c: f"pub-{c[0]}-{c[1]}")
def test_cross_serializer_matrix_3x3_preserves_values(broker3, publisher):
    async def body():
        topic = unique("com.example.cbor.matrix")
        subscribers = []
        for transport, serializer in COMBOS:
            session = await join(broker3, transport, serializer)
            inbox = asyncio.Queue()
            await session.subscribe(lambda *a, q=inbox, **kw: q.put_nowait((list(a), kw)), topic)
            subscribers.append(((transport, serializer), session, inbox))
        pub = await join(broker3, *publisher)
        kwargs = {"k": VALUES[-6], "bin": b"\xff\x00", "big": 2**64 - 1, "neg": -(2**63), "half": 1.5}
        await pub.publish(topic, *VALUES, options=PublishOptions(acknowledge=True))
        await pub.publish(topic, **kwargs, options=PublishOptions(acknowledge=True))
        for combo, session, inbox in subscribers:
            args, got = await asyncio.wait_for(inbox.get(), 3)
            assert same(args, VALUES), f"{publisher} → {combo}: {args!r}"
            assert got == {}
            args, got = await asyncio.wait_for(inbox.get(), 3)
            assert args == [] and same(got, kwargs), f"{publisher} → {combo}: {got!r}"
        for _, session, _ in subscribers + [(None, pub, None)]:
            session.leave()
    run(body())


def _xconn_round_trip(uri):
    topic = unique("com.example.cbor.xconn")
    subscriber = connect_anonymous(uri, "realm1")
    publisher = connect_anonymous(uri, "realm1")
    got = []
    done = threading.Event()

    def on_event(event):
        got.append((event.args, event.kwargs))
        if len(got) == 2:
            done.set()

    subscriber.subscribe(topic, on_event)
    publisher.publish(topic, [1, "zwei", b"\x00\x01\xff", 2.5, None], {"k": {"nested": [True, False]}}, options={"acknowledge": True})
    publisher.publish(topic, ["sentinel"], options={"acknowledge": True})
    assert done.wait(5), got
    assert same(list(got[0][0]), [1, "zwei", b"\x00\x01\xff", 2.5, None]), got
    assert same(dict(got[0][1]), {"k": {"nested": [True, False]}}), got
    assert list(got[1][0]) == ["sentinel"]
    publisher.leave()
    subscriber.leave()


def test_xconn_defaults_websocket(broker3):
    _xconn_round_trip(f"ws://127.0.0.1:{broker3.ws_port}/ws")


def test_xconn_defaults_rawsocket(broker3):
    _xconn_round_trip(f"rs://127.0.0.1:{broker3.rs_port}")


class CBORRawSocket(RawSocketClient):
    """RawSocketClient speaking serializer 3 (CBOR)."""

    def handshake(self, byte1=0xF3, byte2=0, byte3=0):
        return super().handshake(byte1, byte2, byte3)

    def send_msg(self, msg):
        return self.send_frame(msg if isinstance(msg, (bytes, bytearray)) else cbor2.dumps(msg))

    def recv_msg(self, timeout=None):
        while True:
            ftype, payload = self.recv_frame(timeout=timeout)
            if ftype == 1:
                self.send_frame(payload, ftype=2)
                continue
            return cbor2.loads(payload)


def test_rawsocket_serializer_3_is_accepted(broker3):
    with CBORRawSocket(broker3.rs_port) as c:
        reply = c.handshake()
        assert reply[0] == 0x7F and reply[1] & 0x0F == 3, reply
        welcome = c.hello()
        assert welcome[0] == 2 and isinstance(welcome[1], int)


@pytest.mark.parametrize("payload,fragment", [
    (bytes.fromhex("85") + cbor2.dumps(16)[0:] + cbor2.dumps(1) + cbor2.dumps({}) + cbor2.dumps("com.example.t")
     + bytes.fromhex("81c11a00000001"), "CBOR tag 1 at byte"),
    (bytes.fromhex("85") + cbor2.dumps(16) + cbor2.dumps(1) + cbor2.dumps({}) + cbor2.dumps("com.example.t")
     + bytes.fromhex("819f01"), "the indefinite-length array at byte 19 has no break code"),
    (bytes.fromhex("8510") + cbor2.dumps(1) + cbor2.dumps({}) + cbor2.dumps("com.example.t") + bytes.fromhex("81f7"),
     "CBOR undefined"),
    (bytes.fromhex("8410") + cbor2.dumps(1) + bytes.fromhex("a101f5") + cbor2.dumps("com.example.t"),
     "map key must be a text string"),
    (bytes.fromhex("8410") + cbor2.dumps(1) + cbor2.dumps({}) + cbor2.dumps("com.example.t") + b"\x00",
     "unexpected data after the top-level item"),
], ids=["tag", "indefinite-no-break", "undefined", "int-key", "trailing"])
def test_malformed_cbor_aborts_naming_the_problem(broker3, payload, fragment):
    with CBORRawSocket(broker3.rs_port) as c:
        c.hello()
        c.send_msg(payload)
        abort = c.recv_msg()
        assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation", abort
        assert "invalid CBOR" in abort[1]["message"] and fragment in abort[1]["message"], abort
        assert c.wait_closed() == b""  # closed after the ABORT (raises if left open)


def test_indefinite_lengths_are_read(broker3):
    # A PUBLISH written with indefinite lengths everywhere: the message array, the options map, a
    # chunked topic, args with a chunked byte string; subscribers in CBOR and JSON get exact values.
    topic = unique("com.example.cbor.indef")
    head, tail = topic[:10], topic[10:]
    with CBORRawSocket(broker3.rs_port) as pub, CBORRawSocket(broker3.rs_port) as sub, RawSocketClient(broker3.rs_port) as js:
        for client in (pub, sub, js):
            client.hello()
        sub.send_msg([32, 1, {}, topic])
        js.send_msg([32, 1, {}, topic])
        assert sub.recv_msg()[0] == 33 and js.recv_msg()[0] == 33
        message = (b"\x9f" + cbor2.dumps(16) + cbor2.dumps(5) + b"\xbf" + cbor2.dumps("acknowledge") + b"\xf5\xff"
                   + b"\x7f" + cbor2.dumps(head) + cbor2.dumps(tail) + b"\xff"
                   + b"\x9f\x5f" + cbor2.dumps(b"\x00\x01") + cbor2.dumps(b"\xff") + b"\xff" + cbor2.dumps("x") + b"\xff\xff")
        pub.send_msg(message)
        published = pub.recv_msg()
        assert published[0] == 17 and published[1] == 5, published
        event = sub.recv_msg()
        assert event[0] == 36 and event[4] == [b"\x00\x01\xff", "x"], event
        event = js.recv_msg()
        assert event[0] == 36 and event[4] == ["\u0000AAH/", "x"], event


def test_self_describe_tag_is_accepted(broker3):
    with CBORRawSocket(broker3.rs_port) as c:
        c.handshake()
        c.send_msg(b"\xd9\xd9\xf7" + cbor2.dumps([1, "realm1", {"roles": {"subscriber": {}}}]))
        assert c.recv_msg()[0] == 2


def test_filter_on_cbor_kwargs_with_cbor_filter_values(broker3):
    topic = unique("com.example.cbor.filter")
    with CBORRawSocket(broker3.rs_port) as sub, CBORRawSocket(broker3.rs_port) as pub:
        sub.hello()
        pub.hello()
        # filter_values bound from CBOR: a half float (f9 4900 = 10.0) and a byte string, hand-built
        # because cbor2 writes 10.0 as a double.
        request = bytes.fromhex("841820") + cbor2.dumps(7)  # [32, 7, …
        options_map = bytes.fromhex("a2") + cbor2.dumps("filter") + cbor2.dumps("price > :p OR tag = :b") \
            + cbor2.dumps("filter_values") + bytes.fromhex("a2") + cbor2.dumps(":p") + bytes.fromhex("f94900") \
            + cbor2.dumps(":b") + cbor2.dumps(b"\x01\x02")
        sub.send_msg(request + options_map + cbor2.dumps(topic))
        subscribed = sub.recv_msg()
        assert subscribed[0] == 33 and subscribed[1] == 7, subscribed
        for n, kwargs in enumerate([{"price": 5}, {"price": 12.5}, {"price": 3, "tag": b"\x01\x02"},
                                    {"price": 10}, {"price": 100, "last": True}]):
            pub.send_msg([16, 100 + n, {"acknowledge": True}, topic, [], kwargs])
            assert pub.recv_msg()[0] == 17
        received = []
        while True:
            event = sub.recv_msg()
            assert event[0] == 36, event
            received.append(event[5])
            if event[5].get("last"):
                break
        assert received == [{"price": 12.5}, {"price": 3, "tag": b"\x01\x02"}, {"price": 100, "last": True}], received


def test_websocket_cbor_subprotocol_and_binary_frames(broker3):
    with RawWebSocketClient(broker3.ws_port, "/ws", "wamp.2.cbor") as ws:
        assert ws.response.status == 101 and ws.response.headers["sec-websocket-protocol"] == "wamp.2.cbor", ws.response
        ws.send_bytes(ws.frame(0x2, cbor2.dumps([1, "realm1", {"roles": {"subscriber": {}}}])))
        kind, payload = ws.recv_message()
        assert kind == "binary" and cbor2.loads(payload)[0] == 2
        ws.send_text(b"[6, {}, \"wamp.close.close_realm\"]")
        kind, payload = ws.recv_message()
        abort = cbor2.loads(payload)
        assert kind == "binary" and abort[0] == 3 and abort[2] == "wamp.error.protocol_violation", abort
        assert abort[1]["message"] == "wamp.2.cbor messages must be WebSocket binary frames, got a text frame", abort


def test_websocket_offering_no_supported_subprotocol_names_cbor(broker3):
    with RawWebSocketClient(broker3.ws_port, "/ws", "wamp.2.ubjson") as ws:
        assert ws.response.status == 400
        assert b"supported: wamp.2.json, wamp.2.msgpack, wamp.2.cbor" in ws.response.body, ws.response
