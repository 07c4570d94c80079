# Session establishment against the real broker with Autobahn|Python: anonymous and WAMP-CRA
# (unsalted, salted via `fastbroker user add`, salted via Autobahn's derive_key), the exact
# CHALLENGE and WELCOME contents, refusals (wrong secret, unknown user, unknown realm, realm
# without anonymous) and id ranges. SPEC §4.

import asyncio
import base64
import datetime
import json
import re

import pytest
from autobahn.wamp import auth

from conftest import ALICE, BOB, BOB_ITERATIONS, CAROL, CAROL_ITERATIONS, CAROL_KEYLEN, CAROL_SALT, \
    CLOSED_REALM, DAVE, SECURE_REALM
from wampclient import JoinRefused, connect, leave, run

MAX_ID = 2**53
TRANSPORTS = ["ws", "rs"]

# The advanced broker features SPEC §5 asks for. WELCOME must announce each of them, and
# nothing beyond what is implemented: extend this set when a feature (with its tests) lands.
REQUIRED_FEATURES = {"publisher_exclusion", "subscriber_blackwhite_listing",
                     "publisher_identification", "pattern_based_subscription"}
REQUIRED_FEATURES |= {"session_meta_api", "subscription_meta_api"}   # test_meta_events.py
IMPLEMENTED_FEATURES = set(REQUIRED_FEATURES) | {"event_retention"}

ISO_MS_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CHALLENGE_KEYS = {"nonce", "authprovider", "authid", "timestamp", "authrole", "authmethod", "session"}


def check_welcome_common(welcome, expect_role, expect_method, expect_authid=None):
    assert welcome[0] == 2 and len(welcome) == 3, welcome
    session, details = welcome[1], welcome[2]
    assert type(session) is int and 1 <= session <= MAX_ID, session
    assert details.get("authrole") == expect_role, details
    assert details.get("authmethod") == expect_method, details
    assert isinstance(details.get("authid"), str) and details["authid"], details
    if expect_authid is not None:
        assert details["authid"] == expect_authid, details
    assert isinstance(details.get("authprovider"), str) and details["authprovider"], details
    agent = details.get("agent")
    assert isinstance(agent, str) and agent.startswith("fastbroker-") and len(agent) > len("fastbroker-"), details
    features = details.get("roles", {}).get("broker", {}).get("features")
    assert isinstance(features, dict), f"roles.broker.features missing: {details}"
    claimed = {k for k, v in features.items() if v is True}
    assert REQUIRED_FEATURES <= claimed, f"missing features: {REQUIRED_FEATURES - claimed}"
    assert claimed <= IMPLEMENTED_FEATURES, f"features claimed beyond the known set: {claimed - IMPLEMENTED_FEATURES}"
    return session, details


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_anonymous_join_welcome_details(broker, transport):
    async def body():
        s = await connect(broker, transport, "realm1")
        session, details = check_welcome_common(s.welcome(), "anonymous", "anonymous")
        assert s.session_id == session
        # Autobahn's own view agrees with the raw message.
        det = await s.joined
        assert det.authrole == "anonymous" and det.authmethod == "anonymous"
        assert s.challenges == [], "anonymous join must not be challenged"
    run(body())


def test_anonymous_join_hello_without_authmethods(broker):
    """A HELLO with no authmethods key is anonymous (WAMP: absent authmethods = anonymous)."""
    from rawwire import RawSocketClient

    def raw():
        with RawSocketClient(broker.rs_port) as c:
            c.handshake()
            c.send_msg([1, "realm1", {"roles": {"subscriber": {}}}])
            check_welcome_common(c.recv_msg(), "anonymous", "anonymous")
    run(asyncio.to_thread(raw))


def test_anonymous_join_empty_authmethods(broker):
    """Autobahn's join(authmethods=[]) sends "authmethods": []: no method asked for, as when
    the key is absent (Crossbar treats it as anonymous too)."""
    async def body():
        s = await connect(broker, "ws", "realm1", authmethods=[])
        check_welcome_common(s.welcome(), "anonymous", "anonymous")
    run(body())


def test_anonymous_on_secure_realm_gets_guest_role(broker):
    async def body():
        s = await connect(broker, "rs", SECURE_REALM)
        check_welcome_common(s.welcome(), "guest", "anonymous")
    run(body())


def challenge_of(session):
    assert len(session.challenges) == 1, session.challenges
    ch = session.challenges[0]
    assert ch.method == "wampcra"
    return ch


def check_challenge_string(extra, authid, expect_session=None):
    text = extra.get("challenge")
    assert isinstance(text, str), extra
    c = json.loads(text)
    assert set(c) == CHALLENGE_KEYS, f"challenge keys {sorted(c)}"
    assert c["authprovider"] == "userdb"
    assert c["authmethod"] == "wampcra"
    assert c["authid"] == authid
    assert ISO_MS_UTC.match(c["timestamp"]), c["timestamp"]
    ts = datetime.datetime.strptime(c["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds())
    assert skew < 120, f"timestamp {c['timestamp']} is {skew:.0f}s away from now"
    nonce = base64.b64decode(c["nonce"], validate=True)
    assert len(nonce) >= 16, f"nonce has {len(nonce)} bytes"
    assert type(c["session"]) is int and 1 <= c["session"] <= MAX_ID
    if expect_session is not None:
        assert c["session"] == expect_session, "challenge session must equal the WELCOME session id"
    return c


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wampcra_unsalted(broker, transport):
    async def body():
        s = await connect(broker, transport, SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        session, details = check_welcome_common(s.welcome(), "user", "wampcra", ALICE[0])
        assert details["authprovider"] == "userdb"
        ch = challenge_of(s)
        assert set(ch.extra) == {"challenge"}, f"unsalted user must get no salt params: {ch.extra}"
        c = check_challenge_string(ch.extra, ALICE[0], expect_session=session)
        assert c["authrole"] == "user"
        # The broker really verified the signature with HMAC-SHA256 keyed by the secret:
        sent = [m for m in s.recorder.sent if m[0] == 5]
        assert sent and sent[0][1] == auth.compute_wcs(ALICE[1], ch.extra["challenge"]).decode()
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wampcra_salted_user_added_with_cli(broker, transport):
    assert broker.user_add_result.returncode == 0, (
        f"`fastbroker user add` failed: {broker.user_add_result.stderr.decode(errors='replace')}")

    async def body():
        s = await connect(broker, transport, SECURE_REALM, authid=BOB[0], secret=BOB[1])
        session, _ = check_welcome_common(s.welcome(), "user", "wampcra", BOB[0])
        ch = challenge_of(s)
        assert set(ch.extra) == {"challenge", "salt", "keylen", "iterations"}, ch.extra
        assert ch.extra["iterations"] == BOB_ITERATIONS
        assert isinstance(ch.extra["salt"], str) and ch.extra["salt"]
        assert type(ch.extra["keylen"]) is int and ch.extra["keylen"] >= 16
        check_challenge_string(ch.extra, BOB[0], expect_session=session)
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wampcra_salted_derive_key(broker, transport):
    async def body():
        s = await connect(broker, transport, SECURE_REALM, authid=CAROL[0], secret=CAROL[1])
        session, _ = check_welcome_common(s.welcome(), "user", "wampcra", CAROL[0])
        ch = challenge_of(s)
        assert ch.extra["salt"] == CAROL_SALT
        assert ch.extra["iterations"] == CAROL_ITERATIONS
        assert ch.extra["keylen"] == CAROL_KEYLEN
        check_challenge_string(ch.extra, CAROL[0], expect_session=session)
    run(body())


def test_user_add_writes_salted_entry_without_password(broker):
    r = broker.user_add_result
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    text = broker.userdb.read_text()
    assert BOB[1] not in text, "the password must never be stored"
    users = json.loads(text)
    assert [u["authid"] for u in users].count("bob") == 1
    assert {u["authid"] for u in users} >= {"alice", "carol", "dave", "bob"}, "existing users kept"
    bob = next(u for u in users if u["authid"] == "bob")
    assert bob["role"] == "user"
    assert "secret" not in bob
    assert bob["iterations"] == BOB_ITERATIONS
    assert isinstance(bob["salt"], str) and len(bob["salt"]) >= 8, bob["salt"]
    # Independent check: Autobahn's derive_key of the password gives the stored key.
    expected = auth.derive_key(BOB[1], bob["salt"], bob["iterations"], bob["keylen"]).decode()
    assert bob["derived_key"] == expected


def test_user_add_random_salt(broker, tmp_path):
    from conftest import user_add
    db = tmp_path / "u.json"
    db.write_text("[]")
    for name in ("u1", "u2"):
        r = user_add(broker.binary, db, name, "user", "same-password", 1000)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    users = json.loads(db.read_text())
    assert users[0]["salt"] != users[1]["salt"], "salts must be random"
    assert users[0]["derived_key"] != users[1]["derived_key"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wampcra_wrong_secret(broker, transport):
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, transport, SECURE_REALM, authid=ALICE[0], secret="not-alice-secret")
        assert info.value.reason == "wamp.error.not_authorized"
        assert isinstance(info.value.message, str) and info.value.message
        abort = info.value.session.recorder.received_of(3)
        assert abort and isinstance(abort[0][1].get("message"), str) and abort[0][1]["message"]
        assert info.value.session.recorder.received_of(2) == [], "no WELCOME after a wrong secret"
    run(body())


def test_wampcra_wrong_secret_salted(broker):
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, "ws", SECURE_REALM, authid=CAROL[0], secret="not-carol")
        assert info.value.reason == "wamp.error.not_authorized"
    run(body())


def test_wampcra_garbage_signature(broker):
    async def body():
        for sig in ("", "not base64 !!", "A" * 4000):
            with pytest.raises(JoinRefused) as info:
                await connect(broker, "rs", SECURE_REALM, authid=ALICE[0], sign=lambda ch, s=sig: s)
            assert info.value.reason == "wamp.error.not_authorized", sig
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wampcra_unknown_user_indistinguishable(broker, transport):
    async def body():
        with pytest.raises(JoinRefused) as unknown:
            await connect(broker, transport, SECURE_REALM, authid="mallory", secret="guess")
        u_ch = challenge_of(unknown.value.session)
        # A decoy takes the shape of some real user's challenge (which one depends on the
        # broker's decoy key): compare with a real user of that shape, carol (salted) or alice.
        salted = "salt" in u_ch.extra
        known_authid = CAROL[0] if salted else ALICE[0]
        with pytest.raises(JoinRefused) as known:
            await connect(broker, transport, SECURE_REALM, authid=known_authid, secret="guess")
        k_ch = challenge_of(known.value.session)
        expected_keys = {"challenge", "salt", "keylen", "iterations"} if salted else {"challenge"}
        assert set(u_ch.extra) == set(k_ch.extra) == expected_keys, (u_ch.extra, k_ch.extra)
        for key in expected_keys:
            assert type(u_ch.extra[key]) is type(k_ch.extra[key]), key
        u_c = check_challenge_string(u_ch.extra, "mallory")
        k_c = check_challenge_string(k_ch.extra, known_authid)
        assert isinstance(u_c["authrole"], str) and u_c["authrole"], u_c
        assert type(u_c["authrole"]) is type(k_c["authrole"])
        # Same failure.
        assert unknown.value.reason == known.value.reason == "wamp.error.not_authorized"
        u_msg = unknown.value.message.replace("mallory", "<authid>")
        k_msg = known.value.message.replace(known_authid, "<authid>")
        assert u_msg == k_msg, (unknown.value.message, known.value.message)
    run(body())


def test_wampcra_unknown_user_salt_is_stable(broker):
    """A real user's salt never changes between attempts; an unknown authid's must not either,
    or two attempts tell them apart (SPEC §4: indistinguishable challenge)."""
    async def body():
        salts = []
        for _ in range(2):
            with pytest.raises(JoinRefused) as info:
                await connect(broker, "rs", SECURE_REALM, authid="nobody-here", secret="x")
            # salt/iterations/keylen, or none of them if the decoy looks like an unsalted user's
            extra = challenge_of(info.value.session).extra
            salts.append({k: v for k, v in extra.items() if k != "challenge"})
        assert salts[0] == salts[1], salts
    run(body())


def test_wampcra_nonce_and_session_fresh_per_attempt(broker):
    async def body():
        a = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        b = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        ca = json.loads(challenge_of(a).extra["challenge"])
        cb = json.loads(challenge_of(b).extra["challenge"])
        assert ca["nonce"] != cb["nonce"]
        assert a.session_id != b.session_id
    run(body())


def test_wampcra_on_closed_realm(broker):
    async def body():
        s = await connect(broker, "rs", CLOSED_REALM, authid=DAVE[0], secret=DAVE[1])
        check_welcome_common(s.welcome(), "user", "wampcra", DAVE[0])
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_anonymous_refused_on_realm_without_anonymous(broker, transport):
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, transport, CLOSED_REALM)
        assert info.value.reason == "wamp.error.not_authorized"
        assert isinstance(info.value.message, str) and info.value.message
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_realm(broker, transport):
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, transport, "com.example.nosuchrealm")
        assert info.value.reason == "wamp.error.no_such_realm"
        abort = info.value.session.recorder.received_of(3)
        assert abort == [[3, {"message": "The realm does not exist."}, "wamp.error.no_such_realm"]], abort
        # ... then close.
        await asyncio.wait_for(info.value.session.disconnected, 3)
    run(body())


def test_session_ids_random_and_in_range(broker):
    async def body():
        ids = []
        for i in range(8):
            s = await connect(broker, "ws" if i % 2 else "rs", "realm1")
            ids.append(s.session_id)
        assert all(type(i) is int and 1 <= i <= MAX_ID for i in ids), ids
        assert len(set(ids)) == len(ids), ids
        # Uniform over [1, 2^53]: the chance that 8 draws all fall below 2^32 is 2^-168.
        assert max(ids) > 2**32, f"session ids do not look random over [1, 2^53]: {ids}"
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_goodbye_from_client(broker, transport):
    async def body():
        s = await connect(broker, transport, "realm1")
        details = await leave(s)
        assert details.reason == "wamp.close.goodbye_and_out"
        goodbyes = s.recorder.received_of(6)
        assert goodbyes == [[6, {}, "wamp.close.goodbye_and_out"]], goodbyes
        await asyncio.wait_for(s.disconnected, 3)
    run(body())


def test_goodbye_close_realm_reason(broker):
    async def body():
        s = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1])
        s.leave("wamp.close.close_realm")
        details = await asyncio.wait_for(s.left, 3)
        assert details.reason == "wamp.close.goodbye_and_out"
    run(body())


def test_authmethods_fall_through_to_anonymous(broker):
    """HELLO offering wampcra then anonymous on a realm without wampcra: the broker uses the
    first method the realm supports (Crossbar's behaviour), here anonymous."""
    async def body():
        s = await connect(broker, "rs", "realm1", authid="alice", secret="irrelevant",
                          authmethods=["wampcra", "anonymous"])
        assert s.challenges == []
        _, details = check_welcome_common(s.welcome(), "anonymous", "anonymous")
    run(body())


def test_wampcra_preferred_when_offered_first(broker):
    async def body():
        s = await connect(broker, "ws", SECURE_REALM, authid=ALICE[0], secret=ALICE[1],
                          authmethods=["wampcra", "anonymous"])
        check_welcome_common(s.welcome(), "user", "wampcra", ALICE[0])
    run(body())


def test_unsupported_authmethod_refused(broker):
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, "rs", CLOSED_REALM, authid=ALICE[0], authmethods=["ticket"],
                          sign=lambda ch: "ticket")
        assert info.value.reason in ("wamp.error.not_authorized", "wamp.error.no_matching_auth_method"), \
            info.value.reason
        assert info.value.session.recorder.received_of(2) == []
    run(body())


def test_wampcra_without_authid_refused(broker):
    """WAMP-CRA requires an authid; with no other method offered the HELLO cannot succeed."""
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, "ws", CLOSED_REALM, authmethods=["wampcra"])
        assert info.value.reason.startswith("wamp.error."), info.value.reason
        assert info.value.session.recorder.received_of(2) == []
    run(body())
