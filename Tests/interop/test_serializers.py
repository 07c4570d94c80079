# Every client connects: Autobahn|Python over WebSocket and RawSocket × JSON and MessagePack,
# and a cross-serializer publish/subscribe matrix that checks values exactly — ints at the 2^53
# edge, floats, unicode, binary (WAMP's "\u0000"+base64 rule on the JSON side), nested maps,
# empty containers — with subscribers on both loops. Malformed MessagePack aborts the session.

import asyncio
import math
import socket
import struct

import msgpack
import pytest
from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions

from conftest import make_broker
from wampclient import run, unique

COMBOS = [(t, s) for t in ("ws", "rs") for s in ("json", "msgpack")]

VALUES = [
    2**53, -(2**53), 2**53 - 1, 0, -1, 255, 65536, 2**31, -(2**31) - 1,
    0.1, -2.5, 1e300, 5e-324, -0.0,
    "", "ü€😀", "quote\" backslash\\ nl\n tab\t nul\u0000x",
    b"", b"\x00\x01\xfe\xff binary",
    [], {}, [[], {}, [None, True, False]],
    {"nested": {"deep": [1, {"x": "y"}]}, "unicode-ключ": "значение"},
    None, True, False,
]


@pytest.fixture(scope="module")
def broker_both(tmp_path_factory):
    def both_serializers(config):
        config["loops"] = 2
        for listener in config["listeners"]:
            listener["serializers"] = ["json", "msgpack"]
    b = make_broker(tmp_path_factory, "serializers", mutate=both_serializers).start()
    yield b
    b.finish()


async def join(broker, transport, serializer):
    loop = asyncio.get_running_loop()
    joined = loop.create_future()

    class Session(ApplicationSession):
        def onConnect(self):
            self.join("realm1")

        def onJoin(self, details):
            joined.set_result(self)

        def onLeave(self, details):
            if not joined.done():
                joined.set_exception(AssertionError(f"left: {details.reason} {details.message}"))

    ser = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[serializer]()
    make = lambda: Session(ComponentConfig(realm="realm1"))  # noqa: E731
    if transport == "ws":
        factory = WampWebSocketClientFactory(make, url=broker.ws_url, serializers=[ser])
        port = broker.ws_port
    else:
        factory = WampRawSocketClientFactory(make, serializer=ser)
        port = broker.rs_port
    await loop.create_connection(factory, "127.0.0.1", port)
    return await asyncio.wait_for(joined, 5)


def same(a, b):
    """Exact equality that tells int from float from bool, -0.0 from 0.0, bytes from str."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("publisher", COMBOS, ids=lambda c: f"pub-{c[0]}-{c[1]}")
def test_cross_serializer_matrix_preserves_values(broker_both, publisher):
    async def body():
        topic = unique("com.example.matrix")
        subscribers = []
        for transport, serializer in COMBOS:
            session = await join(broker_both, transport, serializer)
            inbox = asyncio.Queue()
            await session.subscribe(lambda *a, q=inbox, **kw: q.put_nowait((list(a), kw)), topic)
            subscribers.append(((transport, serializer), session, inbox))
        pub = await join(broker_both, *publisher)
        await pub.publish(topic, *VALUES, options=PublishOptions(acknowledge=True))
        await pub.publish(topic, **{"k": VALUES[-6], "bin": b"\xff", "big": 2**53}, options=PublishOptions(acknowledge=True))
        await pub.publish(topic, options=PublishOptions(acknowledge=True))
        for combo, session, inbox in subscribers:
            args, kwargs = await asyncio.wait_for(inbox.get(), 3)
            assert same(args, VALUES), f"{publisher} → {combo}: {args!r}"
            assert kwargs == {}
            args, kwargs = await asyncio.wait_for(inbox.get(), 3)
            assert args == [] and same(kwargs, {"k": VALUES[-6], "bin": b"\xff", "big": 2**53}), f"{publisher} → {combo}: {kwargs!r}"
            args, kwargs = await asyncio.wait_for(inbox.get(), 3)
            assert args == [] and kwargs == {}
    run(body())


def test_msgpack_rawsocket_malformed_message_is_a_protocol_violation(broker_both):
    def raw():
        with socket.create_connection(("127.0.0.1", broker_both.rs_port), timeout=3) as s:
            s.sendall(b"\x7f\xf2\x00\x00")
            assert s.recv(4)[0] == 0x7F
            def send(obj_bytes):
                s.sendall(struct.pack(">I", len(obj_bytes)) + obj_bytes)
            def receive():
                header = b""
                while len(header) < 4:
                    header += s.recv(4 - len(header))
                n = struct.unpack(">I", b"\x00" + header[1:])[0]
                body = b""
                while len(body) < n:
                    body += s.recv(n - len(body))
                return msgpack.unpackb(body, raw=False)
            send(msgpack.packb([1, "realm1", {"roles": {"subscriber": {}}}]))
            welcome = receive()
            assert welcome[0] == 2
            # An ext type is not a WAMP value.
            send(msgpack.packb([16, 1, {}, "com.example.t", [msgpack.ExtType(5, b"xx")]]))
            abort = receive()
            assert abort[0] == 3 and abort[2] == "wamp.error.protocol_violation", abort
            assert "ext" in abort[1]["message"].lower() or "messagepack" in abort[1]["message"].lower(), abort
    raw()
