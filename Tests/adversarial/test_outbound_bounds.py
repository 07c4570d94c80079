# Clients that send but never read (issue 10 items 1, 6, 7): every byte the broker queues for a
# session counts against limits.max_session_outbound_bytes — pongs and replies too, not only
# EVENTs. Past the soft bound the broker stops reading the client (so its own sends block once
# the kernel buffers fill) and reads again when the client drains; nothing it owed the client is
# lost. Checked on the per-loop outbound gauge of /metrics (the attacker is the only session
# with anything queued), over RawSocket, RawSocket-over-TLS and WebSocket. Consumer groups under
# `slow_consumer: drop`: an event the chosen member cannot queue goes to the next member.

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import assert_healthy, make_broker
from rawwire import Closed, RawSocketClient, RawWebSocketClient, dumps, get_metrics, metric_sum
from wampclient import Healthy, connect, run, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions as Group  # noqa: E402

LIMIT = 262144
MAX_MESSAGE = 65536
# OutboundBudget: the soft bound keeps one largest reply (a pong of max_message_bytes, framed,
# with TLS record overhead) below the limit.
_LARGEST_REPLY = MAX_MESSAGE + 10 + ((MAX_MESSAGE + 10) // 16384 + 1) * 29
SOFT = LIMIT - min(LIMIT // 2, _LARGEST_REPLY)
CHUNK = 16384   # bytes per non-blocking send


def small_limits(config):
    config["limits"]["max_session_outbound_bytes"] = LIMIT
    config["limits"]["max_message_bytes"] = MAX_MESSAGE


def queued_bytes(broker):
    _, text = get_metrics(broker)
    return metric_sum(text, "fastbroker_loop_outbound_queued_bytes")


class FrameReader:
    """Reads RawSocket frames (type, payload) — or WebSocket frames (opcode, payload) from the
    broker, which never masks — in big chunks (tens of thousands of small replies)."""

    def __init__(self, sock, websocket=False, pending=b""):
        self.sock, self.buf, self.pos, self.websocket = sock, bytearray(pending), 0, websocket

    def _header(self):
        """(frame type, header length, payload length), or None while incomplete."""
        avail = len(self.buf) - self.pos
        b = self.buf
        if not self.websocket:
            return (b[self.pos] & 7, 4, int.from_bytes(b[self.pos + 1:self.pos + 4], "big")) if avail >= 4 else None
        if avail < 2:
            return None
        n = b[self.pos + 1] & 0x7F
        extra = {126: 2, 127: 8}.get(n, 0)
        if avail < 2 + extra:
            return None
        if extra:
            n = int.from_bytes(b[self.pos + 2:self.pos + 2 + extra], "big")
        return b[self.pos] & 0x0F, 2 + extra, n

    def next(self, deadline):
        while True:
            header = self._header()
            if header is not None:
                ftype, h, n = header
                if len(self.buf) - self.pos >= h + n:
                    payload = bytes(self.buf[self.pos + h:self.pos + h + n])
                    self.pos += h + n
                    if self.pos > 1 << 20:
                        del self.buf[:self.pos]
                        self.pos = 0
                    return ftype, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out waiting for a frame")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            if not chunk:
                raise Closed("EOF")
            self.buf += chunk


def push(sock, data, already, idle_seconds=0.5):
    """Sends data[already:] without blocking until the peer stops taking bytes for idle_seconds
    (or all is sent); returns the new offset. A TLS write that would block is retried with the
    same bytes, as ssl requires."""
    sock.setblocking(False)
    sent, last_progress = already, time.monotonic()
    view = memoryview(data)
    while sent < len(data):
        try:
            n = sock.send(view[sent:sent + CHUNK])
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            if time.monotonic() - last_progress > idle_seconds:
                break
            time.sleep(0.005)
            continue
        sent += n
        last_progress = time.monotonic()
    return sent


def stalled_rawsocket(port, context=None):
    """A RawSocket session with a tiny receive buffer, so the kernel holds little for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    c = RawSocketClient.__new__(RawSocketClient)
    c.sock, c.timeout, c.handshake_reply, c.welcome = sock, 5.0, None, None
    c.hello("realm1")
    return c


def flood_without_reading(broker, client, frame, count, batch):
    """Sends `count` copies-by-index of `frame(i)` in batches, never reading, until the broker
    stops taking bytes; checks the outbound gauge after every batch. Returns (frames sent whole,
    whether the sender was held back, the largest gauge seen); what was left half-sent is
    completed by `finish_sending` once the replies to the whole frames are read."""
    frames = [frame(i) for i in range(count)]
    size = len(frames[0])
    assert all(len(f) == size for f in frames), "fixed-size frames, so whole frames can be counted"
    data = b"".join(frames)
    sent, peak, held_back = 0, 0, False
    while sent < len(data):
        target = min(len(data), sent + batch * size)
        sent = push(client.sock, data[:target], sent)
        peak = max(peak, queued_bytes(broker))
        assert peak <= LIMIT, f"{peak} bytes queued for one session, over the {LIMIT}-byte limit"
        if sent < target:
            held_back = True   # the broker stopped reading: our send would block
            break
    # The broker keeps the session paused (or drops it): the gauge stays bounded meanwhile.
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        peak = max(peak, queued_bytes(broker))
        assert peak <= LIMIT, f"{peak} bytes queued for one session, over the {LIMIT}-byte limit"
        time.sleep(0.05)
    client.sock.setblocking(True)
    # To finish: the rest of a half-sent frame, and at least the chunk a blocked TLS write must be
    # retried with (ssl refuses a shorter retry), up to a frame boundary.
    end = sent if sent % size == 0 and sent == len(data) else \
        min(len(data), -(-(sent + CHUNK) // size) * size)
    client.rest, client.rest_frames = data[sent:end], end // size - sent // size
    return sent // size, held_back, peak


def finish_sending(client):
    """Sends what the flood left unsent (see flood_without_reading); returns the number of
    frames that completes."""
    if client.rest:
        client.sock.sendall(client.rest)
    return client.rest_frames


def read_replies(client, whole, check, seconds, reader=None):
    """Reads the replies to the `whole` frames sent (the broker resumes as we drain), then sends
    what the flood left unsent and reads the replies that completes; `check(i, ftype, body)`
    checks reply i. Returns the reader."""
    reader = reader or FrameReader(client.sock)
    deadline = time.monotonic() + seconds
    for i in range(whole):
        check(i, *reader.next(deadline))
    for i in range(whole, whole + finish_sending(client)):
        check(i, *reader.next(deadline))
    return reader


def attack_pings(broker, context=None, port=None):
    client = stalled_rawsocket(port or broker.rs_port, context)
    payload = lambda i: f"{i:08d}".encode() + b"p" * (60000 - 8)   # noqa: E731
    whole, held_back, peak = flood_without_reading(
        broker, client, lambda i: bytes([1]) + (60000).to_bytes(3, "big") + payload(i), count=200, batch=10)
    # Paused, not dropped: the queue filled to the soft bound, or our sends were held back.
    assert held_back or peak >= SOFT, (whole, peak)
    # Reading again resumes the session: every whole PING gets its PONG, in order.
    def check(i, ftype, body):
        assert ftype == 2 and body == payload(i), (i, ftype, body[:16])
    reader = read_replies(client, whole, check, 20)
    client.send_msg([6, {}, "wamp.close.normal"])
    ftype, body = reader.next(time.monotonic() + 5)
    assert ftype == 0 and json.loads(body)[0] == 6, body[:100]
    client.close()
    return whole


def test_pings_from_a_client_that_never_reads_are_bounded(fresh_broker):
    broker = fresh_broker(small_limits)

    async def body():
        healthy = await Healthy(broker).open()
        whole = await asyncio.to_thread(attack_pings, broker)
        assert whole >= 4, whole
        await healthy.roundtrip()
    run(body(), timeout=60)
    assert_healthy(broker)


def test_errors_for_a_client_that_never_reads_are_bounded(fresh_broker):
    broker = fresh_broker(small_limits)
    first = 1_000_000

    def attack():
        client = stalled_rawsocket(broker.rs_port)
        frame = lambda i: (lambda m: bytes([0]) + len(m).to_bytes(3, "big") + m)(   # noqa: E731
            dumps([34, first + i, 9_000_000_000]))
        whole, held_back, peak = flood_without_reading(broker, client, frame, count=150_000, batch=10_000)
        assert held_back or peak >= SOFT, (whole, peak)
        # Every whole UNSUBSCRIBE is answered, in order, once the client reads.
        def check(i, ftype, body):
            msg = json.loads(body)
            assert ftype == 0 and msg[:3] == [8, 34, first + i] and msg[4] == "wamp.error.no_such_subscription", msg
            assert "9000000000" in msg[3]["message"], msg
        read_replies(client, whole, check, 30)
        client.close()
        return whole

    async def body():
        healthy = await Healthy(broker).open()
        whole = await asyncio.to_thread(attack)
        assert whole >= 1000, whole
        await healthy.roundtrip()
    run(body(), timeout=90)
    assert_healthy(broker)


def test_websocket_pings_from_a_client_that_never_reads_are_bounded(fresh_broker):
    """WebSocket PINGs are control frames of at most 125 bytes: many small pongs instead."""
    broker = fresh_broker(small_limits)
    count = 100_000

    def ping(i):   # masked with a zero key (valid, and no per-byte work here)
        body = f"{i:08d}".encode() + b"w" * 117
        return bytes([0x89, 0x80 | len(body)]) + b"\0\0\0\0" + body

    def attack():
        # (No small SO_RCVBUF after connect: a window below the loopback MSS stalls the reading
        # back on zero-window probes.)
        client = RawWebSocketClient(broker.ws_port, timeout=5)
        client.hello("realm1")
        whole, held_back, peak = flood_without_reading(broker, client, ping, count=count, batch=10_000)
        assert held_back or peak >= SOFT, (whole, peak)

        def check(i, opcode, body):
            assert opcode == 0xA and body == ping(i)[6:], (i, opcode, body[:16])
        read_replies(client, whole, check, 30, reader=FrameReader(client.sock, websocket=True, pending=client._pending))
        client.close()
        return whole

    async def body():
        healthy = await Healthy(broker).open()
        whole = await asyncio.to_thread(attack)
        assert whole >= 1000, whole
        await healthy.roundtrip()
    run(body(), timeout=90)
    assert_healthy(broker)


def test_a_reply_past_the_limit_disconnects_as_slow_consumer(fresh_broker):
    """A reply that cannot be queued under the hard bound aborts the session as a slow
    consumer; it is never dropped. With the limit equal to max_message_bytes, the pong to a
    PING of max_message_bytes (plus its 4-byte frame header) can never fit."""
    def limits(config):
        config["limits"]["max_session_outbound_bytes"] = 65536
        config["limits"]["max_message_bytes"] = 65536
    broker = fresh_broker(limits)
    client = stalled_rawsocket(broker.rs_port)
    client.sock.setblocking(True)
    client.send_frame(b"q" * 65536, ftype=1)
    reader = FrameReader(client.sock)
    ftype, body = reader.next(time.monotonic() + 5)
    msg = json.loads(body)
    assert ftype == 0 and msg[0] == 3 and msg[2] == "fastbroker.error.slow_consumer", msg
    text = msg[1]["message"]
    assert "reply of 65540 bytes" in text and "max_session_outbound_bytes (65536)" in text, text
    client.wait_closed()
    _, metrics = get_metrics(broker)
    assert metric_sum(metrics, "fastbroker_slow_consumer_disconnects_total") == 1, metrics
    assert_healthy(broker)


openssl_missing = shutil.which("openssl") is None


@pytest.mark.skipif(openssl_missing, reason="needs the openssl CLI")
def test_tls_pings_pause_and_resume(tmp_path_factory):
    """Over TLS the pause holds (ciphertext counted) and reading resumes when the client reads:
    the receive ring and OpenSSL's buffer are drained, not left stopped."""
    port = {}

    def tls_rawsocket(config):
        small_limits(config)
        for listener in config["listeners"]:
            if listener["transport"] == "rawsocket":
                listener["tls"] = {"certificate": "server.crt", "key": "server.key"}
                port["rs"] = listener["port"]

    broker = make_broker(tmp_path_factory, "tlsbounds", mutate=tls_rawsocket)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                    "-out", "server.crt", "-days", "2", "-subj", "/CN=127.0.0.1"],
                   cwd=broker.dir, check=True, capture_output=True)
    broker.start()
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        whole = attack_pings(broker, context, port["rs"])
        assert whole >= 4, whole
        assert broker.alive()
    finally:
        broker.finish()


@pytest.mark.parametrize("kind", ["shared", "failover"])
def test_group_event_a_full_member_cannot_take_goes_to_the_next(fresh_broker, kind):
    """slow_consumer: drop. A member that never reads (joined first: the failover leader) fills
    its queue; from then on every event must reach the member that reads — none dropped while it
    has room."""
    def drop(config):
        small_limits(config)
        config["limits"]["slow_consumer"] = "drop"
    broker = fresh_broker(drop)
    topic = unique("com.example.grouped")
    blob = "g" * 8000

    def drops():
        _, text = get_metrics(broker)
        return (metric_sum(text, "fastbroker_group_events_dropped_total") or 0) + \
            (metric_sum(text, "fastbroker_drops_total") or 0)

    async def body():
        stalled = await asyncio.to_thread(stalled_rawsocket, broker.rs_port)
        stalled.sock.setblocking(True)
        stalled.send_msg([32, 1, {"type": kind, "group": "g"}, topic])
        assert (await asyncio.to_thread(stalled.recv_msg))[:2] == [33, 1]
        pub = await connect(broker, "ws", "realm1")
        # Fill the stalled member until the broker drops for want of a member with room.
        sent = 0
        while await asyncio.to_thread(drops) == 0:
            assert sent < 3000, "the stalled member never filled up"
            for _ in range(20):
                pub.publish(topic, "fill", blob)
                sent += 1
            await asyncio.sleep(0.05)
        dropped_before = await asyncio.to_thread(drops)
        # Now a member that reads joins; the stalled one stays full.
        reader = await connect(broker, "rs", "realm1")
        got = []
        ready = asyncio.Event()
        total = 60

        def on_event(tag, *rest):
            if tag == "n":   # fill events still travelling when the reader joined may come too
                got.append(rest[0])
                if len(got) == total:
                    ready.set()
        await reader.subscribe(on_event, topic, options=Group(type=kind, group="g"))
        for batch in range(total // 10):
            for n in range(batch * 10, batch * 10 + 10):
                pub.publish(topic, "n", n, blob)
            # Paced: the reader never comes near its own limit.
            deadline = time.monotonic() + 3
            while len(got) < batch * 10 + 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(ready.wait(), timeout=10)
        assert sorted(got) == list(range(total)), got
        assert await asyncio.to_thread(drops) == dropped_before
        stalled.close()
    run(body(), timeout=60)
    assert_healthy(broker)
