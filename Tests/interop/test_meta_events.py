# Meta events (SPEC §5) with Autobahn|Python: a watcher subscribed to wamp.session.* and
# wamp.subscription.* sees another session join, subscribe, and disconnect, with the exact args
# and in the order the spec states; on two loops the watcher and the actor are on different loops
# (loop_placement.py), so the events travel through the cross-loop inboxes. Other sessions of the
# module (the spares loop placement opens) make meta events too: the watcher keeps only those
# naming the actor. Also: wamp.* subscriptions announce nothing (a sentinel follows), clients may
# not publish to wamp.*, and a role without permission may not subscribe to meta topics.

import re

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import SubscribeOptions

from conftest import SECURE_REALM
from loop_placement import connect_on_loop
from wampclient import Inbox, connect, publish, run, unique

SESSION = "wamp.session."
SUBSCRIPTION = "wamp.subscription."


async def watch(session):
    inbox = Inbox(session)
    await inbox.subscribe(SESSION, match="prefix")
    await inbox.subscribe(SUBSCRIPTION, match="prefix")
    return inbox


async def next_about(inbox, session_id, timeout=5.0):
    """The next meta event naming `session_id` (on_join names it inside its details dict)."""
    while True:
        ev = await inbox.get(timeout)
        first = ev.args[0] if ev.args else None
        if first == session_id or (isinstance(first, dict) and first.get("session") == session_id):
            return ev


@pytest.mark.parametrize("placement", ["one_broker", "across_loops"])
def test_session_and_subscription_lifecycle(broker, broker2, placement):
    target = broker if placement == "one_broker" else broker2

    async def body():
        if placement == "across_loops":
            watcher = await connect_on_loop(target, 0)
        else:
            watcher = await connect(target, "ws", "realm1")
        inbox = await watch(watcher)
        if placement == "across_loops":
            actor = await connect_on_loop(target, 1, "rs")
        else:
            actor = await connect(target, "rs", "realm1")
        me = actor.session_id
        welcome = actor.welcome()

        joined = await next_about(inbox, me)
        assert joined.details.topic == "wamp.session.on_join"
        assert joined.kwargs == {}
        assert joined.args == [{
            "session": me, "authid": welcome[2]["authid"], "authrole": "anonymous",
            "authmethod": "anonymous", "authprovider": "static",
            "transport": {"type": "rawsocket", "protocol": "wamp.2.json", "tls": False},
        }]
        assert inbox.raw(joined)[3] == {"topic": "wamp.session.on_join"}, "no publisher disclosed"

        topic = unique("com.example.meta")
        sub = await actor.subscribe(lambda *a: None, topic)
        created = await next_about(inbox, me)
        assert created.details.topic == "wamp.subscription.on_create"
        assert len(created.args) == 2 and created.args[1].keys() == {"id", "created", "uri", "match"}
        assert (created.args[1]["id"], created.args[1]["uri"], created.args[1]["match"]) == (sub.id, topic, "exact")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created.args[1]["created"])
        subscribed = await next_about(inbox, me)
        assert (subscribed.details.topic, subscribed.args) == ("wamp.subscription.on_subscribe", [me, sub.id])

        # A disconnect without GOODBYE: its unsubscribe and delete, then on_leave.
        actor.abort()
        order = [await next_about(inbox, me) for _ in range(3)]
        assert [(e.details.topic, e.args) for e in order] == [
            ("wamp.subscription.on_unsubscribe", [me, sub.id]),
            ("wamp.subscription.on_delete", [me, sub.id]),
            ("wamp.session.on_leave", [me, welcome[2]["authid"], "anonymous"]),
        ]

    run(body())


def test_wamp_subscriptions_announce_nothing(broker2):
    async def body():
        watcher = await connect_on_loop(broker2, 0)
        inbox = Inbox(watcher)
        await inbox.subscribe(SUBSCRIPTION, match="prefix")
        actor = await connect_on_loop(broker2, 1, "rs")
        meta = await actor.subscribe(lambda *a: None, "wamp.session.on_join")
        await meta.unsubscribe()
        pattern = await actor.subscribe(lambda *a: None, "wamp..on_leave",
                                       options=SubscribeOptions(match="wildcard"))
        await pattern.unsubscribe()
        sentinel = unique("com.example.sentinel")
        sub = await actor.subscribe(lambda *a: None, sentinel)
        first = await next_about(inbox, actor.session_id)
        assert first.details.topic == "wamp.subscription.on_create"
        assert first.args[1]["uri"] == sentinel and first.args[1]["id"] == sub.id

    run(body())


def test_identical_resubscribe_announces_nothing(broker):
    async def body():
        watcher = await connect(broker, "ws", "realm1")
        inbox = Inbox(watcher)
        await inbox.subscribe(SUBSCRIPTION, match="prefix")
        actor = await connect(broker, "ws", "realm1")
        topic = unique("com.example.again")
        sub = await actor.subscribe(lambda *a: None, topic)
        assert [(await next_about(inbox, actor.session_id)).details.topic for _ in range(2)] == [
            "wamp.subscription.on_create", "wamp.subscription.on_subscribe"]
        again = await actor.subscribe(lambda *a: None, topic)
        assert again.id == sub.id
        sentinel = unique("com.example.sentinel")
        await actor.subscribe(lambda *a: None, sentinel)
        first = await next_about(inbox, actor.session_id)
        assert first.details.topic == "wamp.subscription.on_create" and first.args[1]["uri"] == sentinel

    run(body())


def test_clients_may_not_publish_meta_events(broker):
    async def body():
        s = await connect(broker, "rs", "realm1")
        with pytest.raises(ApplicationError) as refused:
            await publish(s, "wamp.session.on_join", {"session": 1})
        assert refused.value.error == "wamp.error.not_authorized"
        assert "only the broker publishes to wamp.* topics" in refused.value.args[0]

    run(body())


def test_meta_topics_need_a_subscribe_permission(broker):
    async def body():
        guest = await connect(broker, "ws", SECURE_REALM)   # role guest: com.example.public. only
        with pytest.raises(ApplicationError) as refused:
            await guest.subscribe(lambda *a: None, "wamp.session.on_join")
        assert refused.value.error == "wamp.error.not_authorized"
        assert "may not subscribe to wamp.session.on_join" in refused.value.args[0]

    run(body())
