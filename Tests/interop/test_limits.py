# Bounded resources (SPEC §3 limits, §6): the handshake timeout closes connections that do not
# reach WELCOME in time, and a subscriber over its outbound limit is disconnected (or its
# events dropped) without disturbing the others. Each test runs its own broker with small limits.

import asyncio
import socket
import time

import pytest

from rawwire import HOST, Closed, RawSocketClient, RawWebSocketClient, get_metrics, metric_sum, wait_closed
from wampclient import Inbox, ack, connect, publish, run, unique

HANDSHAKE_MS = 600


def small_handshake(cfg):
    cfg["limits"]["handshake_timeout_ms"] = HANDSHAKE_MS


def test_handshake_timeout(fresh_broker):
    broker = fresh_broker(small_handshake)

    def closed_within(sock_or_client, what):
        start = time.monotonic()
        try:
            if isinstance(sock_or_client, socket.socket):
                wait_closed(sock_or_client, timeout=4)
            else:
                sock_or_client.wait_closed(timeout=4)
        except TimeoutError:
            raise AssertionError(f"{what}: still open 4s after connecting (handshake_timeout_ms={HANDSHAKE_MS})")
        return time.monotonic() - start

    async def body():
        healthy = await connect(broker, "ws", "realm1")

        def cases():
            tcp_only = socket.create_connection((HOST, broker.rs_port))
            rs_handshaked = RawSocketClient(broker.rs_port); rs_handshaked.handshake()
            rs_challenged = RawSocketClient(broker.rs_port); rs_challenged.handshake()
            rs_challenged.send_msg([1, "com.example.secure", {"authmethods": ["wampcra"], "authid": "alice",
                                                              "roles": {"subscriber": {}}}])
            assert rs_challenged.recv_msg()[0] == 4
            ws_tcp_only = socket.create_connection((HOST, broker.ws_port))
            ws_upgraded = RawWebSocketClient(broker.ws_port)
            assert ws_upgraded.response.status == 101
            took = [closed_within(tcp_only, "RawSocket port, no bytes"),
                    closed_within(rs_handshaked, "RawSocket handshake, no HELLO"),
                    closed_within(rs_challenged, "CHALLENGE never answered"),
                    closed_within(ws_tcp_only, "WebSocket port, no HTTP request"),
                    closed_within(ws_upgraded, "WebSocket upgraded, no HELLO")]
            for s in (tcp_only, ws_tcp_only):
                s.close()
            for c in (rs_handshaked, rs_challenged, ws_upgraded):
                c.close()
            return took

        await asyncio.to_thread(cases)
        # A joined session is not subject to the handshake timeout.
        await asyncio.sleep(HANDSHAKE_MS / 1000 + 0.3)
        inbox = Inbox(healthy)
        topic = unique("com.example.aftertimeout")
        await inbox.subscribe(topic)
        await publish(healthy, topic, 1, options=ack())
        other = await connect(broker, "rs", "realm1")
        await publish(other, topic, 2)
        assert (await inbox.get()).args == [2]
    run(body())


def slow_consumer(mode):
    def mutate(cfg):
        cfg["limits"]["max_session_outbound_bytes"] = 65536
        cfg["limits"]["slow_consumer"] = mode
    return mutate


def stalled_subscriber(port, topic):
    """A RawSocket subscriber with a tiny receive buffer that then stops reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(3)
    sock.connect((HOST, port))
    c = RawSocketClient.__new__(RawSocketClient)
    c.sock, c.timeout, c.handshake_reply, c.welcome = sock, 3.0, None, None
    c.hello("realm1")
    c.send_msg([32, 1, {}, topic])
    assert c.recv_msg()[0] == 33
    return c


def flood(pub, topic, count=600, size=8000):
    blob = "s" * size
    for n in range(count):
        pub.publish(topic, n, blob)


def test_slow_consumer_disconnect(fresh_broker):
    broker = fresh_broker(slow_consumer("disconnect"))

    async def body():
        topic = unique("com.example.slow")
        stalled = await asyncio.to_thread(stalled_subscriber, broker.rs_port, topic)
        pub = await connect(broker, "ws", "realm1")
        survivor = await connect(broker, "rs", "realm1")
        inbox = Inbox(survivor)
        await inbox.subscribe(topic)
        # Paced so that the (Python) survivor keeps up and stays under its own limit, while
        # the stalled one falls ever further behind.
        blob = "s" * 8000
        got = []
        for batch in range(150):
            for n in range(batch * 4, batch * 4 + 4):
                pub.publish(topic, n, blob)
            for _ in range(4):
                got.append((await inbox.get(timeout=5)).args[0])
        assert got == list(range(600)), "the fast subscriber must get every event"

        def drain():
            """Reads what the broker sent the stalled subscriber; returns the last message."""
            last = None
            while True:
                try:
                    last = stalled.recv_msg(timeout=5)
                except Closed:
                    return last
        last = await asyncio.to_thread(drain)
        stalled.close()
        if last is not None and last[0] == 3:
            assert last[2] == "fastbroker.error.slow_consumer", last
        _, text = await asyncio.to_thread(get_metrics, broker)
        assert metric_sum(text, "fastbroker_slow_consumer_disconnects_total") >= 1, text
        assert (await publish(pub, topic, "still-up", options=ack())).id >= 1
    run(body())


def test_slow_consumer_drop(fresh_broker):
    broker = fresh_broker(slow_consumer("drop"))

    async def body():
        topic = unique("com.example.drop")
        stalled = await asyncio.to_thread(stalled_subscriber, broker.rs_port, topic)
        pub = await connect(broker, "ws", "realm1")
        flood(pub, topic)
        await publish(pub, topic, "flooded", options=ack())

        def drain():
            """Reads until the broker has had nothing more to send for a second."""
            seen = []
            while True:
                try:
                    msg = stalled.recv_msg(timeout=1)
                except TimeoutError:
                    return seen
                assert msg[0] == 36, f"drop mode must not disconnect: {msg[:3]}"
                seen.append(msg[4][0])
        seen = await asyncio.to_thread(drain)
        assert len(seen) < 600, "nothing was dropped: the flood did not exceed the limit?"
        numbers = [x for x in seen if isinstance(x, int)]
        assert numbers == sorted(numbers), "delivered events keep their order"
        _, text = await asyncio.to_thread(get_metrics, broker)
        drops = metric_sum(text, "fastbroker_drops_total")
        assert drops is not None and drops >= 600 - len(seen), (len(seen), text)
        # Once drained, the subscriber gets events again.
        await publish(pub, topic, "after")
        assert (await asyncio.to_thread(stalled.recv_msg))[4] == ["after"]
        stalled.close()
    run(body())
