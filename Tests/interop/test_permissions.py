# Pattern subscriptions and permission rules (SPEC §3, issue 9 item 4): a session never receives
# an event on a topic its role may not subscribe to, whatever pattern it used. Two realms hold
# exactly the rule sets for the anonymous role "reader"; alice (role "user", allowed
# everything) publishes. A pattern whose every topic is refused is refused at SUBSCRIBE; one
# that reaches both kinds is accepted and each delivery is checked against the concrete topic,
# for plain subscribers and for consumer-group members alike.
#
# "Nothing arrives" is checked without sleeping: the forbidden publication is followed by a
# permitted one from the same publisher, and the first event that arrives must be that one (a
# broker delivers one publisher's events to one subscriber in order). Run with
# FASTBROKER_TEST_LOOPS=1 and 2.

import asyncio
import sys
import time
from pathlib import Path

import pytest
from autobahn.wamp.exception import ApplicationError

from conftest import ALICE
from wampclient import Inbox, connect, publish, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions as Group  # noqa: E402

REALM_X = "com.perm.x"
REALM_Y = "com.perm.y"
# The two rule sets, verbatim (subscribe flags as in the issue; readers publish nothing).
RULES_X = [{"uri": "com.x.private.", "match": "prefix", "publish": False, "subscribe": False},
           {"uri": "com.x.", "match": "prefix", "publish": False, "subscribe": True}]
RULES_Y = [{"uri": "com.y.public.feed", "match": "exact", "publish": False, "subscribe": True}]
NOT_AUTHORIZED = "wamp.error.not_authorized"


def add_permission_realms(config):
    for name, rules in ((REALM_X, RULES_X), (REALM_Y, RULES_Y)):
        config["realms"].append({
            "name": name,
            "auth": {"wampcra": {"userdb": "users.json"}, "anonymous": {"role": "reader"}},
            "roles": [{"name": "user", "permissions": [
                          {"uri": "", "match": "prefix", "publish": True, "subscribe": True}]},
                      {"name": "reader", "permissions": rules}]})


@pytest.fixture
def broker(fresh_broker):
    return fresh_broker(add_permission_realms)


def test_prefix_and_wildcard_patterns_do_not_reach_a_denied_branch(broker):
    async def body():
        reader = await connect(broker, "rs", REALM_X)
        alice = await connect(broker, "ws", REALM_X, authid=ALICE[0], secret=ALICE[1])
        by_prefix, by_wildcard = Inbox(reader), Inbox(reader)
        await by_prefix.subscribe("com.x.", match="prefix")
        await by_wildcard.subscribe("com.x..data", match="wildcard")
        await publish(alice, "com.x.private.data", "forbidden")
        await publish(alice, "com.x.public.data", "permitted")
        for inbox in (by_prefix, by_wildcard):
            ev = await inbox.get()
            assert (ev.details.topic, ev.args) == ("com.x.public.data", ["permitted"]), ev
        # Again, now that the per-loop verdict cache holds both topics.
        await publish(alice, "com.x.private.data", "forbidden-again")
        await publish(alice, "com.x.other", "permitted-2")
        ev = await by_prefix.get()
        assert (ev.details.topic, ev.args) == ("com.x.other", ["permitted-2"]), ev
        assert by_wildcard.queue.empty() and by_prefix.queue.empty()
    run(body())


def test_prefix_of_an_exact_grant_gets_only_the_granted_topic(broker):
    async def body():
        reader = await connect(broker, "ws", REALM_Y)
        alice = await connect(broker, "rs", REALM_Y, authid=ALICE[0], secret=ALICE[1])
        inbox = Inbox(reader)
        await inbox.subscribe("com.y.public.feed", match="prefix")
        exact = Inbox(reader)
        await exact.subscribe("com.y.public.feed")
        await publish(alice, "com.y.public.feed.secret", "forbidden")
        await publish(alice, "com.y.public.feed", "permitted")
        for box in (inbox, exact):
            ev = await box.get()
            assert ev.args == ["permitted"], ev
        assert inbox.queue.empty() and exact.queue.empty()
    run(body())


def test_wholly_denied_patterns_are_refused(broker):
    async def body():
        for realm, topic, match in ((REALM_X, "com.x.private.", "prefix"),
                                    (REALM_X, "com.x.private..data", "wildcard"),
                                    (REALM_X, "org.", "prefix"),
                                    (REALM_Y, "com.y.public.feed.", "prefix"),
                                    (REALM_Y, "com.y.public.feed.", "wildcard")):
            reader = await connect(broker, "rs", realm)
            with pytest.raises(ApplicationError) as info:
                await Inbox(reader).subscribe(topic, match=match)
            assert info.value.error == NOT_AUTHORIZED, (topic, info.value)
            sent = [m for m in reader.recorder.sent if m[0] == 32][-1]
            err = reader.recorder.received_of(8)[-1]
            assert err[:3] == [8, 32, sent[1]] and err[4] == NOT_AUTHORIZED, err
            message = err[3].get("message", "")
            assert "reader" in message and f'"{topic}"' in message and match in message, message
        # An exact SUBSCRIBE keeps the plain first-match check and its message.
        reader = await connect(broker, "rs", REALM_X)
        with pytest.raises(ApplicationError) as info:
            await Inbox(reader).subscribe("com.x.private.data")
        assert info.value.error == NOT_AUTHORIZED
        assert reader.recorder.received_of(8)[-1][3]["message"] == "role reader may not subscribe to com.x.private.data"
        # Wholly permitted patterns are accepted.
        assert (await Inbox(reader).subscribe("com.x.public.", match="prefix")).id >= 1
    run(body())


def test_shared_group_member_checked_per_topic(broker):
    async def body():
        alice = await connect(broker, "ws", REALM_X, authid=ALICE[0], secret=ALICE[1])
        # A group whose only member may not receive the private topic: that event is dropped,
        # and the next one is the member's first.
        solo = await connect(broker, "rs", REALM_X)
        got_solo = []
        await solo.subscribe(lambda *a, **k: got_solo.append(a), "com.x.", options=Group(match="prefix", type="shared", group="solo"))
        # A group of a reader and a user (who may receive everything): the private event goes
        # to the user, whatever the round-robin position.
        reader = await connect(broker, "rs", REALM_X)
        user = await connect(broker, "ws", REALM_X, authid=ALICE[0], secret=ALICE[1])
        got = {"reader": [], "user": []}
        await reader.subscribe(lambda *a: got["reader"].append(a[0]), "com.x.", options=Group(match="prefix", type="shared", group="mixed"))
        await user.subscribe(lambda *a: got["user"].append(a[0]), "com.x.", options=Group(match="prefix", type="shared", group="mixed"))
        names = ["private-0", "public-1", "private-2", "public-3", "public-4", "private-5", "public-6"]
        for name in names:
            await publish(alice, f"com.x.{name.split('-')[0]}.data", name)
        deadline = time.monotonic() + 5
        while len(got["reader"]) + len(got["user"]) < len(names) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert sorted(got["reader"] + got["user"]) == sorted(names), f"each event exactly once: {got}"
        assert not [n for n in got["reader"] if n.startswith("private")], got
        assert got["reader"], f"the reader is a member too: {got}"
        public = [(n,) for n in names if n.startswith("public")]
        while len(got_solo) < len(public) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # In publication order, so nothing private arrived before or between them.
        assert got_solo == public, got_solo
    run(body())
