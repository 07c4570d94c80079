# Issue 13 item 7: xconn with its defaults (CBOR; connect_anonymous / connect_wampcra /
# connect_ticket / connect_cryptosign) and Autobahn|Python with CBORSerializer authenticate with
# every method on every transport (WebSocket and RawSocket, plain and TLS), each session then
# receiving its own publication with exact values. Every case checks the WELCOME's authmethod,
# authid and authrole as the client decoded them.
#
# xconn 0.5.1 has no RawSocket-over-TLS: its `rss://` scheme opens a plain TCP socket (no ssl wrap
# in RawSocketTransport.connect), so xconn×rss is not in the matrix; Autobahn covers rss. xconn's
# `wss://` verifies with ssl.create_default_context() and takes no context, so its CA comes from
# SSL_CERT_FILE (which OpenSSL reads when loading the default verify paths).

import asyncio
import queue
import re

import pytest
from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.auth import AuthCryptoSign, AuthTicket
from autobahn.wamp.serializer import CBORSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions
from wampproto import messages
from wampproto.joiner import Joiner
from xconn.client import connect_anonymous, connect_cryptosign, connect_ticket, connect_wampcra

import txaio
import wampclient
from conftest import BOB, free_port
from keyauth import KATE_SEED, KEYS_REALM, TOM, make_keys_broker
from test_serializers import same
from test_tls import client_context, make_certificates
from wampclient import Client, leave, run, unique

txaio.use_asyncio()  # xconn's import leaves txaio without a framework

METHODS = ["anonymous", "wampcra", "ticket", "cryptosign"]
TRANSPORTS = ["ws", "rs", "wss", "rss"]
# authid (None: chosen by the broker) and authrole of each method's user in KEYS_REALM.
IDENTITIES = {"anonymous": (None, "user"), "wampcra": (BOB[0], "user"), "ticket": (TOM[0], "device"),
              "cryptosign": ("kate", "user")}
# The broker's anonymous authid: six groups of four from an alphabet without 0/O and 1/I.
ANONYMOUS_AUTHID = re.compile(r"[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){5}")
ARGS = [7, "ü-😀", b"\x00\xff", 2.5, -0.0, None, [True, {"n": -(2**63)}]]


@pytest.fixture(scope="module")
def all_methods_broker(tmp_path_factory):
    """KEYS_REALM with anonymous (role user) beside wampcra, ticket and cryptosign, listeners with
    the default serializers (JSON, MessagePack, CBOR), plain and TLS on both transports."""
    ports = {"wss": free_port(), "rss": free_port()}

    def all_methods(config):
        for listener in config["listeners"]:
            del listener["serializers"]
        tls = {"certificate": "server.crt", "key": "server.key"}
        config["listeners"] += [
            {"transport": "websocket", "host": "127.0.0.1", "port": ports["wss"], "path": "/ws", "tls": dict(tls)},
            {"transport": "rawsocket", "host": "127.0.0.1", "port": ports["rss"], "tls": dict(tls)}]
        realm = next(r for r in config["realms"] if r["name"] == KEYS_REALM)
        realm["auth"]["anonymous"] = {"role": "user"}

    b = make_keys_broker(tmp_path_factory, "all-methods", mutate=all_methods, prepare=make_certificates)
    b.ports = dict(ports, ws=b.ws_port, rs=b.rs_port)
    yield b
    b.finish()


def check_identity(method, authmethod, authid, authrole):
    expected_authid, expected_role = IDENTITIES[method]
    assert (authmethod, authrole) == (method, expected_role), (authmethod, authid, authrole)
    if expected_authid is None:
        assert ANONYMOUS_AUTHID.fullmatch(authid), authid
    else:
        assert authid == expected_authid, authid


def check_event(args, kwargs, who):
    assert same(args, ARGS), args
    assert same(kwargs, {"who": who, "big": 2**64 - 1}), kwargs


# Autobahn|Python: CBORSerializer, the test's own ssl context for wss/rss.

async def autobahn_join(broker, transport, method):
    authid, _ = IDENTITIES[method]
    authenticator = {"ticket": AuthTicket(ticket=TOM[1]), "cryptosign": AuthCryptoSign(privkey=KATE_SEED)}.get(method)
    authextra = authenticator.authextra if authenticator else None
    loop = asyncio.get_running_loop()
    created = loop.create_future()

    def make_session():
        session = Client(ComponentConfig(realm=KEYS_REALM), authid, BOB[1], [method], None, None, authextra, authenticator)
        wampclient._open_sessions.append(session)  # run() closes it whatever happens
        if not created.done():
            created.set_result(session)
        return session

    tls = transport in ("wss", "rss")
    host = "localhost" if tls else "127.0.0.1"
    port = broker.ports[transport]
    if transport in ("ws", "wss"):
        factory = WampWebSocketClientFactory(make_session, url=f"{'wss' if tls else 'ws'}://{host}:{port}/ws",
                                             serializers=[CBORSerializer()])
    else:
        factory = WampRawSocketClientFactory(make_session, serializer=CBORSerializer())
    ssl_args = {"ssl": client_context(broker.dir), "server_hostname": host} if tls else {}
    await asyncio.wait_for(loop.create_connection(factory, host, port, **ssl_args), 5)
    session = await asyncio.wait_for(created, 5)
    return session, await asyncio.wait_for(asyncio.shield(session.joined), 5)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", METHODS)
def test_autobahn_cbor(all_methods_broker, method, transport):
    async def body():
        session, details = await autobahn_join(all_methods_broker, transport, method)
        check_identity(method, details.authmethod, details.authid, details.authrole)
        topic = unique("com.example.defaults.autobahn")
        inbox = asyncio.Queue()
        await session.subscribe(lambda *a, **kw: inbox.put_nowait((list(a), kw)), topic)
        who = f"autobahn-{method}-{transport}"
        await session.publish(topic, *ARGS, who=who, big=2**64 - 1,
                              options=PublishOptions(acknowledge=True, exclude_me=False))
        check_event(*await asyncio.wait_for(inbox.get(), 5), who)
        await leave(session)
    run(body())


# xconn: its connect_* functions exactly as documented (default serializer CBOR).

def xconn_join(broker, transport, method):
    port = broker.ports[transport]
    uri = {"ws": f"ws://127.0.0.1:{port}/ws", "wss": f"wss://localhost:{port}/ws", "rs": f"rs://127.0.0.1:{port}"}[transport]
    if method == "anonymous":
        return connect_anonymous(uri, KEYS_REALM)
    if method == "wampcra":
        return connect_wampcra(uri, KEYS_REALM, BOB[0], BOB[1])
    if method == "ticket":
        return connect_ticket(uri, KEYS_REALM, TOM[0], TOM[1])
    return connect_cryptosign(uri, KEYS_REALM, "kate", KATE_SEED)


@pytest.mark.parametrize("transport", ["ws", "rs", "wss"])
@pytest.mark.parametrize("method", METHODS)
def test_xconn_defaults(all_methods_broker, method, transport, monkeypatch):
    # xconn's session details lack the authmethod: keep the WELCOME its joiner decodes.
    welcomes = []
    decode = Joiner.receive_message

    def receive_message(joiner, msg):
        if isinstance(msg, messages.Welcome):
            welcomes.append(msg)
        return decode(joiner, msg)
    monkeypatch.setattr(Joiner, "receive_message", receive_message)
    monkeypatch.setenv("SSL_CERT_FILE", str(all_methods_broker.dir / "ca.crt"))

    session = xconn_join(all_methods_broker, transport, method)
    assert len(welcomes) == 1, welcomes
    welcome = welcomes[0]
    check_identity(method, welcome.authmethod, welcome.authid, welcome.authrole)

    topic = unique("com.example.defaults.xconn")
    inbox = queue.Queue()
    session.subscribe(topic, lambda event: inbox.put((list(event.args or []), dict(event.kwargs or {}))))
    who = f"xconn-{method}-{transport}"
    session.publish(topic, ARGS, {"who": who, "big": 2**64 - 1}, options={"acknowledge": True, "exclude_me": False})
    check_event(*inbox.get(timeout=5), who)
    session.leave()
