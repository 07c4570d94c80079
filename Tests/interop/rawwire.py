# Raw-wire clients for the interop tests: a RawSocket client and a WebSocket client written
# on plain Python sockets, so tests can send exactly the bytes they want (malformed JSON,
# unknown codes, oversize frames, bad handshakes) and see exactly what the broker answers.
# Every read has a timeout: a broker that hangs fails a test instead of hanging the suite.

import base64
import hashlib
import json
import os
import re
import socket
import struct
import time

HOST = "127.0.0.1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_ID = 2**53


class Closed(Exception):
    """The peer closed the connection (EOF or reset) before a full frame arrived."""


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _recv_exact(sock, n, deadline):
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {n - len(buf)} more bytes")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            raise TimeoutError(f"timed out waiting for {n - len(buf)} more bytes") from None
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise Closed(f"connection reset after {len(buf)} of {n} bytes") from exc
        if not chunk:
            raise Closed(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def wait_closed(sock, timeout=3.0):
    """Reads and discards until EOF/reset. Returns the bytes seen; raises TimeoutError if the
    peer keeps the connection open past the timeout."""
    deadline = time.monotonic() + timeout
    seen = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("connection still open")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("connection still open") from None
        except (ConnectionResetError, BrokenPipeError):
            return bytes(seen)
        if not chunk:
            return bytes(seen)
        seen += chunk


def send_ignoring_reset(sock, data):
    """Sends data; a peer that already closed (it may have aborted mid-frame) is not an error."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


class RawSocketClient:
    """WAMP over RawSocket (JSON). Frames: 1 byte type (0 message, 1 ping, 2 pong) + 3 bytes
    big-endian length."""

    def __init__(self, port, timeout=3.0):
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.handshake_reply = None
        self.welcome = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Closes with RST (SO_LINGER 0) instead of FIN: an abrupt client death."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_bytes(self, data):
        return send_ignoring_reset(self.sock, data)

    def handshake(self, byte1=0xF1, byte2=0, byte3=0):
        self.sock.sendall(bytes([0x7F, byte1, byte2, byte3]))
        self.handshake_reply = _recv_exact(self.sock, 4, time.monotonic() + self.timeout)
        return self.handshake_reply

    def send_frame(self, payload, ftype=0):
        return self.send_bytes(bytes([ftype]) + len(payload).to_bytes(3, "big") + payload)

    def send_msg(self, msg):
        return self.send_frame(msg if isinstance(msg, (bytes, bytearray)) else dumps(msg))

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        header = _recv_exact(self.sock, 4, deadline)
        length = int.from_bytes(header[1:4], "big")
        return header[0] & 0x07, _recv_exact(self.sock, length, deadline)

    def recv_msg(self, timeout=None):
        """The next WAMP message, decoded. Answers broker PINGs on the way."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            ftype, payload = self.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
            if ftype == 1:
                self.send_frame(payload, ftype=2)
                continue
            if ftype == 2:
                continue
            return json.loads(payload)

    def hello(self, realm="realm1", details=None):
        if self.handshake_reply is None:
            self.handshake()
        self.send_msg([1, realm, details or {"roles": {"subscriber": {}, "publisher": {}}}])
        msg = self.recv_msg()
        assert msg[0] == 2, f"expected WELCOME, got {msg!r}"
        self.welcome = msg
        return msg

    def wait_closed(self, timeout=3.0):
        return wait_closed(self.sock, timeout)


class HTTPResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-cased names
        self.body = body

    def __repr__(self):
        return f"HTTPResponse({self.status} {self.reason}, {self.headers}, {self.body[:200]!r})"


def read_http_response(sock, timeout=3.0):
    """Reads a status line + headers (+ Content-Length body, or body until EOF if the response
    is not a 101). Returns (HTTPResponse, leftover bytes after the head for a 101)."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete HTTP head, got {bytes(buf)!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no complete HTTP head, got {bytes(buf)!r}") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(f"EOF before end of HTTP head, got {bytes(buf)!r}")
        buf += chunk
    head, rest = bytes(buf).split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status == 101:
        return HTTPResponse(status, reason, headers, b""), rest
    body = bytearray(rest)
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(body) < n:
            body += _recv_exact(sock, n - len(body), deadline)
        body = body[:n]
    else:
        try:
            body += wait_closed(sock, max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            pass
    return HTTPResponse(status, reason, headers, bytes(body)), b""


def http_request(port, raw_request, timeout=3.0):
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(raw_request)
        resp, _ = read_http_response(sock, timeout)
        return resp


def http_get(port, path, timeout=3.0):
    return http_request(
        port,
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode(),
        timeout,
    )


def upgrade_request(port, path, protocols, key=None):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


def expected_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class RawWebSocketClient:
    """A minimal RFC 6455 client: masked frames, fragmentation on request, answers pings."""

    def __init__(self, port, path="/ws", protocols="wamp.2.json", timeout=3.0):
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        request, key = upgrade_request(port, path, protocols)
        self.sock.sendall(request)
        self.response, self._pending = read_http_response(self.sock, timeout)
        self.key = key
        self.welcome = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def frame(opcode, payload, fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            head = bytes([b0, (0x80 if mask else 0) | n])
        elif n < 65536:
            head = bytes([b0, (0x80 if mask else 0) | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([b0, (0x80 if mask else 0) | 127]) + n.to_bytes(8, "big")
        if not mask:
            return head + payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return head + key + masked

    def send_bytes(self, data):
        return send_ignoring_reset(self.sock, data)

    def send_text(self, payload):
        return self.send_bytes(self.frame(0x1, payload))

    def send_msg(self, msg):
        return self.send_text(msg if isinstance(msg, (bytes, bytearray)) else dumps(msg))

    def _read(self, n, deadline):
        if self._pending:
            take = self._pending[:n]
            self._pending = self._pending[n:]
            if len(take) == n:
                return take
            return take + _recv_exact(self.sock, n - len(take), deadline)
        return _recv_exact(self.sock, n, deadline)

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        b0, b1 = self._read(2, deadline)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._read(2, deadline), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8, deadline), "big")
        masked = bool(b1 & 0x80)
        key = self._read(4, deadline) if masked else None
        payload = self._read(n, deadline) if n else b""
        if masked:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, masked, payload

    def recv_message(self, timeout=None):
        """Returns ("text"|"binary", payload) or ("close", (code, reason)). Joins fragments;
        answers pings."""
        deadline = time.monotonic() + (timeout or self.timeout)
        parts, kind = [], None
        while True:
            fin, opcode, masked, payload = self.recv_frame(max(0.01, deadline - time.monotonic()))
            assert not masked, "server frames must not be masked (RFC 6455 5.1)"
            if opcode == 0x9:
                self.send_bytes(self.frame(0xA, payload))
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                return "close", (code, payload[2:].decode("utf-8", "replace"))
            if opcode in (0x1, 0x2):
                kind = "text" if opcode == 0x1 else "binary"
            parts.append(payload)
            if fin:
                return kind, b"".join(parts)

    def recv_msg(self, timeout=None):
        kind, payload = self.recv_message(timeout)
        if kind == "close":
            raise Closed(f"WebSocket close frame {payload}")
        assert kind == "text", f"wamp.2.json must use text frames, got {kind}"
        return json.loads(payload)

    def hello(self, realm="realm1"):
        self.send_msg([1, realm, {"roles": {"subscriber": {}, "publisher": {}}}])
        msg = self.recv_msg()
        assert msg[0] == 2, f"expected WELCOME, got {msg!r}"
        self.welcome = msg
        return msg

    def wait_closed(self, timeout=3.0):
        """Reads until EOF; returns the close frame (code, reason) if one arrived, else None.
        Replies to a close frame as RFC 6455 asks."""
        deadline = time.monotonic() + timeout
        close = None
        while True:
            try:
                kind, payload = self.recv_message(max(0.01, deadline - time.monotonic()))
            except Closed:
                return close
            if kind == "close" and close is None:
                close = payload
                self.send_bytes(self.frame(0x8, b"\x03\xe8"))


def metric_sum(text, name):
    """Sum of all samples of a metric (any labels). None if the metric is absent."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name:
            total += float(m.group(3))
            found = True
    return total if found else None


def get_metrics(broker, timeout=10.0):
    # An observation, not a latency check (tests that bound responsiveness time their own HELLO):
    # under ASan on a loaded 2-core machine a loop busy with a flood may take seconds to answer.
    resp = http_get(broker.ws_port, "/metrics", timeout)
    assert resp.status == 200, resp
    return resp, resp.body.decode("utf-8")
