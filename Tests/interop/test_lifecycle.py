# Process and connection lifecycle: SIGTERM/SIGINT shutdown (GOODBYE system_shutdown to every
# session, bounded wait, exit 0), SIGHUP reloading the userdb, and subscribers that vanish
# without GOODBYE while others keep being served. SPEC §3, §4.

import asyncio
import shutil
import signal
import time

import pytest

from conftest import ALICE, SECURE_REALM, Broker, user_add
from rawwire import Closed, RawSocketClient, RawWebSocketClient, wait_closed
from wampclient import Inbox, JoinRefused, ack, connect, publish, run, unique

SHUTDOWN = [6, {"message": "Broker shutting down"}, "wamp.close.system_shutdown"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_signal_sends_goodbye_and_exits_zero(fresh_broker, sig):
    broker = fresh_broker()

    async def body():
        ws = await connect(broker, "ws", "realm1")
        rs = await connect(broker, "rs", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        await Inbox(ws).subscribe(unique("com.example.shutdown"))
        # A raw session that answers GOODBYE itself, to see the exact bytes.
        raw = await asyncio.to_thread(lambda: RawSocketClient(broker.rs_port, timeout=5))
        await asyncio.to_thread(raw.hello, "realm1")

        started = time.monotonic()
        broker.proc.send_signal(sig)
        for s in (ws, rs):
            details = await asyncio.wait_for(asyncio.shield(s.left), 5)
            assert details.reason == "wamp.close.system_shutdown", details
            assert s.recorder.received_of(6) == [SHUTDOWN], s.recorder.received_of(6)
            # Autobahn answered with its GOODBYE.
            assert [m for m in s.recorder.sent if m[0] == 6], "Autobahn did not reply GOODBYE"
        msg = await asyncio.to_thread(raw.recv_msg, 5)
        assert msg == SHUTDOWN, msg
        await asyncio.to_thread(raw.send_msg, [6, {}, "wamp.close.goodbye_and_out"])
        try:
            await asyncio.to_thread(raw.wait_closed, 5)
        finally:
            raw.close()
        code = await asyncio.to_thread(broker.proc.wait, 5)
        took = time.monotonic() - started
        assert code == 0, f"exit code {code} after {sig.name}:\n{broker.logs()}"
        assert took < 5, f"shutdown took {took:.1f}s"
        for s in (ws, rs):
            await asyncio.wait_for(asyncio.shield(s.disconnected), 3)
    run(body())


def test_shutdown_does_not_wait_forever_for_silent_clients(fresh_broker):
    """A session that never answers the GOODBYE, and a connection that never finished its
    handshake, must not keep the broker alive: the wait is bounded."""
    broker = fresh_broker()
    silent = RawSocketClient(broker.rs_port, timeout=5)
    silent.hello("realm1")
    half_open = RawSocketClient(broker.rs_port, timeout=5)  # TCP only, no handshake
    try:
        code, took = broker.stop(signal.SIGTERM, timeout=15)
        assert code == 0, f"exit code {code}:\n{broker.logs()}"
        assert took < 10, f"shutdown with a silent client took {took:.1f}s"
        assert silent.recv_msg(3) == SHUTDOWN
    finally:
        silent.close()
        half_open.close()


def test_sighup_reloads_userdb(fresh_broker):
    broker = fresh_broker()

    async def body():
        with pytest.raises(JoinRefused):
            await connect(broker, "rs", SECURE_REALM, authid="erin", secret="erin-pass")
        r = await asyncio.to_thread(user_add, broker.binary, broker.userdb, "erin", "user", "erin-pass", 1000)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        broker.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 3
        while True:
            try:
                s = await connect(broker, "ws", SECURE_REALM, authid="erin", secret="erin-pass")
                break
            except JoinRefused:
                if time.monotonic() > deadline:
                    raise AssertionError("erin still refused 3s after SIGHUP: userdb not reloaded")
                await asyncio.sleep(0.1)
        assert s.welcome()[2]["authid"] == "erin"
        # Existing users still work after the reload, and the broker is still up.
        await connect(broker, "rs", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        assert broker.alive()
    run(body())


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_abrupt_subscriber_disconnect(broker, how):
    async def body():
        topic = unique("com.example.abrupt")
        pub = await connect(broker, "ws", "realm1")
        survivor = await connect(broker, "rs", "realm1")
        inbox = Inbox(survivor)
        await inbox.subscribe(topic)

        def doomed_subscriber():
            c = RawSocketClient(broker.rs_port)
            c.hello("realm1")
            c.send_msg([32, 1, {}, topic])
            assert c.recv_msg()[0] == 33
            return c
        doomed = await asyncio.to_thread(doomed_subscriber)
        await publish(pub, topic, "both")
        assert (await inbox.get()).args == ["both"]
        if how == "rst":
            doomed.reset()
        else:
            doomed.close()
        for n in range(20):
            p = await publish(pub, topic, n, options=ack())
            assert p is not None and p.id >= 1
        assert [(await inbox.get()).args[0] for _ in range(20)] == list(range(20))
    run(body())


def test_subscriber_that_stops_reading_then_dies(broker):
    """A subscriber with unread events queued in the broker disappears with RST: the broker
    frees it and keeps serving (the outbound data for it must not block anyone)."""
    async def body():
        topic = unique("com.example.stalled")
        pub = await connect(broker, "rs", "realm1")
        survivor = await connect(broker, "ws", "realm1")
        inbox = Inbox(survivor)
        await inbox.subscribe(topic)

        def stalled():
            c = RawSocketClient(broker.rs_port)
            c.hello("realm1")
            c.send_msg([32, 1, {}, topic])
            assert c.recv_msg()[0] == 33
            return c
        c = await asyncio.to_thread(stalled)
        blob = "z" * 4000
        for n in range(300):
            pub.publish(topic, n, blob)
        await publish(pub, topic, "last", options=ack())
        got = [(await inbox.get(timeout=5)).args[0] for _ in range(301)]
        assert got == list(range(300)) + ["last"]
        c.reset()
        p = await publish(pub, topic, "after", options=ack())
        assert p.id >= 1 and (await inbox.get()).args == ["after"]
    run(body())


def test_disconnect_during_handshake_and_before_welcome(broker):
    """Connections that die half-way (after the RawSocket handshake, after HELLO with a pending
    challenge, mid-frame) leave the broker healthy."""
    async def body():
        def half_ways():
            c = RawSocketClient(broker.rs_port); c.handshake(); c.reset()
            c = RawSocketClient(broker.rs_port); c.send_bytes(b"\x7f"); c.reset()
            c = RawSocketClient(broker.rs_port); c.handshake()
            c.send_msg([1, SECURE_REALM, {"authmethods": ["wampcra"], "authid": "alice",
                                          "roles": {"subscriber": {}}}])
            assert c.recv_msg()[0] == 4
            c.reset()
            c = RawSocketClient(broker.rs_port); c.handshake()
            c.send_bytes(b"\x00\x00\x01\x00[1, \"realm1\"")  # 256-byte frame, 13 bytes sent
            c.reset()
        await asyncio.to_thread(half_ways)
        pub = await connect(broker, "ws", "realm1")
        sub = await connect(broker, "rs", "realm1")
        inbox = Inbox(sub)
        topic = unique("com.example.halfway")
        await inbox.subscribe(topic)
        await publish(pub, topic, "ok")
        assert (await inbox.get()).args == ["ok"]
    run(body())


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_second_signal_ends_the_shutdown_wait(fresh_broker, second):
    """SPEC §4: a second SIGTERM/SIGINT during the GOODBYE wait ends it early, and the exit
    status is still 0 (not death by the signal). The client never answers the GOODBYE, so
    without the second signal the broker would wait its whole 3 s grace period."""
    broker = fresh_broker()
    silent = RawSocketClient(broker.rs_port, timeout=5)
    silent.hello("realm1")
    try:
        broker.proc.send_signal(signal.SIGTERM)
        assert silent.recv_msg(3) == SHUTDOWN   # the first signal was handled; the wait began
        started = time.monotonic()
        broker.proc.send_signal(second)
        code = broker.proc.wait(5)
        took = time.monotonic() - started
        assert code == 0, f"exit code {code} after a second {second.name}:\n{broker.logs()}"
        assert took < 2.0, f"the second {second.name} did not end the 3 s wait: exit after {took:.1f}s"
        silent.wait_closed(2)
        assert "no longer waiting for GOODBYE" in broker.logs(), broker.logs()
    finally:
        silent.close()


def _time_wait_local_ports():
    """Local ports of TCP sockets in TIME_WAIT in this network namespace (/proc/net/tcp*)."""
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "06":   # TCP_TIME_WAIT
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_restart_on_the_same_ports_right_after_a_stop(fresh_broker, tmp_path):
    """SPEC §4: after a stop the broker starts again on the same ports at once, although the
    connections it closed first are in TIME_WAIT on those ports."""
    broker = fresh_broker()
    rs = [RawSocketClient(broker.rs_port, timeout=5) for _ in range(2)]
    ws = RawWebSocketClient(broker.ws_port, timeout=5)
    for c in rs + [ws]:
        c.hello("realm1")
    broker.proc.send_signal(signal.SIGTERM)
    # Each client answers the GOODBYE and closes only after the broker did, so the broker's
    # side of each connection is the one left in TIME_WAIT.
    for c in rs + [ws]:
        assert c.recv_msg(3) == SHUTDOWN
        c.send_msg([6, {}, "wamp.close.goodbye_and_out"])
        wait_closed(c.sock, 3)
        c.close()
    assert broker.proc.wait(5) == 0, broker.logs()
    in_time_wait = _time_wait_local_ports()
    assert broker.rs_port in in_time_wait and broker.ws_port in in_time_wait, \
        f"precondition: no TIME_WAIT on {broker.rs_port}/{broker.ws_port}"

    again = Broker(broker.binary, tmp_path, broker.config)
    shutil.copy(broker.userdb, again.userdb)
    started = time.monotonic()
    again.start(timeout=5)   # fails the test if the broker exits (port "taken")
    try:
        assert time.monotonic() - started < 3
        with RawSocketClient(again.rs_port, timeout=3) as c:
            c.hello("realm1")
    finally:
        again.finish()
