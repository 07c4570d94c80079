# Malformed input on the raw wire (SPEC §4 "Anything malformed …", RawSocket and WebSocket
# handshakes, §6 limits): each case must end in ABORT wamp.error.protocol_violation (with a
# message) and a closed connection, never a crash or hang, while a healthy Autobahn session
# on the same broker keeps publishing and receiving.

import asyncio
import json
import socket
import time

import pytest

from conftest import MAX_MESSAGE_BYTES
from rawwire import Closed, RawSocketClient, RawWebSocketClient
from wampclient import Healthy, run

PV = "wamp.error.protocol_violation"


def expect_protocol_violation(client, what):
    """Reads until the ABORT; then the broker must close the connection."""
    try:
        msg = client.recv_msg(timeout=3)
    except Closed as exc:
        raise AssertionError(f"{what}: connection closed without ABORT ({exc})") from None
    assert msg[0] == 3 and len(msg) == 3, f"{what}: expected ABORT, got {msg!r}"
    assert msg[2] == PV, f"{what}: ABORT reason {msg[2]!r}"
    assert isinstance(msg[1], dict) and isinstance(msg[1].get("message"), str) and msg[1]["message"], \
        f"{what}: ABORT needs a message saying what was wrong: {msg!r}"
    try:
        client.wait_closed(timeout=3)
    except TimeoutError:
        raise AssertionError(f"{what}: connection left open after ABORT") from None
    return msg


def with_healthy(broker, raw_case):
    """Runs the raw case (blocking, in a thread) while healthy sessions are open, then checks
    they still work."""
    async def body():
        healthy = await Healthy(broker).open()
        await asyncio.to_thread(raw_case)
        await healthy.roundtrip()
    run(body())


# Messages sent after WELCOME that must each be a protocol violation.
AFTER_WELCOME = {
    "bad json: trailing comma": b'[16, 1, {}, "com.example.raw", [1,]]',
    "bad json: leading zero": b'[16, 1, {}, "com.example.raw", [01]]',
    "bad json: NaN": b'[16, 1, {}, "com.example.raw", [NaN]]',
    "bad json: Infinity": b'[16, 1, {}, "com.example.raw", [Infinity]]',
    "bad json: unterminated string": b'[16, 1, {}, "com.example.raw", ["abc]]',
    "bad json: missing colon": b'[16, 1, {}, "com.example.raw", [1], {"a" 1}]',
    "bad json: truncated": b'[16, 1, {}, "com.example.raw", [1], {"a": 1}',
    "bad json: bad literal": b'[16, 1, {}, "com.example.raw", [tru]]',
    "bad json: bad escape": b'[16, 1, {}, "com.example.raw", ["\\x41"]]',
    "bad json: raw control char in string": b'[16, 1, {}, "com.example.raw", ["a\x01b"]]',
    "bad json: invalid utf-8": b'[16, 1, {}, "com.example.raw", ["\xff\xfe"]]',
    "bad json: trailing garbage": b'[16, 1, {}, "com.example.raw", [1]] xyz',
    "bad json: single quotes": b"[16, 1, {}, 'com.example.raw']",
    "bad json: empty frame": b"",
    "bad json: not even json": b"hello broker",
    "not a list": b'{"16": 1}',
    "empty list": b"[]",
    "unknown message code 99": b"[99]",
    "unknown message code 99 with fields": b'[99, 1, {}, "x"]',
    "message code is a string": b'["16", 1, {}, "com.example.raw"]',
    "args not a list": b'[16, 1, {}, "com.example.raw", {"a": 1}]',
    "kwargs not a dict": b'[16, 1, {}, "com.example.raw", [1], [2]]',
    "options not a dict": b'[16, 1, [], "com.example.raw"]',
    "topic not a string": b'[32, 1, {}, 42]',
    "request id a string": b'[32, "1", {}, "com.example.raw"]',
    "request id a float": b'[32, 1.5, {}, "com.example.raw"]',
    "request id 0": b'[32, 0, {}, "com.example.raw"]',
    "request id negative": b'[32, -1, {}, "com.example.raw"]',
    "request id 2^53+1": b'[32, 9007199254740993, {}, "com.example.raw"]',
    "request id huge": b'[16, 100000000000000000000000, {}, "com.example.raw"]',
    "publish missing topic": b"[16, 1, {}]",
    "HELLO after WELCOME": b'[1, "realm1", {"roles": {"subscriber": {}}}]',
    "WELCOME from a client": b"[2, 1, {}]",
}


@pytest.mark.parametrize("case", list(AFTER_WELCOME))
def test_rawsocket_malformed_after_welcome(broker, case):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.hello("realm1")
            c.send_msg(AFTER_WELCOME[case])
            expect_protocol_violation(c, case)
    with_healthy(broker, raw)


BEFORE_WELCOME = {
    "bad json as first message": b'[1, "realm1", {]',
    "SUBSCRIBE before HELLO": b'[32, 1, {}, "com.example.raw"]',
    "PUBLISH before HELLO": b'[16, 1, {}, "com.example.raw", [1]]',
    "GOODBYE before HELLO": b'[6, {}, "wamp.close.normal"]',
    "AUTHENTICATE without CHALLENGE": b'[5, "c2lnbmF0dXJl", {}]',
    "HELLO realm not a string": b'[1, 42, {}]',
    "HELLO details not a dict": b'[1, "realm1", []]',
}


def test_rawsocket_message_while_challenge_pending(broker):
    """After a CHALLENGE only AUTHENTICATE (or ABORT) may come: a SUBSCRIBE is a violation."""
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.handshake()
            c.send_msg([1, "com.example.secure", {"authmethods": ["wampcra"], "authid": "alice",
                                                  "roles": {"subscriber": {}}}])
            assert c.recv_msg()[0] == 4
            c.send_msg([32, 1, {}, "com.example.sneaky"])
            expect_protocol_violation(c, "SUBSCRIBE while CHALLENGE pending")
    with_healthy(broker, raw)


@pytest.mark.parametrize("case", list(BEFORE_WELCOME))
def test_rawsocket_malformed_before_welcome(broker, case):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.handshake()
            c.send_msg(BEFORE_WELCOME[case])
            expect_protocol_violation(c, case)
    with_healthy(broker, raw)


def test_rawsocket_request_ids_edge_values_accepted(broker):
    # Non-sequential request ids are accepted (SPEC §4: any value in [1, 2^53]).
    def raw3():
        with RawSocketClient(broker.rs_port) as c:
            c.hello("realm1")
            for req in (2**53, 7, 7, 123456789012345, 1):
                c.send_msg([32, req, {}, "com.example.maxid"])
                reply = c.recv_msg()
                assert reply[:2] == [33, req], (req, reply)
            c.send_msg([16, 2**53, {"acknowledge": True}, "com.example.maxid", [1]])
            reply = c.recv_msg()
            assert reply[:2] == [17, 2**53] and 1 <= reply[2] <= 2**53, reply
    with_healthy(broker, raw3)


def test_rawsocket_oversize_frame(broker):
    def raw():
        with RawSocketClient(broker.rs_port, timeout=5) as c:
            c.handshake(0xF1)  # we accept up to 16 MiB
            c.hello("realm1")
            big = b'[16, 1, {}, "com.example.big", ["' + b"x" * (MAX_MESSAGE_BYTES + 1024) + b'"]]'
            c.send_msg(big)
            # SPEC §4: oversize frame -> ABORT protocol_violation, then close.
            expect_protocol_violation(c, "oversize RawSocket frame")
    with_healthy(broker, raw)


def test_rawsocket_just_under_limit_is_fine(broker):
    """The limit applies to the message size: a publication a bit under it goes through."""
    def raw():
        with RawSocketClient(broker.rs_port, timeout=5) as c:
            c.hello("realm1")
            c.send_msg([32, 1, {}, "com.example.nearlimit"])
            assert c.recv_msg()[0] == 33
            payload = "y" * (MAX_MESSAGE_BYTES - 1024)
            c.send_msg([16, 2, {"acknowledge": True, "exclude_me": False}, "com.example.nearlimit", [payload]])
            got = {}
            for _ in range(2):
                m = c.recv_msg()
                got[m[0]] = m
            assert 17 in got and 36 in got, got.keys()
            assert got[36][4] == [payload]
    with_healthy(broker, raw)


def test_rawsocket_handshake_reply(broker):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            reply = c.handshake(0xF1)
            assert reply[0] == 0x7F and reply[1] & 0x0F == 1 and reply[2:] == b"\x00\x00", reply.hex()
            length = 2 ** (9 + (reply[1] >> 4))
            assert length <= MAX_MESSAGE_BYTES, \
                f"broker advertises {length} bytes but max_message_bytes is {MAX_MESSAGE_BYTES}"
    with_healthy(broker, raw)


def test_rawsocket_bad_magic(broker):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.send_bytes(b"\x00\xf1\x00\x00")
            seen = c.wait_closed(3)
            assert seen == b"", f"bad magic must be closed without a reply, got {seen.hex()}"
    with_healthy(broker, raw)


@pytest.mark.parametrize("byte1,expected,what", [
    (0xF5, b"\x7f\x10\x00\x00", "serializer 5 (FlatBuffers) unsupported"),
    (0xF0, b"\x7f\x10\x00\x00", "serializer 0 is illegal"),
    (0xF2, b"\x7f\x10\x00\x00", "MessagePack not enabled on this listener"),
])
def test_rawsocket_unsupported_serializer(broker, byte1, expected, what):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            reply = c.handshake(byte1)
            assert reply == expected, f"{what}: got {reply.hex()}"
            c.wait_closed(3)
    with_healthy(broker, raw)


def test_rawsocket_reserved_bytes(broker):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            reply = c.handshake(0xF1, 0x01, 0x00)
            assert reply == b"\x7f\x30\x00\x00", f"use of reserved bits: got {reply.hex()}"
            c.wait_closed(3)
    with_healthy(broker, raw)


def test_rawsocket_ping_pong(broker):
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.hello("realm1")
            c.send_frame(b"ping-payload-\x00\xff", ftype=1)
            ftype, payload = c.recv_frame()
            assert (ftype, payload) == (2, b"ping-payload-\x00\xff")
            # Still a working session afterwards.
            c.send_msg([32, 5, {}, "com.example.pingpong"])
            assert c.recv_msg()[:2] == [33, 5]
    with_healthy(broker, raw)


def test_rawsocket_split_writes(broker):
    """A message arriving one byte at a time is still one message (resumable parsing)."""
    def raw():
        import time
        with RawSocketClient(broker.rs_port) as c:
            for b in b"\x7f\xf1\x00\x00":
                c.send_bytes(bytes([b]))
                time.sleep(0.002)
            c.handshake_reply = c.sock.recv(4)
            msg = json.dumps([1, "realm1", {"roles": {"subscriber": {}}}]).encode()
            frame = b"\x00" + len(msg).to_bytes(3, "big") + msg
            for i in range(len(frame)):
                c.send_bytes(frame[i:i + 1])
                time.sleep(0.001)
            assert c.recv_msg()[0] == 2
    with_healthy(broker, raw)


def test_rawsocket_pipelined_messages(broker):
    """Several frames in one TCP write are all processed, in order."""
    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.handshake()
            frames = b""
            for m in ([1, "realm1", {"roles": {"subscriber": {}, "publisher": {}}}],
                      [32, 1, {}, "com.example.pipe"],
                      [16, 2, {"acknowledge": True, "exclude_me": False}, "com.example.pipe", ["p"]],
                      [16, 3, {"acknowledge": True}, "com.example.pipe", ["q"]]):
                payload = json.dumps(m).encode()
                frames += b"\x00" + len(payload).to_bytes(3, "big") + payload
            c.send_bytes(frames)
            codes = [c.recv_msg()[0] for _ in range(5)]
            assert codes[0] == 2 and codes[1] == 33, codes
            assert sorted(codes[2:]) == [17, 17, 36], codes
    with_healthy(broker, raw)


# --- WebSocket raw wire ---------------------------------------------------------------------

def test_websocket_bad_json(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            assert c.response.status == 101, c.response
            c.hello("realm1")
            c.send_text(b'[16, 1, {}, "com.example.ws", [1,]]')
            expect_protocol_violation(c, "bad json over WebSocket")
    with_healthy(broker, raw)


def test_websocket_unknown_code(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.hello("realm1")
            c.send_text(b"[99]")
            expect_protocol_violation(c, "unknown code over WebSocket")
    with_healthy(broker, raw)


def test_websocket_subscribe_before_hello(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.send_text(b'[32, 1, {}, "com.example.ws"]')
            expect_protocol_violation(c, "SUBSCRIBE before HELLO over WebSocket")
    with_healthy(broker, raw)


def test_websocket_oversize_message(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port, timeout=5) as c:
            c.hello("realm1")
            big = b'[16, 1, {}, "com.example.big", ["' + b"x" * (MAX_MESSAGE_BYTES + 1024) + b'"]]'
            c.send_text(big)
            expect_protocol_violation(c, "oversize WebSocket message")
    with_healthy(broker, raw)


def test_websocket_oversize_fragmented_message(broker):
    """The limit is on the reassembled message, not on each fragment."""
    def raw():
        with RawWebSocketClient(broker.ws_port, timeout=5) as c:
            c.hello("realm1")
            big = b'[16, 1, {}, "com.example.big", ["' + b"x" * (MAX_MESSAGE_BYTES + 1024) + b'"]]'
            chunk = 16384
            pieces = [big[i:i + chunk] for i in range(0, len(big), chunk)]
            for i, piece in enumerate(pieces):
                opcode = 0x1 if i == 0 else 0x0
                if not c.send_bytes(c.frame(opcode, piece, fin=(i == len(pieces) - 1))):
                    break
            expect_protocol_violation(c, "oversize fragmented WebSocket message")
    with_healthy(broker, raw)


def test_websocket_fragmented_and_interleaved_ping(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            hello = json.dumps([1, "realm1", {"roles": {"subscriber": {}, "publisher": {}}}]).encode()
            a, b, d = hello[:5], hello[5:11], hello[11:]
            c.send_bytes(c.frame(0x1, a, fin=False))
            c.send_bytes(c.frame(0x9, b"mid-ping"))  # control frames may interleave fragments
            c.send_bytes(c.frame(0x0, b, fin=False))
            c.send_bytes(c.frame(0x0, d, fin=True))
            # A PONG with the ping's payload, and the WELCOME, in either order.
            seen_pong = seen_welcome = False
            for _ in range(2):
                fin, opcode, masked, payload = c.recv_frame()
                if opcode == 0xA:
                    assert payload == b"mid-ping"
                    seen_pong = True
                elif opcode == 0x1:
                    assert json.loads(payload)[0] == 2
                    seen_welcome = True
            assert seen_pong and seen_welcome
    with_healthy(broker, raw)


def test_websocket_unmasked_client_frame_fails_connection(broker):
    """RFC 6455 5.1: a server MUST close the connection on an unmasked client frame."""
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.hello("realm1")
            c.send_bytes(c.frame(0x1, b'[32, 1, {}, "com.example.unmasked"]', mask=False))
            try:
                kind, payload = c.recv_message(timeout=3)
            except Closed:
                return
            if kind == "close":
                assert payload[0] == 1002, payload
                return
            msg = json.loads(payload)
            assert msg[0] == 3, f"unmasked frame was processed: {msg!r}"
    with_healthy(broker, raw)


def test_websocket_close_handshake(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.hello("realm1")
            c.send_bytes(c.frame(0x8, (1000).to_bytes(2, "big") + b"bye"))
            kind, payload = c.recv_message(timeout=3)
            assert kind == "close" and payload[0] == 1000, (kind, payload)
            c.wait_closed(3)
    with_healthy(broker, raw)


def test_websocket_binary_frame_on_json_is_violation(broker):
    """wamp.2.json uses text frames; a binary frame is not a JSON WAMP message."""
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.hello("realm1")
            c.send_bytes(c.frame(0x2, b'[32, 1, {}, "com.example.binary"]'))
            try:
                kind, payload = c.recv_message(timeout=3)
            except Closed:
                return
            if kind == "close":
                return
            msg = json.loads(payload)
            assert msg[0] == 3 and msg[2] == PV, msg
    with_healthy(broker, raw)


# --- Close-frame rules (RFC 6455 §5.5.1, §7.1.6, §7.4) -------------------------------------

@pytest.mark.parametrize("payload,code,what", [
    ((1000).to_bytes(2, "big") + b"bye \xff\xfe", 1007, "reason that is not UTF-8"),
    ((1000).to_bytes(2, "big") + b"\xed\xa0\x80", 1007, "reason with a UTF-16 surrogate"),
    (b"\x03", 1002, "payload of 1 byte"),
    ((1005).to_bytes(2, "big"), 1002, "code 1005 (never on the wire)"),
    ((999).to_bytes(2, "big"), 1002, "code 999"),
    ((2000).to_bytes(2, "big"), 1002, "code 2000 (reserved)"),
])
def test_websocket_bad_close_frame_gets_its_close_code(broker, payload, code, what):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.hello("realm1")
            c.send_bytes(c.frame(0x8, payload))
            kind, answer = c.recv_message(timeout=3)
            assert kind == "close" and answer[0] == code, f"{what}: {kind} {answer!r}"
            c.wait_closed(3)
    with_healthy(broker, raw)


def test_websocket_close_with_utf8_reason_is_answered_normally(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            c.hello("realm1")
            c.send_bytes(c.frame(0x8, (1001).to_bytes(2, "big") + "au revoir, café ☕".encode()))
            kind, answer = c.recv_message(timeout=3)
            assert kind == "close" and answer[0] == 1000, (kind, answer)
            c.wait_closed(3)
    with_healthy(broker, raw)


# --- RawSocket length limits: announce what is enforced, send no more than announced --------

def test_rawsocket_announces_exactly_the_enforced_limit(fresh_broker):
    """max_message_bytes 100000 is not a power of two: the hello reply announces 65536 (rounded
    down), a frame of exactly 65536 bytes is accepted and one of 65537 is refused."""
    broker = fresh_broker(lambda cfg: cfg["limits"].update(max_message_bytes=100_000))
    prefix = b'[16, 1, {"acknowledge": true}, "com.example.exact", ["'
    suffix = b'"]]'

    def publish_of(size):
        return prefix + b"z" * (size - len(prefix) - len(suffix)) + suffix

    with RawSocketClient(broker.rs_port, timeout=5) as c:
        reply = c.handshake(0xF1)
        announced = 2 ** (9 + (reply[1] >> 4))
        assert announced == 65536, f"announced {announced} bytes for max_message_bytes 100000"
        c.hello("realm1")
        c.send_msg(publish_of(announced))
        msg = c.recv_msg()
        assert msg[:2] == [17, 1], f"a frame of exactly the announced size must be accepted: {msg!r}"
    with RawSocketClient(broker.rs_port, timeout=5) as c:
        c.handshake(0xF1)
        c.hello("realm1")
        c.send_msg(publish_of(announced + 1))
        msg = expect_protocol_violation(c, "one byte over the announced limit")
        assert "65537" in msg[1]["message"] and "65536" in msg[1]["message"], msg


def test_rawsocket_replies_fit_the_clients_announced_limit(broker):
    """A client announcing 512 bytes (exponent 0) gets no frame larger than that: an ERROR that
    quotes a long URI is cut, and a PONG it could not receive is not sent."""
    def raw():
        with RawSocketClient(broker.rs_port, timeout=5) as c:
            c.handshake(0x01)
            c.hello("realm1")
            c.send_msg([32, 7, {}, "com..bad" + "x" * 900])   # within limits.max_uri_bytes
            ftype, payload = c.recv_frame()
            assert ftype == 0 and len(payload) <= 512, f"frame of {len(payload)} bytes to a 512-byte client"
            msg = json.loads(payload)
            assert msg[:3] == [8, 32, 7] and msg[4] == "wamp.error.invalid_uri", msg
            assert msg[3]["message"].endswith("bytes)"), msg   # cut, naming the full length
            c.send_frame(b"p" * 600, ftype=1)     # its PONG would be 600 bytes
            c.send_frame(b"sentinel", ftype=1)
            assert c.recv_frame() == (2, b"sentinel"), "the oversized PONG must not be sent"
    with_healthy(broker, raw)


def test_rawsocket_reply_that_cannot_fit_ends_the_session(broker):
    """An ERROR still over 512 bytes after cutting its message (control characters grow six-fold
    in JSON) is not sent to a 512-byte client: ABORT limit_exceeded naming the limit instead."""
    def raw():
        with RawSocketClient(broker.rs_port, timeout=5) as c:
            c.handshake(0x01)
            c.hello("realm1")
            c.send_msg([32, 7, {}, "com..\x01" * 100])
            ftype, payload = c.recv_frame()
            assert ftype == 0 and len(payload) <= 512, f"frame of {len(payload)} bytes to a 512-byte client"
            msg = json.loads(payload)
            assert msg[0] == 3 and msg[2] == "fastbroker.error.limit_exceeded", msg
            assert "limit of 512 bytes" in msg[1]["message"], msg
            c.wait_closed(3)
    with_healthy(broker, raw)


# --- Half-close: replies to the last requests before the peer's FIN still arrive -------------

def _tcp_queues(local_port, remote_port):
    """(bytes not yet acknowledged by the peer, bytes not yet read by the process) of the
    loopback TCP socket local_port -> remote_port, from /proc/net/tcp."""
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            fields = row.split()
            local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
            if (local, remote) == (local_port, remote_port):
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    raise AssertionError(f"no socket {local_port} -> {remote_port}")


def _half_close_with_backlog(c, encode_frame):
    """Subscribes and publishes (acknowledged, to itself) 6.6 MB of events while not reading,
    more than the kernel's socket buffers hold (send buffer at most 4 MiB, tcp_wmem), so part
    stays queued in the broker; then sends FIN: every reply and event must still arrive, then
    the close. (Output queued below max_session_outbound_bytes, 8 MiB.)"""
    c.hello("realm1")
    topic = "com.example.halfclose"
    count, payload = 110, "h" * 60_000
    requests = [[32, 1, {}, topic]] + [
        [16, 2 + i, {"acknowledge": True, "exclude_me": False}, topic, [i, payload]] for i in range(count)]
    c.sock.sendall(b"".join(encode_frame(json.dumps(m).encode()) for m in requests))
    # FIN only once the broker has read every request (so its replies are queued, not yet
    # read by us): its side of the connection has nothing left to read, ours nothing to send.
    ours, theirs = c.sock.getsockname()[1], c.sock.getpeername()[1]
    deadline = time.monotonic() + 10
    while _tcp_queues(ours, theirs)[0] or _tcp_queues(theirs, ours)[1]:
        assert time.monotonic() < deadline, "the broker did not read the requests"
        time.sleep(0.01)
    c.sock.shutdown(socket.SHUT_WR)
    assert c.recv_msg(5)[:2] == [33, 1]
    acks, events = set(), []
    while len(acks) < count or len(events) < count:
        try:
            m = c.recv_msg(10)
        except Closed as exc:
            raise AssertionError(f"closed after {len(acks)} of {count} PUBLISHED and {len(events)} "
                                 f"of {count} EVENTs: queued output was dropped ({exc})") from None
        if m[0] == 17:
            acks.add(m[1])
        else:
            assert m[0] == 36, m[:3]
            events.append(m[4][0])
    assert acks == set(range(2, 2 + count)) and events == list(range(count))


def test_rawsocket_half_close_still_gets_queued_replies(broker):
    def raw():
        with RawSocketClient(broker.rs_port, timeout=5) as c:
            _half_close_with_backlog(c, lambda p: bytes([0]) + len(p).to_bytes(3, "big") + p)
            c.wait_closed(5)
    with_healthy(broker, raw)


def test_websocket_half_close_still_gets_queued_replies(broker):
    def raw():
        with RawWebSocketClient(broker.ws_port) as c:
            _half_close_with_backlog(c, lambda p: c.frame(0x1, p))
            assert c.wait_closed(5) == (1000, ""), "expected a close frame before EOF"
    with_healthy(broker, raw)
