# Timing attacks (SPEC §3 `frame_timeout_ms`, `idle_timeout_ms`): a frame started and never
# finished must not hold its connection (and its receive reservation) forever, after WELCOME as
# well as before; a silent connection is pinged, then closed if it stays silent. Clients that
# trickle complete frames, or answer the pings, are left alone. Each case bounds the close time
# from both sides and ends with assert_healthy.

import json
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import assert_healthy
from rawwire import Closed, RawSocketClient, RawWebSocketClient

FRAME_MS = 600
IDLE_MS = 500
LIMIT_EXCEEDED = "fastbroker.error.limit_exceeded"


def limits(**values):
    def mutate(config):
        config["limits"].update(values)
    return mutate


def abort_and_close(recv_msg, wait_closed, limit_name):
    """Reads until the ABORT; it must name the limit; then the connection must close."""
    msg = recv_msg(timeout=5.0)
    assert msg[0] == 3, f"expected ABORT, got {msg!r}"
    assert msg[2] == LIMIT_EXCEEDED, msg
    assert limit_name in msg[1]["message"], msg
    wait_closed(timeout=2.0)
    return msg


def test_partial_frame_after_welcome_rawsocket(fresh_broker):
    broker = fresh_broker(limits(frame_timeout_ms=FRAME_MS))
    with RawSocketClient(broker.rs_port) as client:
        client.hello()
        # A header announcing 200 bytes, and 10 of them.
        client.send_bytes(bytes([0]) + (200).to_bytes(3, "big") + b'[32,1,{},"')
        start = time.monotonic()
        msg = abort_and_close(client.recv_msg, client.wait_closed, "frame_timeout_ms")
        took = time.monotonic() - start
        assert f"{FRAME_MS} ms" in msg[1]["message"], msg
    assert FRAME_MS / 1000 - 0.05 <= took <= FRAME_MS / 1000 + 1.0, f"closed after {took:.2f}s"
    assert_healthy(broker)


def test_partial_frame_after_welcome_websocket(fresh_broker):
    broker = fresh_broker(limits(frame_timeout_ms=FRAME_MS))
    with RawWebSocketClient(broker.ws_port) as client:
        assert client.response.status == 101
        client.hello()
        whole = client.frame(0x1, b'[32,1,{},"com.example.never"]')
        client.send_bytes(whole[:8])
        start = time.monotonic()
        abort_and_close(client.recv_msg, client.wait_closed, "frame_timeout_ms")
        took = time.monotonic() - start
    assert FRAME_MS / 1000 - 0.05 <= took <= FRAME_MS / 1000 + 1.0, f"closed after {took:.2f}s"
    assert_healthy(broker)


def test_partial_frame_before_hello_is_closed(fresh_broker):
    """No session yet: nothing to ABORT, the connection just closes — before the (longer)
    handshake timeout."""
    broker = fresh_broker(limits(frame_timeout_ms=FRAME_MS, handshake_timeout_ms=10_000))
    with RawSocketClient(broker.rs_port) as client:
        client.handshake()
        client.send_bytes(bytes([0, 0, 0, 50]) + b"[1,")
        start = time.monotonic()
        assert client.wait_closed(timeout=5.0) == b""
        took = time.monotonic() - start
    assert FRAME_MS / 1000 - 0.05 <= took <= FRAME_MS / 1000 + 1.0, f"closed after {took:.2f}s"
    assert_healthy(broker)


def test_slow_but_complete_frames_are_not_cut(fresh_broker):
    """Each frame completes within frame_timeout_ms, but the connection always has a partial
    frame buffered for longer than that: the clock restarts with every completed frame."""
    broker = fresh_broker(limits(frame_timeout_ms=FRAME_MS))
    with RawSocketClient(broker.rs_port) as client:
        client.hello()
        frames = [bytes([0]) + len(p).to_bytes(3, "big") + p
                  for p in (json.dumps([32, i + 1, {}, f"com.example.slow{i}"]).encode() for i in range(4))]
        stream = b"".join(frames)
        # Cut every frame in the middle: each send finishes one frame and starts the next.
        cuts = [0] + [sum(len(f) for f in frames[:i]) + len(frames[i]) // 2 for i in range(4)] + [len(stream)]
        start = time.monotonic()
        for a, b in zip(cuts, cuts[1:]):
            client.send_bytes(stream[a:b])
            time.sleep(FRAME_MS / 1000 * 0.6)
        assert time.monotonic() - start > 2 * FRAME_MS / 1000   # a partial frame was always buffered
        for i in range(4):
            msg = client.recv_msg()
            assert msg[:2] == [33, i + 1], msg
    assert_healthy(broker)


def test_idle_connections_pinged_then_closed(fresh_broker):
    """Silent for idle_timeout_ms → a PING; still silent another idle_timeout_ms → ABORT naming
    the limit and close. A client that answers the PINGs stays connected past several periods."""
    broker = fresh_broker(limits(idle_timeout_ms=IDLE_MS))

    def answering():
        with RawSocketClient(broker.rs_port) as client:
            client.hello()
            pings = 0
            deadline = time.monotonic() + 5 * IDLE_MS / 1000
            while time.monotonic() < deadline:
                try:
                    ftype, payload = client.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    break
                assert ftype == 1, f"expected only PINGs, got frame type {ftype}: {payload!r}"
                pings += 1
                client.send_frame(payload, ftype=2)
            # Still a working session after 5 idle periods.
            client.send_msg([32, 1, {}, "com.example.alive"])
            assert client.recv_msg()[:2] == [33, 1]
            return pings

    def silent_rawsocket():
        with RawSocketClient(broker.rs_port) as client:
            client.hello()
            start = time.monotonic()
            ftype, _ = client.recv_frame(timeout=5.0)
            pinged = time.monotonic() - start
            assert ftype == 1, f"expected a PING first, got frame type {ftype}"
            _, payload = client.recv_frame(timeout=5.0)
            msg = json.loads(payload)
            assert msg[0] == 3 and msg[2] == LIMIT_EXCEEDED and "idle_timeout_ms" in msg[1]["message"], msg
            client.wait_closed(timeout=2.0)
            return pinged, time.monotonic() - start

    def silent_websocket():
        with RawWebSocketClient(broker.ws_port) as client:
            client.hello()
            start = time.monotonic()
            _, opcode, _, _ = client.recv_frame(timeout=5.0)
            assert opcode == 0x9, f"expected a WebSocket ping first, got opcode {opcode}"
            _, opcode, _, payload = client.recv_frame(timeout=5.0)
            msg = json.loads(payload)
            assert opcode == 0x1 and msg[0] == 3 and msg[2] == LIMIT_EXCEEDED, msg
            client.wait_closed(timeout=2.0)
            return time.monotonic() - start

    idle = IDLE_MS / 1000
    with ThreadPoolExecutor(3) as pool:
        answered = pool.submit(answering)
        rs = pool.submit(silent_rawsocket)
        ws = pool.submit(silent_websocket)
        pinged, closed = rs.result(timeout=20)
        ws_closed = ws.result(timeout=20)
        assert answered.result(timeout=20) >= 2
    assert idle - 0.05 <= pinged <= idle + 1.0, f"PING after {pinged:.2f}s"
    assert 2 * idle - 0.05 <= closed <= 2 * idle + 1.5, f"closed after {closed:.2f}s"
    assert 2 * idle - 0.05 <= ws_closed <= 2 * idle + 1.5, f"WebSocket closed after {ws_closed:.2f}s"
    assert_healthy(broker)


def test_idle_timeout_zero_is_off(fresh_broker):
    broker = fresh_broker(limits(idle_timeout_ms=0, frame_timeout_ms=200))
    with RawSocketClient(broker.rs_port) as client:
        client.hello()
        try:
            frame = client.recv_frame(timeout=1.0)
            raise AssertionError(f"idle_timeout_ms 0 sent {frame!r}")
        except TimeoutError:
            pass
        client.send_msg([32, 1, {}, "com.example.off"])
        assert client.recv_msg()[:2] == [33, 1]
    assert_healthy(broker)


def test_partial_tls_record_after_welcome(fresh_broker, tmp_path):
    """Over TLS the unfinished frame can be an unfinished TLS record (buffered inside OpenSSL,
    not yet plaintext): it is held to frame_timeout_ms as well."""
    import shutil
    import socket
    import ssl

    import pytest
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI")
    from conftest import free_port
    from test_tls import make_certificates

    make_certificates(tmp_path)
    port = free_port()

    def with_tls_listener(config):
        config["limits"]["frame_timeout_ms"] = FRAME_MS
        config["listeners"].append({"transport": "rawsocket", "host": "127.0.0.1", "port": port, "serializers": ["json"],
                                    "tls": {"certificate": str(tmp_path / "server.crt"), "key": str(tmp_path / "server.key")}})

    broker = fresh_broker(with_tls_listener)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    deadline = time.monotonic() + 5   # the broker starts its listeners in order; this one is last
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the TLS listener never accepted"
            time.sleep(0.05)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")

    def pump_in():
        data = sock.recv(65536)
        if not data:
            raise Closed("EOF")
        incoming.write(data)

    def flush():
        data = outgoing.read()
        if data:
            sock.sendall(data)

    def read_exact(n):
        buf = b""
        while len(buf) < n:
            try:
                buf += tls.read(n - len(buf))
            except ssl.SSLWantReadError:
                pump_in()
        return buf

    def recv_msg():
        header = read_exact(4)
        return json.loads(read_exact(int.from_bytes(header[1:4], "big")))

    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                pump_in()
        flush()
        tls.write(bytes([0x7F, 0xF1, 0, 0]))
        flush()
        assert read_exact(4)[0] == 0x7F
        hello = json.dumps([1, "realm1", {"roles": {"subscriber": {}}}]).encode()
        tls.write(bytes([0]) + len(hello).to_bytes(3, "big") + hello)
        flush()
        assert recv_msg()[0] == 2
        # One whole RawSocket frame sealed in a TLS record; only part of the record is sent.
        subscribe = json.dumps([32, 1, {}, "com.example.tls.partial"]).encode()
        tls.write(bytes([0]) + len(subscribe).to_bytes(3, "big") + subscribe)
        record = outgoing.read()
        sock.sendall(record[: len(record) // 2])
        start = time.monotonic()
        msg = recv_msg()
        took = time.monotonic() - start
        assert msg[0] == 3 and msg[2] == LIMIT_EXCEEDED and "frame_timeout_ms" in msg[1]["message"], msg
    finally:
        sock.close()
    assert FRAME_MS / 1000 - 0.05 <= took <= FRAME_MS / 1000 + 1.0, f"closed after {took:.2f}s"
    assert_healthy(broker)
