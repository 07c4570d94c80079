# Ticket authentication (SPEC §3, §4) with Autobahn|Python's AuthTicket (and xconn's
# TicketAuthenticator) over WebSocket and RawSocket: `fastbroker user add --ticket-stdin` stores only a PBKDF2 key (checked here with
# Python's hashlib), the exact CHALLENGE and WELCOME, and the one ABORT for a wrong ticket and an
# unknown authid.

import base64
import hashlib
import json

import pytest
from autobahn.wamp.auth import AuthTicket

from conftest import ALICE, CLOSED_REALM
from keyauth import KEYS_REALM, LENA_TICKET, OPEN_REALM, TED, TICKET_FAILED, TOM, TOM_ITERATIONS, assert_one_abort, \
    join_refused, keys_broker  # noqa: F401 (a fixture)
from test_session import check_welcome_common
from wampclient import connect, leave, run

TRANSPORTS = ["ws", "rs"]


def test_userdb_holds_only_the_pbkdf2_key(keys_broker):
    text = keys_broker.userdb.read_text()
    assert TOM[1] not in text and LENA_TICKET not in text
    tom = next(u for u in json.loads(text) if u["authid"] == TOM[0])
    ticket = tom["ticket"]
    assert set(ticket) == {"salt", "iterations", "keylen", "derived_key"}, ticket
    assert ticket["iterations"] == TOM_ITERATIONS and ticket["keylen"] == 32
    assert len(base64.b64decode(ticket["salt"])) == 16
    expected = hashlib.pbkdf2_hmac("sha256", TOM[1].encode(), ticket["salt"].encode(), TOM_ITERATIONS, 32)
    assert base64.b64decode(ticket["derived_key"]) == expected
    assert "secret" not in tom and "salt" not in tom   # no WAMP-CRA credential was asked for


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ticket_with_autobahn(keys_broker, transport):
    async def body():
        s = await connect(keys_broker, transport, KEYS_REALM, authid=TOM[0], authmethods=["ticket"],
                          authenticator=AuthTicket(ticket=TOM[1]))
        assert s.recorder.received_of(4) == [[4, "ticket", {}]]
        assert s.recorder.sent[-1] == [5, TOM[1], {}]
        _, details = check_welcome_common(s.welcome(), "device", "ticket", TOM[0])
        assert details["authprovider"] == "userdb"
        await leave(s)
    run(body())


def test_ticket_user_with_other_credentials(keys_broker):
    """lena holds cryptosign keys and a ticket in one record; ticket uses only the ticket."""
    async def body():
        s = await connect(keys_broker, "rs", KEYS_REALM, authid="lena", authmethods=["ticket"],
                          authenticator=AuthTicket(ticket=LENA_TICKET))
        check_welcome_common(s.welcome(), "user", "ticket", "lena")
        await leave(s)
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("authid, ticket", [
    (TOM[0], TOM[1] + "x"),          # wrong ticket
    (TOM[0], ""),                    # empty ticket
    ("nobody-" + TOM[0], TOM[1]),    # unknown authid
    (ALICE[0], ALICE[1]),            # a user without a ticket (alice has a WAMP-CRA secret)
])
def test_wrong_ticket_and_unknown_authid_fail_alike(keys_broker, transport, authid, ticket):
    refusal = join_refused(keys_broker, transport, KEYS_REALM, authid=authid, authmethods=["ticket"],
                           authenticator=AuthTicket(ticket=ticket))
    # The same CHALLENGE as for a real user, then the one ABORT.
    assert refusal.session.recorder.received_of(4) == [[4, "ticket", {}]]
    assert_one_abort(refusal.session, TICKET_FAILED)


def test_ticket_needs_an_authid(keys_broker):
    """Without an authid the ticket method does not apply; with nothing else offered: ABORT."""
    refusal = join_refused(keys_broker, "ws", KEYS_REALM, authmethods=["ticket"], authenticator=AuthTicket(ticket=TOM[1]))
    assert refusal.session.recorder.received_of(4) == []
    assert_one_abort(refusal.session, f"realm {KEYS_REALM} does not accept authentication by ticket with what this "
                                      "HELLO carries; it offers wampcra (needs authid), ticket (needs authid), "
                                      "cryptosign (needs authextra.pubkey)")


def test_ticket_on_realm_without_ticket(keys_broker):
    refusal = join_refused(keys_broker, "rs", CLOSED_REALM, authid=TOM[0], authmethods=["ticket"],
                           authenticator=AuthTicket(ticket=TOM[1]))
    assert_one_abort(refusal.session, f"realm {CLOSED_REALM} does not accept authentication by ticket with what "
                                      "this HELLO carries; it offers wampcra (needs authid)")


def test_ticket_from_its_own_userdb_and_anonymous_authid_rule(keys_broker):
    """SPEC §3: with keep_authid, an anonymous HELLO keeps its authid unless it names a user of
    any of the realm's userdbs — here a ticket-only userdb."""
    async def body():
        s = await connect(keys_broker, "ws", OPEN_REALM, authid=TED[0], authmethods=["ticket"],
                          authenticator=AuthTicket(ticket=TED[1]))
        check_welcome_common(s.welcome(), "user", "ticket", TED[0])
        await leave(s)
        s = await connect(keys_broker, "rs", OPEN_REALM, authid=TED[0], authmethods=["anonymous"])
        _, details = check_welcome_common(s.welcome(), "user", "anonymous")
        assert details["authid"] != TED[0] and len(details["authid"]) == 29, details
        await leave(s)
        s = await connect(keys_broker, "rs", OPEN_REALM, authid="zed-not-a-user", authmethods=["anonymous"])
        check_welcome_common(s.welcome(), "user", "anonymous", "zed-not-a-user")
        await leave(s)
        # ticket first, anonymous second, no authid: ticket cannot apply, anonymous is used.
        s = await connect(keys_broker, "ws", OPEN_REALM, authmethods=["ticket", "anonymous"])
        assert s.recorder.received_of(4) == []
        check_welcome_common(s.welcome(), "user", "anonymous")
        await leave(s)
    run(body())


@pytest.mark.parametrize("scheme", ["ws", "rs"])
def test_ticket_with_xconn(keys_broker, scheme):
    """xconn's TicketAuthenticator (JSON serializer: the test listeners speak JSON)."""
    from wampproto import auth as xauth, serializers
    from wampproto.exception import ApplicationError
    from xconn.client import Client
    url = f"ws://127.0.0.1:{keys_broker.ws_port}/ws" if scheme == "ws" else f"rs://127.0.0.1:{keys_broker.rs_port}"
    client = Client(authenticator=xauth.TicketAuthenticator(TOM[0], TOM[1]), serializer=serializers.JSONSerializer())
    session = client.connect(url, KEYS_REALM)
    details = session._base_session.session_details
    assert (details.authid, details.authrole) == (TOM[0], "device")
    session.leave()
    wrong = Client(authenticator=xauth.TicketAuthenticator(TOM[0], "not-" + TOM[1]), serializer=serializers.JSONSerializer())
    with pytest.raises(ApplicationError) as info:
        wrong.connect(url, KEYS_REALM)
    assert info.value.message == "wamp.error.not_authorized"   # xconn keeps the URI, not the ABORT's text
