# Cryptosign authentication (SPEC §3, §4) with real clients over WebSocket and RawSocket:
# Autobahn|Python's AuthCryptoSign (CryptosignKey; 96-byte signature‖challenge), PyNaCl
# signatures (a bare 64-byte signature, upper-case hex) and xconn's CryptoSignAuthenticator; keys
# added with `fastbroker user add --cryptosign-pubkey`; lookup by public key, authid ownership,
# and the one ABORT for an unknown key, a key of someone else and a bad signature.

import json

import nacl.signing
import pytest
from autobahn.wamp.auth import AuthCryptoSign

from keyauth import CRYPTOSIGN_FAILED, KATE_SEED, KEYS_REALM, LENA_SEEDS, TOM, UNKNOWN_SEED, assert_one_abort, \
    join_refused, keys_broker, make_keys_broker, public_key, user_add  # noqa: F401 (keys_broker is a fixture)
from rawwire import RawSocketClient
from test_session import check_welcome_common
from wampclient import connect, leave, run

TRANSPORTS = ["ws", "rs"]


def nacl_signer(seed_hex, form="bare", challenge_override=None):
    """A PyNaCl answer to a cryptosign CHALLENGE: the bare signature, or signature‖challenge
    (`form="96"`), optionally over another challenge than the one received."""
    key = nacl.signing.SigningKey(bytes.fromhex(seed_hex))

    def sign(challenge):
        data = challenge_override or bytes.fromhex(challenge.extra["challenge"])
        signed = key.sign(data)
        return (signed.signature if form == "bare" else signed.signature + data).hex()
    return sign


def check_challenge(session):
    challenges = session.recorder.received_of(4)
    assert len(challenges) == 1, challenges
    _, method, extra = challenges[0]
    assert method == "cryptosign"
    assert set(extra) == {"challenge", "channel_binding"} and extra["channel_binding"] is None, extra
    assert len(extra["challenge"]) == 64 and extra["challenge"] == extra["challenge"].lower()
    bytes.fromhex(extra["challenge"])
    return extra["challenge"]


def test_userdb_holds_the_public_keys(keys_broker):
    users = {u["authid"]: u for u in json.loads(keys_broker.userdb.read_text())}
    assert users["kate"]["cryptosign"] == [public_key(KATE_SEED)]
    # Added in upper case, stored in lower case; the second `user add` appended the key.
    assert users["lena"]["cryptosign"] == [public_key(s) for s in LENA_SEEDS]
    assert "ticket" in users["lena"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_autobahn_cryptosign_key(keys_broker, transport):
    async def body():
        authenticator = AuthCryptoSign(privkey=KATE_SEED)
        s = await connect(keys_broker, transport, KEYS_REALM, authid="kate", authmethods=["cryptosign"],
                          authenticator=authenticator)
        challenge = check_challenge(s)
        assert s.recorder.sent[0][2]["authextra"] == {"pubkey": public_key(KATE_SEED)}
        signature = s.recorder.sent[-1][1]
        assert len(signature) == 192 and signature.endswith(challenge)   # Autobahn's 96-byte form
        _, details = check_welcome_common(s.welcome(), "user", "cryptosign", "kate")
        assert details["authprovider"] == "userdb"
        await leave(s)
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pynacl_bare_signature_without_authid(keys_broker, transport):
    """No authid in HELLO: the key's owner is the authid. Either of lena's two keys works."""
    async def body():
        for seed in LENA_SEEDS:
            s = await connect(keys_broker, transport, KEYS_REALM, authmethods=["cryptosign"],
                              authextra={"pubkey": public_key(seed)}, sign=nacl_signer(seed))
            check_challenge(s)
            assert len(s.recorder.sent[-1][1]) == 128
            check_welcome_common(s.welcome(), "user", "cryptosign", "lena")
            await leave(s)
    run(body())


def test_upper_case_hex_key_and_signature(keys_broker):
    async def body():
        sign = nacl_signer(KATE_SEED, form="96")
        s = await connect(keys_broker, "rs", KEYS_REALM, authid="kate", authmethods=["cryptosign"],
                          authextra={"pubkey": public_key(KATE_SEED).upper()}, sign=lambda ch: sign(ch).upper())
        check_welcome_common(s.welcome(), "user", "cryptosign", "kate")
        await leave(s)
    run(body())


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", ["unknown key", "authid not the owner", "signed by another key",
                                  "signature over another challenge", "malformed key", "garbage signature"])
def test_refusals_are_one_abort(keys_broker, transport, case):
    kate = public_key(KATE_SEED)
    authid, pubkey, sign = {
        "unknown key": (None, public_key(UNKNOWN_SEED), nacl_signer(UNKNOWN_SEED, "96")),
        "authid not the owner": ("lena", kate, nacl_signer(KATE_SEED, "96")),
        "signed by another key": ("kate", kate, nacl_signer(LENA_SEEDS[0], "96")),
        "signature over another challenge": ("kate", kate, nacl_signer(KATE_SEED, "96", b"\x07" * 32)),
        "malformed key": ("kate", kate[:-2], nacl_signer(KATE_SEED, "96")),
        "garbage signature": ("kate", kate, lambda ch: "zz" * 96),
    }[case]

    refusal = join_refused(keys_broker, transport, KEYS_REALM, authid=authid, authmethods=["cryptosign"],
                           authextra={"pubkey": pubkey}, sign=sign)
    check_challenge(refusal.session)   # a challenge like any other, then the one ABORT
    assert_one_abort(refusal.session, CRYPTOSIGN_FAILED)


def test_channel_binding_is_refused_with_a_reason(keys_broker):
    refusal = join_refused(keys_broker, "ws", KEYS_REALM, authmethods=["cryptosign"],
                           authextra={"pubkey": public_key(KATE_SEED), "channel_binding": "tls-unique"},
                           sign=nacl_signer(KATE_SEED))
    assert refusal.session.recorder.received_of(4) == []
    assert_one_abort(refusal.session, "cryptosign with TLS channel binding (authextra.channel_binding) is not offered "
                                      "yet; connect without channel_binding")


def test_methods_are_tried_in_the_clients_order(keys_broker):
    """ticket needs an authid, cryptosign a pubkey: the first method the HELLO can use wins."""
    async def body():
        s = await connect(keys_broker, "rs", KEYS_REALM, authmethods=["ticket", "cryptosign"],
                          authextra={"pubkey": public_key(KATE_SEED)}, sign=nacl_signer(KATE_SEED))
        check_welcome_common(s.welcome(), "user", "cryptosign", "kate")
        await leave(s)
        s = await connect(keys_broker, "rs", KEYS_REALM, authid=TOM[0], authmethods=["cryptosign", "ticket"],
                          sign=lambda ch: TOM[1])
        assert s.recorder.received_of(4) == [[4, "ticket", {}]]
        check_welcome_common(s.welcome(), "device", "ticket", TOM[0])
        await leave(s)
    run(body())


@pytest.mark.parametrize("authextra, problem", [
    ("pubkey", "HELLO.Details.authextra must be a dict"),
    ({"pubkey": 7}, "HELLO.Details.authextra.pubkey must be a string"),
])
def test_malformed_authextra_is_a_protocol_violation(keys_broker, authextra, problem):
    with RawSocketClient(keys_broker.rs_port) as client:
        client.handshake()
        client.send_msg([1, KEYS_REALM, {"roles": {"subscriber": {}}, "authmethods": ["cryptosign"],
                                         "authextra": authextra}])
        assert client.recv_msg() == [3, {"message": problem}, "wamp.error.protocol_violation"]
        assert client.wait_closed() == b""   # closed after the ABORT, nothing more sent


def test_key_added_while_running_works_after_sighup(tmp_path_factory):
    import signal
    import time
    b = make_keys_broker(tmp_path_factory, "cryptosign-reload")
    try:
        async def attempt():
            return await connect(b, "rs", KEYS_REALM, authmethods=["cryptosign"],
                                 authextra={"pubkey": public_key(UNKNOWN_SEED)}, sign=nacl_signer(UNKNOWN_SEED),
                                 timeout=10)

        join_refused(b, "rs", KEYS_REALM, authmethods=["cryptosign"], authextra={"pubkey": public_key(UNKNOWN_SEED)},
                     sign=nacl_signer(UNKNOWN_SEED))
        user_add(b, "--authid", "nina", "--role", "user", "--cryptosign-pubkey", public_key(UNKNOWN_SEED))
        b.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "user database reloaded" not in b.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "user database reloaded" in b.logs(), b.logs()

        async def welcomed():
            s = await attempt()
            check_welcome_common(s.welcome(), "user", "cryptosign", "nina")
            await leave(s)
        run(welcomed())
    finally:
        b.finish()


@pytest.mark.parametrize("scheme", ["ws", "rs"])
def test_cryptosign_with_xconn(keys_broker, scheme):
    """xconn's CryptoSignAuthenticator (JSON serializer: the test listeners speak JSON)."""
    from wampproto import auth as xauth, serializers
    from wampproto.exception import ApplicationError
    from xconn.client import Client
    url = f"ws://127.0.0.1:{keys_broker.ws_port}/ws" if scheme == "ws" else f"rs://127.0.0.1:{keys_broker.rs_port}"
    client = Client(authenticator=xauth.CryptoSignAuthenticator("kate", KATE_SEED), serializer=serializers.JSONSerializer())
    session = client.connect(url, KEYS_REALM)
    details = session._base_session.session_details
    assert (details.authid, details.authrole) == ("kate", "user")
    session.leave()
    # lena's key under kate's name: refused.
    wrong = Client(authenticator=xauth.CryptoSignAuthenticator("kate", LENA_SEEDS[0]), serializer=serializers.JSONSerializer())
    with pytest.raises(ApplicationError) as info:
        wrong.connect(url, KEYS_REALM)
    assert info.value.message == "wamp.error.not_authorized"


def test_cryptosign_over_msgpack_rawsocket(keys_broker):
    """The HELLO's authextra and the CHALLENGE read and written in MessagePack."""
    import msgpack
    key = nacl.signing.SigningKey(bytes.fromhex(KATE_SEED))
    with RawSocketClient(keys_broker.rs_port) as client:
        client.handshake(byte1=0xF2)   # serializer 2 = MessagePack
        client.send_msg(msgpack.packb([1, KEYS_REALM, {"roles": {"subscriber": {}}, "authmethods": ["cryptosign"],
                                                       "authextra": {"pubkey": public_key(KATE_SEED)}}]))
        _, payload = client.recv_frame()
        code, method, extra = msgpack.unpackb(payload, raw=False)
        assert (code, method, extra["channel_binding"]) == (4, "cryptosign", None) and len(extra["challenge"]) == 64
        challenge = bytes.fromhex(extra["challenge"])
        client.send_msg(msgpack.packb([5, (key.sign(challenge).signature + challenge).hex(), {}]))
        _, payload = client.recv_frame()
        welcome = msgpack.unpackb(payload, raw=False)
        assert welcome[0] == 2 and (welcome[2]["authid"], welcome[2]["authmethod"]) == ("kate", "cryptosign"), welcome


@pytest.mark.parametrize("authid, key, error", [
    ("zoe", "abc", "--cryptosign-pubkey must be an Ed25519 public key: 64 hex digits"),
    ("zoe", "g" * 64, "--cryptosign-pubkey must be an Ed25519 public key: 64 hex digits"),
    ("zoe", public_key(KATE_SEED), f"public key {public_key(KATE_SEED)} already belongs to user \"kate\""),
])
def test_user_add_refuses_bad_or_taken_keys(keys_broker, tmp_path, authid, key, error):
    import shutil
    import subprocess
    userdb = tmp_path / "users.json"
    shutil.copy(keys_broker.userdb, userdb)
    before = userdb.read_bytes()
    r = subprocess.run([keys_broker.binary, "user", "add", "--userdb", str(userdb), "--authid", authid, "--role", "user",
                        "--cryptosign-pubkey", key], capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0 and error in out, out
    assert userdb.read_bytes() == before
