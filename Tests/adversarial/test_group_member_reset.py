# Consumer-group members that die abruptly (RST, SO_LINGER 0) while a publisher bursts, on a
# broker with two loops and each dying member on the loop that is NOT its group's home, so the
# home keeps sending it deliveries (and join results) through the inbox after its connection is
# gone. Regression for issue 9 item 2: those late messages used to reach the freed Connection
# through the Session (heap-use-after-free under AddressSanitizer, a crash or silent corruption
# without it). After each attack: the remaining member still receives (a sentinel published
# after the reset arrives), the broker answers a fresh HELLO, and SIGTERM ends it with exit 0
# (fixture teardown).

import time

import pytest

from adversarial_conftest import assert_healthy
from loop_placement import loop_sessions, session_with_loop, wait_loop_sessions_below
from rawwire import RawSocketClient, dumps

LOOPS = 2
BURST = 1500          # PUBLISH frames per burst (no acknowledgement: as fast as the broker reads)
ROUNDS = 3
SUBSCRIBED, PUBLISHED, EVENT = 33, 17, 36


def home_loop(topic, group, match="exact"):
    """The group's home loop as the broker computes it (GroupKey.homeLoop: FNV-1a)."""
    h = 0xCBF29CE484222325
    for byte in f"{match}|{topic}|{group}".encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % LOOPS


def group_away_from(topic, loop):
    """A group name whose home is not `loop`."""
    return next(f"g{k}" for k in range(64) if home_loop(topic, f"g{k}") != loop)


def subscribe(client, request, topic, gtype, group):
    client.send_msg([32, request, {"type": gtype, "group": group}, topic])
    reply = client.recv_msg(timeout=5.0)
    assert reply[0] == SUBSCRIBED and reply[1] == request, f"expected SUBSCRIBED, got {reply!r}"
    return reply[2]


def burst(publisher, topic, start):
    frames = b"".join(
        bytes([0]) + len(p).to_bytes(3, "big") + p
        for p in (dumps([16, n + 1, {}, topic, [n]]) for n in range(start, start + BURST)))
    assert publisher.send_bytes(frames)


def survivor_gets_sentinel(publisher, survivor, topic, subscription):
    """Publishes a sentinel (acknowledged) and reads the survivor's EVENTs up to it; returns the
    burst numbers it received, each of which must come once."""
    publisher.send_msg([16, 999_999, {"acknowledge": True}, topic, ["sentinel"]])
    ack = publisher.recv_msg(timeout=10.0)
    assert ack[0] == PUBLISHED and ack[1] == 999_999, f"expected PUBLISHED, got {ack!r}"
    seen = []
    deadline = time.monotonic() + 20.0
    while True:
        assert time.monotonic() < deadline, f"sentinel never reached the survivor ({len(seen)} events)"
        msg = survivor.recv_msg(timeout=max(0.1, deadline - time.monotonic()))
        assert msg[0] == EVENT and msg[1] == subscription, f"expected an EVENT of {subscription}, got {msg!r}"
        if msg[4] == ["sentinel"]:
            break
        seen.append(msg[4][0])
    assert len(seen) == len(set(seen)), "an event reached the survivor twice"
    return seen


@pytest.mark.parametrize("gtype", ["shared", "failover"])
def test_member_reset_during_burst(broker2, gtype):
    publisher = RawSocketClient(broker2.rs_port, timeout=5.0)
    publisher.hello()
    for round_ in range(ROUNDS):
        topic = f"com.example.reset.{gtype}.{round_}.{time.monotonic_ns()}"
        victim, victim_loop = session_with_loop(broker2, LOOPS)
        group = group_away_from(topic, victim_loop)
        subscribe(victim, 1, topic, gtype, group)         # first: the failover group's active member
        survivor = RawSocketClient(broker2.rs_port, timeout=5.0)
        survivor.hello()
        subscription = subscribe(survivor, 1, topic, gtype, group)

        burst(publisher, topic, 0)
        count_before = loop_sessions(broker2)[victim_loop]
        victim.reset()                                    # dies while deliveries are on their way
        burst(publisher, topic, BURST)
        wait_loop_sessions_below(broker2, victim_loop, count_before)
        seen = survivor_gets_sentinel(publisher, survivor, topic, subscription)
        if gtype == "failover":
            assert seen == sorted(seen), "the standby receives events in publication order"
            assert set(range(BURST, 2 * BURST)) <= set(seen), "events published after the reset are missing"
        survivor.close()
        assert_healthy(broker2)
    publisher.close()


def test_member_reset_before_join_result(broker2):
    """The member's connection dies while its SUBSCRIBE travels to the group's home and back:
    the join result finds no session and must leave the group again (a ghost member would take
    the survivor's events)."""
    publisher = RawSocketClient(broker2.rs_port, timeout=5.0)
    publisher.hello()
    for round_ in range(ROUNDS):
        topic = f"com.example.resetjoin.{round_}.{time.monotonic_ns()}"
        victim, victim_loop = session_with_loop(broker2, LOOPS)
        group = group_away_from(topic, victim_loop)
        survivor = RawSocketClient(broker2.rs_port, timeout=5.0)
        survivor.hello()
        subscription = subscribe(survivor, 1, topic, "shared", group)
        count_before = loop_sessions(broker2)[victim_loop]
        burst(publisher, topic, 0)                        # keeps the home busy: the join result lags
        victim.send_msg([32, 1, {"type": "shared", "group": group}, topic])
        time.sleep(0.005)                                 # let the broker read the SUBSCRIBE
        victim.reset()
        wait_loop_sessions_below(broker2, victim_loop, count_before)
        survivor_gets_sentinel(publisher, survivor, topic, subscription)
        survivor.close()
        assert_healthy(broker2)
    publisher.close()
