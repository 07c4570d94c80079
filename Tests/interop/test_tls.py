# TLS on both transports with real clients: Autobahn|Python over wss:// and RawSocket-over-TLS
# with JSON, MessagePack and CBOR (certificates made here with the openssl CLI), client certificates,
# a wrong CA failing cleanly, plaintext on a TLS port never answered, and a client that stalls
# mid-handshake dropped at the handshake timeout while others keep working.

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest
from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions

from conftest import free_port, make_broker
from rawwire import metric_sum
from wampclient import run, unique

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
HANDSHAKE_TIMEOUT_MS = 1500


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(d):
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
                "-days", "2", "-subj", f"/CN=FastBroker test {ca}", cwd=d)
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, ca, san in (("server", "ca", True), ("client", "ca", False), ("stranger", "otherca", False)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        extra = ["-extfile", "san.cnf"] if san else []
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", *extra, cwd=d)


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    ports = {}

    def with_tls(config):
        config["loops"] = 2
        config["limits"]["handshake_timeout_ms"] = HANDSHAKE_TIMEOUT_MS
        tls = {"certificate": "server.crt", "key": "server.key"}
        for listener in config["listeners"]:
            listener["serializers"] = ["json", "msgpack", "cbor"]
            listener["tls"] = dict(tls)
        # A RawSocket listener that requires a client certificate signed by our CA.
        ports["mtls"] = free_port()
        config["listeners"].append({"transport": "rawsocket", "host": "127.0.0.1", "port": ports["mtls"],
                                    "serializers": ["json"], "tls": dict(tls, ca="ca.crt", client_auth=True)})
        config.pop("metrics", None)
        config["metrics"] = {"path": "/metrics"}

    # Certificates must exist before the config is validated at start-up.
    broker = make_broker(tmp_path_factory, "tls", mutate=with_tls)
    make_certificates(broker.dir)
    broker.mtls_port = ports["mtls"]
    broker.start()
    yield broker
    broker.finish()


def client_context(d, ca="ca.crt", cert=None):
    ctx = ssl.create_default_context(cafile=str(d / ca))
    if cert:
        ctx.load_cert_chain(str(d / f"{cert}.crt"), str(d / f"{cert}.key"))
    return ctx


async def join(broker, transport, serializer, port=None, ctx=None):
    loop = asyncio.get_running_loop()
    joined = loop.create_future()

    class Session(ApplicationSession):
        def onConnect(self):
            self.join("realm1")

        def onJoin(self, details):
            joined.set_result(self)

    ser = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[serializer]()
    make = lambda: Session(ComponentConfig(realm="realm1"))  # noqa: E731
    ctx = ctx or client_context(broker.dir)
    if transport == "wss":
        port = port or broker.ws_port
        factory = WampWebSocketClientFactory(make, url=f"wss://localhost:{port}/ws", serializers=[ser])
    else:
        port = port or broker.rs_port
        factory = WampRawSocketClientFactory(make, serializer=ser)
    await loop.create_connection(factory, "localhost", port, ssl=ctx, server_hostname="localhost")
    return await asyncio.wait_for(joined, 5)


COMBOS = [(t, s) for t in ("wss", "rss") for s in ("json", "msgpack", "cbor")]


@pytest.mark.parametrize("publisher", COMBOS, ids=lambda c: f"pub-{c[0]}-{c[1]}")
def test_all_combinations_over_tls(tls_broker, publisher):
    async def body():
        topic = unique("com.example.tls")
        value = [2**53, -0.0, "ü😀", b"\x00\xff", {"n": [1, {}]}, "x" * 20000]
        inboxes = []
        for combo in COMBOS:
            s = await join(tls_broker, *combo)
            q = asyncio.Queue()
            await s.subscribe(lambda *a, q=q: q.put_nowait(list(a)), topic)
            inboxes.append((combo, q))
        pub = await join(tls_broker, *publisher)
        for n in range(20):
            pub.publish(topic, n, *value)
        await pub.publish(topic, "end", options=PublishOptions(acknowledge=True))
        for combo, q in inboxes:
            for n in range(20):
                got = await asyncio.wait_for(q.get(), 5)
                assert got[0] == n and got[1:] == value, f"{publisher} → {combo}"
            assert await asyncio.wait_for(q.get(), 5) == ["end"]
    run(body())


def https_metrics(broker):
    url = f"https://localhost:{broker.ws_port}/metrics"
    with urllib.request.urlopen(url, context=client_context(broker.dir), timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def test_wrong_ca_fails_cleanly_and_the_broker_carries_on(tls_broker):
    async def body():
        before = metric_sum(await asyncio.to_thread(https_metrics, tls_broker), "fastbroker_tls_failures_total")
        with pytest.raises(ssl.SSLCertVerificationError):
            await join(tls_broker, "wss", "json", ctx=client_context(tls_broker.dir, ca="otherca.crt"))
        s = await join(tls_broker, "rss", "json")
        await s.publish(unique("com.example.ok"), options=PublishOptions(acknowledge=True))
        await asyncio.sleep(0.2)
        after = metric_sum(await asyncio.to_thread(https_metrics, tls_broker), "fastbroker_tls_failures_total")
        assert after >= before + 1, "the server sees the failed handshake"
    run(body())


def test_client_certificate_required(tls_broker):
    async def body():
        ok = await join(tls_broker, "rss", "json", port=tls_broker.mtls_port,
                        ctx=client_context(tls_broker.dir, cert="client"))
        await ok.publish(unique("com.example.mtls"), options=PublishOptions(acknowledge=True))
        for cert in (None, "stranger"):
            with pytest.raises((ssl.SSLError, ConnectionResetError, asyncio.TimeoutError, AssertionError, EOFError)):
                await join(tls_broker, "rss", "json", port=tls_broker.mtls_port,
                           ctx=client_context(tls_broker.dir, cert=cert))
    run(body())


def test_plaintext_on_a_tls_port_is_never_answered(tls_broker):
    for payload in (b"\x7f\xf1\x00\x00", b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"):
        port = tls_broker.rs_port if payload[0] == 0x7F else tls_broker.ws_port
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(payload)
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            assert not data.startswith(b"\x7f") and b"HTTP/1.1" not in data, data


def test_stalled_handshake_is_dropped_at_the_timeout_without_disturbing_others(tls_broker):
    async def body():
        stalled = socket.create_connection(("127.0.0.1", tls_broker.ws_port), timeout=5)
        stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00")   # the start of a ClientHello, then nothing
        started = time.monotonic()
        # Others work meanwhile.
        s = await join(tls_broker, "wss", "msgpack")
        for _ in range(5):
            await s.publish(unique("com.example.busy"), options=PublishOptions(acknowledge=True))
        closed_after = await asyncio.to_thread(_wait_closed, stalled)
        elapsed = closed_after - started
        assert HANDSHAKE_TIMEOUT_MS / 1000 * 0.8 <= elapsed <= HANDSHAKE_TIMEOUT_MS / 1000 + 2.0, elapsed
        await s.publish(unique("com.example.after"), options=PublishOptions(acknowledge=True))
    run(body())


def _wait_closed(sock):
    sock.settimeout(10)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        sock.close()
    return time.monotonic()
