# Consumer groups (SPEC §5.2) through the real broker with Autobahn|Python, on a broker with two
# loops and members placed on different loops (read back from the per-loop sessions gauge):
# exclusive refusal and release, shared exactly-once with a fair split, shared with per-member
# filters, failover take-over on graceful leave and on an abrupt kill (no loss, no duplicate
# for events the broker had not handed to the dead socket), type mismatch, independent groups,
# and broadcast subscribers unaffected.

import asyncio
import re
import sys
import time
from pathlib import Path

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions

from loop_placement import connect_on_loop
from wampclient import connect, publish, run, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions as Group  # noqa: E402

TAKEN = "fastbroker.error.exclusive_subscription_taken"
MISMATCH = "fastbroker.error.subscription_type_mismatch"


def test_exclusive_refuses_a_second_session_and_frees_on_leave(broker2):
    async def body():
        topic = unique("com.example.excl")
        holder = await connect_on_loop(broker2, 0)
        other = await connect_on_loop(broker2, 1, "rs")
        got = []
        sub = await holder.subscribe(lambda n: got.append(n), topic, options=Group(type="exclusive", group="x"))
        # The holder subscribing again gets the same subscription.
        again = await holder.subscribe(lambda n: None, topic, options=Group(type="exclusive", group="x"))
        assert again.id == sub.id
        with pytest.raises(ApplicationError) as refused:
            await other.subscribe(lambda n: None, topic, options=Group(type="exclusive", group="x"))
        assert refused.value.error == TAKEN and "exclusive" in refused.value.args[0]
        # A different group name on the same topic is independent.
        await other.subscribe(lambda n: None, topic, options=Group(type="exclusive", group="y"))
        pub = await connect(broker2, "ws", "realm1")
        for n in range(5):
            await publish(pub, topic, n)
        await asyncio.sleep(0.3)
        assert got == [0, 1, 2, 3, 4]
        await sub.unsubscribe()
        await again.unsubscribe()
        # Free again: the other session takes it (the release travels to the group's home loop).
        deadline = time.monotonic() + 3
        while True:
            try:
                await other.subscribe(lambda n: None, topic, options=Group(type="exclusive", group="x"))
                break
            except ApplicationError as e:
                assert e.error == TAKEN
                assert time.monotonic() < deadline, "exclusive group not released after unsubscribe"
                await asyncio.sleep(0.05)
        # And when the holder disconnects abruptly, the group frees too.
        third = await connect_on_loop(broker2, 0, "rs")
        other.abort()
        deadline = time.monotonic() + 3
        while True:
            try:
                await third.subscribe(lambda n: None, topic, options=Group(type="exclusive", group="x"))
                break
            except ApplicationError as e:
                assert time.monotonic() < deadline, f"exclusive group not released after disconnect ({e.error})"
                await asyncio.sleep(0.05)
    run(body())


def test_shared_delivers_each_event_exactly_once_split_fairly(broker2):
    async def body():
        topic = unique("com.example.shared")
        members = [await connect_on_loop(broker2, i % 2, "ws" if i % 2 else "rs") for i in range(3)]
        got = [[] for _ in members]
        ids = set()
        for i, m in enumerate(members):
            sub = await m.subscribe(lambda n, i=i: got[i].append(n), topic, options=Group(type="shared", group="workers"))
            ids.add(sub.id)
        assert len(ids) == 1, "identical group subscriptions share one subscription id"
        broadcast = []
        watcher = await connect(broker2, "ws", "realm1")
        await watcher.subscribe(lambda n: broadcast.append(n), topic)
        pub = await connect(broker2, "ws", "realm1")
        total = 3000
        for n in range(total):
            pub.publish(topic, n, options=PublishOptions(acknowledge=(n % 200 == 199)) if n % 200 == 199 else None)
            if n % 200 == 199:
                await asyncio.sleep(0)
        await publish(pub, topic, "done")
        deadline = time.monotonic() + 10
        while sum(len(g) for g in got) < total + 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        everything = sorted(n for g in got for n in g if n != "done")
        assert everything == list(range(total)), "every event exactly once across the group"
        for i, g in enumerate(got):
            share = len([n for n in g if n != "done"])
            print(f"shared member {i}: {share} events")
            assert abs(share - total / 3) <= total / 3 * 0.10, f"member {i} got {share} of {total}"
        await asyncio.sleep(0.2)
        assert len(broadcast) == total + 1, "broadcast subscribers of the topic are unaffected"
    run(body(), timeout=60)


def test_shared_with_per_member_filters(broker2):
    async def body():
        topic = unique("com.example.sharedf")
        ranges = [(0, 100), (100, 200), (200, 300)]
        members = [await connect_on_loop(broker2, i % 2) for i in range(3)]
        got = [[] for _ in members]
        for i, (m, (lo, hi)) in enumerate(zip(members, ranges)):
            await m.subscribe(lambda n, i=i: got[i].append(n), topic,
                              options=Group(type="shared", group="f", filter="n >= :lo AND n < :hi",
                                            filter_values={":lo": lo, ":hi": hi}))
        # A fourth member accepts everything: events every member accepts still go to exactly one.
        both = []
        anyone = await connect_on_loop(broker2, 1)
        await anyone.subscribe(lambda n: both.append(n), topic, options=Group(type="shared", group="f", filter="n >= :z",
                                                                                 filter_values={":z": 0}))
        pub = await connect(broker2, "rs", "realm1")
        for n in range(300):
            await publish(pub, topic, n=n)
        await asyncio.sleep(0.5)
        # Nobody accepts n >= 300 except the catch-all member.
        seen = sorted(n for g in got for n in g) + sorted(both)
        assert sorted(seen) == list(range(300)), "each event exactly once"
        for (lo, hi), g in zip(ranges, got):
            assert all(lo <= n < hi for n in g), f"member for [{lo},{hi}) got {[n for n in g if not lo <= n < hi]}"
    run(body(), timeout=60)


def _kwargs_handler(sink):
    return lambda n=None, **kw: sink.append(n)


def test_failover_takes_over_on_unsubscribe_without_gap(broker2):
    async def body():
        topic = unique("com.example.fo")
        first = await connect_on_loop(broker2, 0)
        second = await connect_on_loop(broker2, 1, "rs")
        b = []
        sub_a = await first.subscribe(lambda n=None, **kw: None, topic, options=Group(type="failover"))
        await second.subscribe(_kwargs_handler(b), topic, options=Group(type="failover"))
        pub = await connect(broker2, "ws", "realm1")

        # Judge by A's wire, not its handler: Autobahn drops a subscription's handler as soon as
        # unsubscribe() is called, so EVENTs the broker wrote before it saw the UNSUBSCRIBE are
        # delivered to A's socket but discarded by the client library.
        def on_a_wire():
            return [m[5]["n"] for m in first.recorder.received_of(36) if m[1] == sub_a.id]

        async def until(condition, what, timeout=10.0):
            deadline = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                await asyncio.sleep(0.01)

        for n in range(100):
            await publish(pub, topic, n=n)
        # An acknowledged PUBLISH only says the broker accepted it: the group's home loop may still
        # be dispatching it when the UNSUBSCRIBE arrives (then it goes to B, which is allowed).
        # Wait for event 99 on A's socket so A has provably been the active member for 0..99.
        await until(lambda: 99 in on_a_wire(), "event 99 on A's socket")
        # The UNSUBSCRIBE then races the next 100 publications on purpose: whatever A had been
        # dispatched but not sent is re-dispatched to B, everything later goes to B directly.
        leaving = asyncio.ensure_future(sub_a.unsubscribe())
        for n in range(100, 200):
            await publish(pub, topic, n=n)
        await leaving
        await until(lambda: 199 in b or 199 in on_a_wire(), "event 199 at A or B")
        a = on_a_wire()
        assert a == list(range(len(a))), a
        assert len(a) >= 100, a
        assert b == list(range(len(a), 200)), f"B must continue exactly where A stopped ({len(a)}): {b[:5]}…"
    run(body(), timeout=60)


def test_failover_abrupt_kill_loses_nothing_not_handed_to_the_dead_socket(broker2):
    async def body():
        topic = unique("com.example.fokill")
        active = await connect_on_loop(broker2, 0)
        standby = await connect_on_loop(broker2, 1, "rs")
        r1, r2 = [], []
        killed = asyncio.Event()

        def on_active(n=None, **kw):
            if killed.is_set():
                return
            r1.append(n)
            if len(r1) == 150:
                active.abort()          # RST: no GOODBYE, no close handshake
                killed.set()

        await active.subscribe(on_active, topic, options=Group(type="failover", group="ha"))
        await standby.subscribe(_kwargs_handler(r2), topic, options=Group(type="failover", group="ha"))
        pub = await connect(broker2, "ws", "realm1")
        publication_of = {}
        after_kill = set()
        for n in range(600):
            was_killed = killed.is_set()
            p = await publish(pub, topic, n=n)          # acknowledged
            publication_of[n] = p.id
            if was_killed:
                after_kill.add(n)
            await asyncio.sleep(0.002)                  # a steady rate
        await asyncio.sleep(1.0)
        assert killed.is_set()

        log = broker2.logs()
        handed = set()
        for line in log.splitlines():
            if "group member left" in line and "handed_to_dead_socket=" in line:
                handed |= {int(x) for x in re.search(r"handed_to_dead_socket=([0-9,]+)", line).group(1).split(",")}
        duplicates = len(set(r1) & set(r2)) + (len(r2) - len(set(r2)))
        lost = [n for n in range(600) if n not in set(r1) and n not in set(r2)]
        unexplained = [n for n in lost if publication_of[n] not in handed]
        print(f"failover kill: active got {len(r1)}, standby got {len(r2)}, duplicates {duplicates}, "
              f"lost {len(lost)} (all of them handed to the dead socket before the kill: {not unexplained}), "
              f"acknowledged after the kill {len(after_kill)}")
        assert duplicates == 0
        assert unexplained == [], f"lost events the broker had not handed to the dead socket: {unexplained}"
        assert after_kill <= set(r2), f"events acknowledged after the kill missing: {sorted(after_kill - set(r2))}"
        assert r2 == sorted(r2), "the standby receives events in publication order"
        assert len(after_kill) > 100
    run(body(), timeout=90)


def test_type_mismatch_and_bad_group_options(broker2):
    async def body():
        topic = unique("com.example.mix")
        a = await connect(broker2, "ws", "realm1")
        b = await connect(broker2, "rs", "realm1")
        await a.subscribe(lambda *x: None, topic, options=Group(type="shared", group="m"))
        with pytest.raises(ApplicationError) as refused:
            await b.subscribe(lambda *x: None, topic, options=Group(type="failover", group="m"))
        assert refused.value.error == MISMATCH
        for opts, fragment in [(Group(type="roundrobin"), "options.type"), (Group(group="g"), "needs options.type")]:
            with pytest.raises(ApplicationError) as bad:
                await b.subscribe(lambda *x: None, topic, options=opts)
            assert bad.value.error == "wamp.error.invalid_argument" and fragment in bad.value.args[0]
    run(body())


def test_independent_groups_each_get_every_event(broker2):
    async def body():
        topic = unique("com.example.indep")
        got = {"g1": [], "g2": []}
        for name in got:
            for i in range(2):
                s = await connect_on_loop(broker2, i)
                await s.subscribe(lambda n, name=name: got[name].append(n), topic, options=Group(type="shared", group=name))
        pub = await connect(broker2, "ws", "realm1")
        for n in range(100):
            await publish(pub, topic, n)
        await asyncio.sleep(0.4)
        assert sorted(got["g1"]) == list(range(100))
        assert sorted(got["g2"]) == list(range(100))
    run(body())


def test_group_with_pattern_subscription_sets_topic(broker2):
    async def body():
        base = unique("com.example.gp")
        got = []
        s = await connect_on_loop(broker2, 1)
        await s.subscribe(lambda *a, **kw: got.append(kw.get("details").topic if kw.get("details") else None), base + ".",
                          options=Group(type="failover", match="prefix", details_arg="details"))
        pub = await connect(broker2, "rs", "realm1")
        await publish(pub, base + ".a.b", 1)
        await asyncio.sleep(0.3)
        assert got == [base + ".a.b"]
    run(body())
