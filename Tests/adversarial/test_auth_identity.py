# Issue 9 item 5 / SPEC §3: an anonymous client cannot take a user's identity. The broker picks an
# anonymous session's authid (Crossbar-style random); the HELLO's authid is kept only where the
# realm sets `keep_authid`, and never when it names a user of the realm's userdb; "" = absent.
# Negatives (an event NOT received) are proven with a sentinel publication from the same
# publisher, which arrives after anything published before it.

import re

import pytest
from autobahn.wamp import auth

from conftest import assert_healthy, interop_conftest
from rawwire import RawSocketClient

SECURE_REALM = interop_conftest.SECURE_REALM
ALICE = interop_conftest.ALICE
ANON_AUTHID = re.compile(r"([A-Z2-9]{4}-){5}[A-Z2-9]{4}")


def anonymous_hello(broker, realm, authid):
    client = RawSocketClient(broker.rs_port)
    details = {"roles": {"subscriber": {}, "publisher": {}}, "authmethods": ["anonymous"]}
    if authid is not None:
        details["authid"] = authid
    welcome = client.hello(realm, details)
    return client, welcome[2]


def wampcra_session(broker, realm, authid, secret):
    client = RawSocketClient(broker.rs_port)
    client.handshake()
    client.send_msg([1, realm, {"roles": {"publisher": {}, "subscriber": {}},
                                "authmethods": ["wampcra"], "authid": authid}])
    challenge = client.recv_msg()
    assert challenge[0] == 4, challenge
    signature = auth.compute_wcs(secret.encode(), challenge[2]["challenge"].encode()).decode()
    client.send_msg([5, signature, {}])
    welcome = client.recv_msg()
    assert welcome[0] == 2 and welcome[2]["authid"] == authid, welcome
    return client


def subscribe(client, topic, request=1):
    client.send_msg([32, request, {}, topic])
    reply = client.recv_msg()
    assert reply[:2] == [33, request], reply
    return reply[2]


def publish(client, request, topic, options, args):
    """Acknowledged: the next message must be the PUBLISHED."""
    client.send_msg([16, request, dict(options, acknowledge=True), topic, args])
    reply = client.recv_msg()
    assert reply[:2] == [17, request], reply


def publish_unacknowledged(client, request, topic, options, args):
    """For a publisher that receives its own events (a refusal shows as a missing sentinel)."""
    client.send_msg([16, request, options, topic, args])


def events_until_sentinel(client, sentinel):
    seen = []
    while True:
        msg = client.recv_msg()
        assert msg[0] == 36, msg
        if msg[4] == [sentinel]:
            return seen
        seen.append(msg)


@pytest.mark.parametrize("asked", ["alice", "bob", ""])
def test_anonymous_hello_cannot_choose_its_authid(broker, asked):
    """alice and dave are plain userdb users, bob was added with `user add`; realm1 has no userdb
    at all: no realm without keep_authid keeps the asked authid."""
    for realm in (SECURE_REALM, "realm1"):
        client, details = anonymous_hello(broker, realm, asked)
        with client:
            assert details["authmethod"] == "anonymous" and details["authprovider"] == "static", details
            assert details["authid"] != asked, details
            assert ANON_AUTHID.fullmatch(details["authid"]), details
    assert_healthy(broker)


def test_spoofed_authid_gets_no_eligible_authid_events(broker):
    topic = "com.example.public.identity"
    spoofer, details = anonymous_hello(broker, SECURE_REALM, ALICE[0])
    real = wampcra_session(broker, SECURE_REALM, *ALICE)
    with spoofer, real:
        assert details["authid"] != ALICE[0]
        subscribe(spoofer, topic)
        real_sub = subscribe(real, topic)
        # exclude_me false: the real alice is the control that the event was published at all.
        publish_unacknowledged(real, 10, topic, {"eligible_authid": [ALICE[0]], "exclude_me": False}, ["for alice only"])
        publish_unacknowledged(real, 11, topic, {"exclude_me": False}, ["sentinel"])
        assert events_until_sentinel(spoofer, "sentinel") == [], "an anonymous session received alice's event"
        got = events_until_sentinel(real, "sentinel")
        assert [(m[1], m[4]) for m in got] == [(real_sub, ["for alice only"])], got


def test_spoofed_authid_is_not_disclosed_as_publisher(broker):
    topic = "com.example.identity.disclose"
    spoofer, details = anonymous_hello(broker, "realm1", ALICE[0])
    listener, _ = anonymous_hello(broker, "realm1", None)
    with spoofer, listener:
        subscribe(listener, topic)
        publish(spoofer, 5, topic, {"disclose_me": True}, ["who"])
        event = listener.recv_msg()
        assert event[0] == 36 and event[4] == ["who"], event
        assert event[3].get("publisher_authid") == details["authid"] != ALICE[0], event


def test_keep_authid_keeps_non_users_only(fresh_broker):
    def keep(config):
        for realm in config["realms"]:
            if "anonymous" in realm["auth"]:
                realm["auth"]["anonymous"]["keep_authid"] = True
    broker = fresh_broker(keep)
    cases = [
        (SECURE_REALM, "visitor-7", True),     # not a user: kept
        (SECURE_REALM, ALICE[0], False),       # plain userdb user
        (SECURE_REALM, "bob", False),          # `user add` user
        (SECURE_REALM, "", False),             # empty = absent
        ("realm1", ALICE[0], True),            # realm1 has no userdb: nobody's name is taken
        ("realm1", None, False),
    ]
    for realm, asked, kept in cases:
        client, details = anonymous_hello(broker, realm, asked)
        with client:
            if kept:
                assert details["authid"] == asked, (realm, asked, details)
            else:
                assert details["authid"] != asked and ANON_AUTHID.fullmatch(details["authid"]), (realm, asked, details)
    assert_healthy(broker)
