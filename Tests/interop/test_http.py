# The HTTP side of the WebSocket listener: subprotocol negotiation (SPEC §4: an upgrade
# offering no supported subprotocol gets HTTP 400 naming the supported ones), the
# Sec-WebSocket-Accept computation, and GET /metrics in Prometheus text format (SPEC §6).

import asyncio
import re
import time

import pytest

from rawwire import expected_accept, get_metrics, http_get, http_request, metric_sum, upgrade_request
from wampclient import Inbox, connect, publish, run, unique


@pytest.mark.parametrize("protocols", [None, "mqtt", "wamp.2.cbor", "wamp.1.json, chat"])
def test_upgrade_without_acceptable_subprotocol(broker, protocols):
    request, _ = upgrade_request(broker.ws_port, "/ws", protocols)
    resp = http_request(broker.ws_port, request)
    assert resp.status == 400, resp
    assert b"wamp.2.json" in resp.body, f"400 body must name the supported subprotocols: {resp.body!r}"


@pytest.mark.parametrize("offered", ["wamp.2.json", "wamp.2.msgpack, wamp.2.json", "foo, wamp.2.json"])
def test_upgrade_accepts_json(broker, offered):
    request, key = upgrade_request(broker.ws_port, "/ws", offered)
    import socket
    from rawwire import read_http_response
    with socket.create_connection(("127.0.0.1", broker.ws_port), timeout=3) as sock:
        sock.sendall(request)
        resp, _ = read_http_response(sock)
    assert resp.status == 101, resp
    assert resp.headers.get("upgrade", "").lower() == "websocket", resp.headers
    assert "upgrade" in resp.headers.get("connection", "").lower(), resp.headers
    assert resp.headers.get("sec-websocket-accept") == expected_accept(key), resp.headers
    # The listener is configured with json only, so json is chosen even when msgpack is offered first.
    assert resp.headers.get("sec-websocket-protocol") == "wamp.2.json", resp.headers


def test_upgrade_wrong_path(broker):
    request, _ = upgrade_request(broker.ws_port, "/not-ws", "wamp.2.json")
    resp = http_request(broker.ws_port, request)
    assert resp.status in (400, 404), resp


def test_garbage_http_request_is_answered_or_closed(broker):
    """A non-HTTP byte stream on the WebSocket port gets a 4xx or a close, never a hang; the
    broker keeps working."""
    import socket
    from rawwire import wait_closed
    with socket.create_connection(("127.0.0.1", broker.ws_port), timeout=3) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello\r\n\r\n")
        seen = wait_closed(sock, timeout=6)
        if seen:
            assert re.match(rb"HTTP/1\.[01] 4\d\d", seen), seen[:100]
    assert http_get(broker.ws_port, "/metrics").status == 200


def test_metrics_endpoint(broker):
    resp, text = get_metrics(broker)
    assert resp.headers.get("content-type", "").startswith("text/plain"), resp.headers
    for name in ("fastbroker_sessions", "fastbroker_events_delivered_total"):
        assert metric_sum(text, name) is not None, f"{name} missing from /metrics:\n{text[:2000]}"
    assert re.search(r"^# TYPE fastbroker_events_delivered_total counter$", text, re.M), text[:2000]
    # Every sample line is well-formed Prometheus text: name{labels} value [timestamp].
    for line in text.splitlines():
        if line and not line.startswith("#"):
            m = re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (\S+)( -?\d+)?$', line)
            assert m, f"malformed sample line: {line!r}"
            float(m.group(3))


def test_metrics_count_sessions_and_events(broker):
    async def body():
        _, text = await asyncio.to_thread(get_metrics, broker)
        sessions0 = metric_sum(text, "fastbroker_sessions")
        delivered0 = metric_sum(text, "fastbroker_events_delivered_total")

        topic = unique("com.example.metrics")
        subs = [await connect(broker, t, "realm1") for t in ("ws", "rs", "ws")]
        pub = await connect(broker, "rs", "realm1")
        inboxes = [Inbox(s) for s in subs]
        for i in inboxes:
            await i.subscribe(topic)
        for n in range(4):
            await publish(pub, topic, n)
        for i in inboxes:
            for _ in range(4):
                await i.get()

        _, text = await asyncio.to_thread(get_metrics, broker)
        assert metric_sum(text, "fastbroker_sessions") >= sessions0 + 4, text
        assert metric_sum(text, "fastbroker_events_delivered_total") >= delivered0 + 12, text

        # Sessions that go away (cleanly or not) are no longer counted.
        subs[0].leave()
        subs[1].abort()
        subs[2].abort()
        pub.abort()
        deadline = time.monotonic() + 3
        while True:
            _, text = await asyncio.to_thread(get_metrics, broker)
            now = metric_sum(text, "fastbroker_sessions")
            if now <= sessions0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert now <= sessions0, f"sessions gauge {now} did not return to {sessions0} after the sessions ended"
    run(body())
