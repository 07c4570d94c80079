# Connection caps (SPEC §3 `max_connections`, `max_connections_per_ip`): one address, or everyone
# together, opening more connections than allowed. The connection over the cap gets the
# transport's refusal at once — RawSocket handshake error 4 "max connection count reached"
# (0x7F 0x40 0 0), WebSocket HTTP 503 naming the limit — and is closed; the admitted connections
# keep working, a slot freed by a close is reused, the refusals are counted, and a fresh HELLO
# is answered afterwards. All connections come from 127.0.0.1, so the per-IP cap sees them all.

import socket
import time

from conftest import assert_healthy
from rawwire import HOST, Closed, RawSocketClient, get_metrics, read_http_response, upgrade_request, wait_closed

REFUSED_RAWSOCKET = bytes([0x7F, 0x40, 0, 0])   # error 4 in the high nibble of octet 2


def limits(**values):
    def mutate(config):
        config["limits"].update(values)
    return mutate


def admitted_rawsocket(broker, within=3.0):
    """A RawSocket client past the handshake. Slots of connections that just closed are given
    back when the broker sees the close, so a refusal is retried until `within` runs out."""
    deadline = time.monotonic() + within
    while True:
        client = RawSocketClient(broker.rs_port)
        reply = client.handshake()
        if reply != REFUSED_RAWSOCKET:
            assert reply[0] == 0x7F and reply[1] & 0x0F == 1, f"unexpected handshake reply {reply.hex()}"
            return client
        client.close()
        assert time.monotonic() < deadline, "no connection admitted: a freed slot was never given back"
        time.sleep(0.02)


def close_and_wait(client):
    """Closes our side and waits for the broker's: once it has closed, the slot is free."""
    client.sock.shutdown(socket.SHUT_WR)
    wait_closed(client.sock, timeout=3.0)
    client.close()


def assert_rawsocket_refused(broker):
    """The handshake is answered with error 4 and the connection closed, within a second."""
    start = time.monotonic()
    client = RawSocketClient(broker.rs_port, timeout=1.0)
    try:
        reply = client.handshake()
        assert reply == REFUSED_RAWSOCKET, f"expected 7f400000 (max connection count reached), got {reply.hex()}"
        assert client.wait_closed(timeout=1.0) == b"", "bytes after the refusal"
    finally:
        client.close()
    assert time.monotonic() - start < 1.5


def assert_websocket_refused(broker, limit_name):
    sock = socket.create_connection((HOST, broker.ws_port), timeout=2.0)
    try:
        request, _ = upgrade_request(broker.ws_port, "/ws", "wamp.2.json")
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the refusal came first; it is still readable
        response, _ = read_http_response(sock, timeout=2.0)
        assert response.status == 503, response
        assert limit_name.encode() in response.body, response
        wait_closed(sock, timeout=1.0)
    finally:
        sock.close()


def refusals(broker, limit):
    _, text = get_metrics(broker)
    prefix = f'fastbroker_limit_refusals_total{{limit="{limit}"}} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"no {prefix.strip()} in the metrics"
    return int(lines[0][len(prefix):])


def test_per_ip_cap(fresh_broker):
    cap = 3
    broker = fresh_broker(limits(max_connections_per_ip=cap))
    clients = [admitted_rawsocket(broker) for _ in range(cap)]
    try:
        for client in clients:   # admitted connections are whole WAMP sessions
            client.hello()
        assert_rawsocket_refused(broker)
        assert_websocket_refused(broker, "max_connections_per_ip")
        # The sessions under the cap are unaffected.
        clients[0].send_msg([32, 1, {}, "com.example.cap"])
        assert clients[0].recv_msg()[0] == 33
        # A slot freed by a close is given back (bounded wait inside admitted_rawsocket).
        close_and_wait(clients.pop())
        clients.append(admitted_rawsocket(broker))
        clients[-1].hello()
        assert_rawsocket_refused(broker)
    finally:
        for client in clients:
            close_and_wait(client)
    assert refusals(broker, "max_connections_per_ip") >= 3
    assert refusals(broker, "max_connections") == 0
    assert_healthy(broker)


def test_total_cap(fresh_broker):
    cap = 4
    broker = fresh_broker(limits(max_connections=cap, max_connections_per_ip=1000))
    clients = [admitted_rawsocket(broker) for _ in range(cap)]
    try:
        assert_rawsocket_refused(broker)
        assert_websocket_refused(broker, "max_connections")
        close_and_wait(clients.pop())
        clients.append(admitted_rawsocket(broker))
        clients[-1].hello()
    finally:
        for client in clients:
            close_and_wait(client)
    assert refusals(broker, "max_connections") >= 2
    assert_healthy(broker)


def test_refused_flood_does_not_leak_slots(fresh_broker):
    """Many refused connections (some closed by the client first, some reset) take no slot:
    once the admitted ones close, the full cap is available again."""
    cap = 2
    broker = fresh_broker(limits(max_connections_per_ip=cap))
    clients = [admitted_rawsocket(broker) for _ in range(cap)]
    for i in range(60):
        sock = socket.create_connection((HOST, broker.rs_port), timeout=2.0)
        if i % 2:
            sock.sendall(bytes([0x7F, 0xF1, 0, 0]))
        sock.close()
    assert_rawsocket_refused(broker)
    for client in clients:
        close_and_wait(client)
    again = [admitted_rawsocket(broker) for _ in range(cap)]
    for client in again:
        client.hello()
        close_and_wait(client)
    assert_healthy(broker)


def test_tls_listener_refuses_by_closing(fresh_broker, tmp_path):
    """Over a cap, a TLS listener sends no plaintext refusal (SPEC: plaintext is never answered
    on a TLS port): the connection is just closed, at once."""
    import shutil

    import pytest
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI")
    from conftest import free_port
    from test_tls import make_certificates

    make_certificates(tmp_path)
    port = free_port()

    def mutate(config):
        config["limits"]["max_connections_per_ip"] = 2
        config["listeners"].append({"transport": "rawsocket", "host": "127.0.0.1", "port": port, "serializers": ["json"],
                                    "tls": {"certificate": str(tmp_path / "server.crt"), "key": str(tmp_path / "server.key")}})

    broker = fresh_broker(mutate)
    deadline = time.monotonic() + 5   # listeners start in order; the TLS one is last
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the TLS listener never accepted"
            time.sleep(0.05)
    clients = [admitted_rawsocket(broker) for _ in range(2)]
    try:
        sock = socket.create_connection((HOST, port), timeout=2)
        try:
            start = time.monotonic()
            try:
                sock.sendall(b"\x16\x03\x01\x00\x05hello")   # the start of a TLS record
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert wait_closed(sock, timeout=2.0) == b"", "plaintext sent on a TLS listener"
            assert time.monotonic() - start < 1.5
        finally:
            sock.close()
    finally:
        for client in clients:
            close_and_wait(client)
    assert refusals(broker, "max_connections_per_ip") >= 1
    assert_healthy(broker)
