# Issue 9 item 7 / SPEC §4: WAMP-CRA must not tell who exists. A decoy CHALLENGE (unknown authid)
# has the keys, role and iterations/keylen of a real user's, drawn in the proportions the userdb's
# users have them, and its salt is stable across attempts and broker restarts (as a real salt
# is). Repeated failures are answered after a growing, bounded delay, the same for an unknown
# authid as for a wrong secret, and the connection ignores input meanwhile.
#
# The fixture userdb (Tests/interop/conftest.py): alice and dave unsalted, carol salted 500/32,
# bob salted 1000/32 (`user add`), all role "user".

import json
import os
import stat
import time

import pytest

from conftest import assert_healthy, interop_conftest
from rawwire import RawSocketClient

SECURE_REALM = interop_conftest.SECURE_REALM
ALICE = interop_conftest.ALICE
PLAIN = ()
REAL_SHAPES = {("alice",): PLAIN, ("dave",): PLAIN, ("carol",): (500, 32), ("bob",): (1000, 32)}
CRA_FAILED = "WAMP-CRA signature is invalid (wrong secret or unknown authid)"
# The broker's throttle: base 100 ms, doubling per failure, cap 2 s (Security/AuthThrottle.swift).
BASE, CAP = 0.1, 2.0


def challenge_for(broker, authid):
    """(CHALLENGE.Extra, the client still connected)."""
    client = RawSocketClient(broker.rs_port)
    client.handshake()
    client.send_msg([1, SECURE_REALM, {"roles": {"subscriber": {}}, "authmethods": ["wampcra"], "authid": authid}])
    msg = client.recv_msg()
    assert msg[0] == 4 and msg[1] == "wampcra", msg
    return msg[2], client


def shape(extra):
    """The visible shape of a challenge apart from nonce/timestamp/session."""
    keys = set(extra)
    assert keys in ({"challenge"}, {"challenge", "salt", "iterations", "keylen"}), extra
    role = json.loads(extra["challenge"])["authrole"]
    return role, (PLAIN if "salt" not in extra else (extra["iterations"], extra["keylen"]))


def test_decoys_are_drawn_like_real_users(broker):
    real = {}
    for (authid,), expected in REAL_SHAPES.items():
        extra, client = challenge_for(broker, authid)
        client.close()
        real[authid] = shape(extra)
        assert real[authid] == ("user", expected), (authid, extra)
    allowed = set(real.values())
    counts = {s: 0 for s in allowed}
    n = 160
    for i in range(n):
        extra, client = challenge_for(broker, f"ghost-{i}-{os.urandom(3).hex()}")
        client.close()
        s = shape(extra)
        assert s in allowed, f"decoy shape {s} is no real user's ({allowed})"
        if s[1] != PLAIN:
            assert type(extra["salt"]) is str and len(extra["salt"]) > 0
        counts[s] += 1
    # Half the users are unsalted, a quarter each 500/32 and 1000/32 (σ of the plain share ≈ 0.04;
    # a quarter-share profile absent from 160 draws has probability 1e-20).
    assert 0.3 <= counts[("user", PLAIN)] / n <= 0.7, counts
    assert all(c > 0 for c in counts.values()), counts
    assert_healthy(broker)


def salts(broker, authids):
    out = {}
    for authid in authids:
        extra, client = challenge_for(broker, authid)
        client.close()
        out[authid] = (shape(extra), extra.get("salt"))
    return out


def test_decoy_and_real_challenges_survive_a_restart(fresh_broker):
    broker = fresh_broker()
    authids = ["carol", "bob", "alice"] + [f"nobody-{i}" for i in range(12)]
    before = salts(broker, authids)
    assert salts(broker, authids) == before, "challenges changed between two attempts"
    code, _ = broker.stop()
    assert code == 0
    broker.start()
    after = salts(broker, authids)
    changed = {a: (before[a], after[a]) for a in authids if before[a] != after[a]}
    assert not changed, f"challenges changed across a restart: {changed}"
    # The key is kept beside the userdb, readable by the broker's user only.
    key_file = broker.userdb.with_name(broker.userdb.name + ".decoy-key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert_healthy(broker)


def failed_attempt(broker, authid, poke=False):
    """One AUTHENTICATE with a wrong signature: (seconds until the ABORT, the ABORT)."""
    _, client = challenge_for(broker, authid)
    with client:
        client.send_msg([5, "c2lnbmF0dXJlIHRoYXQgd2lsbCBub3QgbWF0Y2ggYW55IGtleQ==", {}])
        start = time.monotonic()
        if poke:
            # Input while the verdict is held back must be ignored, not answered.
            client.send_msg([16, 1, {"acknowledge": True}, "com.example.public.x", ["sneak"]])
            client.send_msg([1, SECURE_REALM, {}])
        abort = client.recv_msg(timeout=CAP + 5)
        took = time.monotonic() - start
        client.wait_closed()
    return took, abort


@pytest.mark.parametrize("target", ["wrong_secret", "unknown_authid"])
def test_repeated_failures_are_slowed_down_and_bounded(fresh_broker, target):
    broker = fresh_broker()
    authid = ALICE[0] if target == "wrong_secret" else "mallory"
    times = []
    for i in range(7):
        took, abort = failed_attempt(broker, authid, poke=(i == 3))
        assert abort == [3, {"message": CRA_FAILED}, "wamp.error.not_authorized"], abort
        times.append(took)
    # Failure k (from 0) is held min(cap, base·2^k): 0.1, 0.2, 0.4, 0.8, 1.6, 2, 2 s. Lower bounds
    # allow libuv's cached loop time; upper bounds allow a loaded machine, never an unbounded wait.
    expected = [min(CAP, BASE * 2**k) for k in range(7)]
    for k, (took, want) in enumerate(zip(times, expected)):
        assert took >= want - 0.03, f"failure {k + 1} answered after {took:.3f}s, expected ≥ {want}s: {times}"
        assert took < CAP + 1.0, f"failure {k + 1} took {took:.3f}s, beyond the cap: {times}"
    assert times[3] >= 0.75 and times[6] >= CAP - 0.03, times
    assert_healthy(broker)


def test_unknown_authids_share_the_address_budget(fresh_broker):
    """A spray of distinct unknown authids from one address is slowed like guesses at one user."""
    broker = fresh_broker()
    times = [failed_attempt(broker, f"spray-{i}")[0] for i in range(5)]
    assert times[4] >= BASE * 2**4 - 0.03 and times[4] < CAP + 1.0, times


def test_right_secret_after_failures_still_welcomed(fresh_broker):
    from autobahn.wamp import auth
    broker = fresh_broker()
    for _ in range(3):
        failed_attempt(broker, ALICE[0])
    extra, client = challenge_for(broker, ALICE[0])
    with client:
        client.send_msg([5, auth.compute_wcs(ALICE[1].encode(), extra["challenge"].encode()).decode(), {}])
        start = time.monotonic()
        welcome = client.recv_msg(timeout=CAP + 5)
        took = time.monotonic() - start
    assert welcome[0] == 2 and welcome[2]["authid"] == ALICE[0], welcome
    # Held back like the last failure (no early "yes" for an account under attack), then cleared.
    assert 0.4 - 0.03 <= took < CAP + 1.0, took
