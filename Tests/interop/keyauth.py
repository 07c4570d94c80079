# Shared set-up for the ticket and cryptosign interop tests: a broker whose realm KEYS_REALM offers
# wampcra, ticket and cryptosign from one userdb (the conftest users plus the ones below, all
# written with `fastbroker user add`), and the expected ABORT texts.

import subprocess

import nacl.signing
import pytest

from wampclient import JoinRefused, connect, run

from conftest import make_broker

KEYS_REALM = "com.example.keys"
# Anonymous with keep_authid, and ticket from a userdb of its own (tickets.json) holding TED.
OPEN_REALM = "com.example.keys.open"
TED = ("ted", "ted-ticket-Qw3")

# Ticket user: added with `user add --ticket-stdin`.
TOM = ("tom", "tom-ticket-7Hq2-long-random")
TOM_ITERATIONS = 1000

# Cryptosign users, keys from the WAMP spec's test vectors (private keys), so the broker's view
# of them is checked against published data. kate holds one key; lena holds two (two `user add`
# calls), and a ticket too.
KATE_SEED = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510"
LENA_SEEDS = ["d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
              "9f0b2ed1d2a1b6e2b0a4b7c1b1d7d0e8a5c9f1e2d3c4b5a69788796a5b4c3d2e"]
LENA_TICKET = "lena-ticket-Zx81"
UNKNOWN_SEED = "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b"

TICKET_FAILED = "ticket is invalid (wrong ticket or unknown authid)"
CRYPTOSIGN_FAILED = "cryptosign signature is invalid (wrong key, unknown public key, or authid not its owner)"


def public_key(seed_hex):
    return nacl.signing.SigningKey(bytes.fromhex(seed_hex)).verify_key.encode().hex()


def user_add(broker, *args, stdin="", userdb=None):
    cmd = [broker.binary, "user", "add", "--userdb", str(userdb or broker.userdb), *args]
    r = subprocess.run(cmd, input=stdin.encode(), capture_output=True, timeout=20)
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")
    return r


def add_keys_realm(config):
    for listener in config["listeners"]:
        listener["serializers"] = ["json", "msgpack"]
    perms = [{"uri": "com.example.", "match": "prefix", "publish": True, "subscribe": True}]
    config["realms"].append({
        "name": KEYS_REALM,
        "auth": {"wampcra": {"userdb": "users.json"}, "ticket": {"userdb": "users.json"},
                 "cryptosign": {"userdb": "users.json"}},
        "roles": [{"name": "user", "permissions": perms}, {"name": "device", "permissions": perms}],
    })
    config["realms"].append({
        "name": OPEN_REALM,
        "auth": {"anonymous": {"role": "user", "keep_authid": True}, "ticket": {"userdb": "tickets.json"}},
        "roles": [{"name": "user", "permissions": perms}],
    })


@pytest.fixture(scope="module")
def keys_broker(tmp_path_factory):
    """One started keys broker per test module (import this fixture into the module)."""
    b = make_keys_broker(tmp_path_factory)
    yield b
    b.finish()


def make_keys_broker(tmp_path_factory, name="keys", mutate=None, prepare=None):
    """A started broker with KEYS_REALM and the users above; `mutate(config)` edits the config
    after add_keys_realm, `prepare(directory)` runs just before start (e.g. writes certificates)."""
    def configure(config):
        add_keys_realm(config)
        if mutate:
            mutate(config)
    b = make_broker(tmp_path_factory, name, configure)
    user_add(b, "--authid", TOM[0], "--role", "device", "--ticket-stdin", "--iterations", str(TOM_ITERATIONS),
             stdin=TOM[1] + "\n")
    user_add(b, "--authid", "kate", "--role", "user", "--cryptosign-pubkey", public_key(KATE_SEED))
    for seed in LENA_SEEDS:
        user_add(b, "--authid", "lena", "--role", "user", "--cryptosign-pubkey", public_key(seed).upper())
    user_add(b, "--authid", "lena", "--role", "user", "--ticket-stdin", "--iterations", "50", stdin=LENA_TICKET + "\n")
    user_add(b, "--authid", TED[0], "--role", "user", "--ticket-stdin", "--iterations", "100", stdin=TED[1] + "\n",
             userdb=b.dir / "tickets.json")
    if prepare:
        prepare(b.dir)
    return b.start()


def assert_one_abort(session, message):
    """The session got exactly one ABORT `wamp.error.not_authorized` with `message`, no WELCOME."""
    assert session.recorder.received_of(3) == [[3, {"message": message}, "wamp.error.not_authorized"]]
    assert session.recorder.received_of(2) == []


def join_refused(broker, transport, realm, **connect_args):
    """Opens a session that must be refused; returns the JoinRefused (reason, message, session)."""
    async def body():
        with pytest.raises(JoinRefused) as info:
            await connect(broker, transport, realm, timeout=10, **connect_args)
        return info.value
    return run(body(), timeout=30)
