# Autobahn|Python (asyncio) clients for the interop tests: open a session on the broker over
# WebSocket or RawSocket with the JSON serializer, answer WAMP-CRA challenges (ticket and
# cryptosign through Autobahn's AuthTicket / AuthCryptoSign), collect events,
# and record every raw message in both directions so tests can check the wire form (WELCOME
# details, CHALLENGE extra, EVENT with or without args) and not only what Autobahn exposes.

import asyncio
import json
import math
import uuid

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp import auth
from autobahn.wamp.serializer import JsonSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions, SubscribeOptions

DEFAULT_TIMEOUT = 5.0

# Sessions opened during the current run(); closed at its end so no test leaks connections.
_open_sessions = []


class JoinRefused(Exception):
    def __init__(self, reason, message, session):
        super().__init__(f"join refused: {reason} ({message!r})")
        self.reason = reason
        self.message = message
        self.session = session


class ConnectionLostBeforeJoin(Exception):
    pass


class RecordingJsonSerializer(JsonSerializer):
    """Autobahn's JSON serializer, plus a log of every message as decoded by Python's own json
    module (independent of Autobahn's parsing), and an optional rewrite hook for outgoing
    messages (to send options Autobahn's API does not offer, e.g. disclose_me)."""

    def __init__(self):
        super().__init__()
        # Autobahn's WebSocket protocol works on a shallow copy of the serializer: keep all
        # state in shared containers so the test's handle and the copy see the same.
        self.received = []
        self.sent = []
        self._hooks = {}

    @property
    def rewrite_outgoing(self):
        return self._hooks.get("rewrite")

    @rewrite_outgoing.setter
    def rewrite_outgoing(self, fn):
        self._hooks["rewrite"] = fn

    def unserialize(self, payload, isBinary=None):
        try:
            self.received.append(json.loads(payload))
        except ValueError:
            self.received.append(("undecodable", bytes(payload)))
        return super().unserialize(payload, isBinary)

    def serialize(self, msg):
        data, binary = super().serialize(msg)
        if self.rewrite_outgoing is not None:
            obj = json.loads(data)
            replaced = self.rewrite_outgoing(obj)
            data = json.dumps(obj if replaced is None else replaced,
                              separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self.sent.append(json.loads(data))
        return data, binary

    def received_of(self, code):
        return [m for m in self.received if isinstance(m, list) and m and m[0] == code]


class Client(ApplicationSession):
    """One WAMP session; futures for join / leave / disconnect, challenges kept for checks."""

    def __init__(self, config, authid, secret, authmethods, sign, recorder, authextra=None, authenticator=None):
        super().__init__(config)
        loop = asyncio.get_running_loop()
        self.joined = loop.create_future()
        self.left = loop.create_future()
        self.disconnected = loop.create_future()
        self.challenges = []
        self.recorder = recorder
        self.raw_transport = None
        self._authid = authid
        self._secret = secret
        self._authmethods = authmethods
        self._sign = sign
        self._authextra = authextra
        self._authenticator = authenticator

    # Autobahn callbacks

    def onConnect(self):
        self.join(self.config.realm, authmethods=self._authmethods, authid=self._authid, authextra=self._authextra)

    def onChallenge(self, challenge):
        self.challenges.append(challenge)
        if self._authenticator is not None:   # an Autobahn IAuthenticator (AuthTicket, AuthCryptoSign)
            return self._authenticator.on_challenge(self, challenge)
        if self._sign is not None:
            return self._sign(challenge)
        if challenge.method != "wampcra":
            raise Exception(f"unexpected challenge method {challenge.method}")
        key = self._secret
        if "salt" in challenge.extra:
            key = auth.derive_key(self._secret, challenge.extra["salt"],
                                  challenge.extra["iterations"], challenge.extra["keylen"])
        return auth.compute_wcs(key, challenge.extra["challenge"])

    def onJoin(self, details):
        if not self.joined.done():
            self.joined.set_result(details)

    def onLeave(self, details):
        if not self.left.done():
            self.left.set_result(details)
        if not self.joined.done():
            self.joined.set_exception(JoinRefused(details.reason, details.message, self))
            self.joined.exception()  # mark retrieved: the test reads it through connect()
        return super().onLeave(details)

    def onDisconnect(self):
        if not self.disconnected.done():
            self.disconnected.set_result(True)
        if not self.joined.done():
            self.joined.set_exception(ConnectionLostBeforeJoin("transport closed before WELCOME/ABORT"))
            self.joined.exception()
        return super().onDisconnect()

    # conveniences for tests

    @property
    def session_id(self):
        return self._session_id

    def welcome(self):
        """The raw WELCOME message as sent by the broker."""
        msgs = self.recorder.received_of(2)
        return msgs[0] if msgs else None

    def abort(self):
        """Closes the TCP connection without GOODBYE."""
        if self.raw_transport is not None:
            self.raw_transport.abort()


async def connect(broker, transport, realm, authid=None, secret=None, authmethods=None,
                  sign=None, timeout=DEFAULT_TIMEOUT, authextra=None, authenticator=None):
    """Opens a session. Returns the joined Client; raises JoinRefused on ABORT. `authenticator`
    (Autobahn's AuthTicket / AuthCryptoSign) answers the challenge and supplies the authextra."""
    loop = asyncio.get_running_loop()
    recorder = RecordingJsonSerializer()
    if authmethods is None:
        authmethods = ["wampcra"] if authid is not None else ["anonymous"]
    created = loop.create_future()

    def make_session():
        extra = authextra if authextra is not None or authenticator is None else authenticator.authextra
        session = Client(ComponentConfig(realm=realm), authid, secret, authmethods, sign, recorder, extra, authenticator)
        _open_sessions.append(session)
        if not created.done():
            created.set_result(session)
        return session

    if transport == "ws":
        factory = WampWebSocketClientFactory(make_session, url=broker.ws_url, serializers=[recorder])
        port = broker.ws_port
    elif transport == "rs":
        factory = WampRawSocketClientFactory(make_session, serializer=recorder)
        port = broker.rs_port
    else:
        raise ValueError(transport)

    raw_transport, _protocol = await asyncio.wait_for(
        loop.create_connection(factory, "127.0.0.1", port), timeout)
    try:
        session = await asyncio.wait_for(asyncio.shield(created), timeout)
    except asyncio.TimeoutError:
        raw_transport.abort()
        raise AssertionError(f"{transport}: transport handshake did not complete within {timeout}s")
    session.raw_transport = raw_transport
    try:
        await asyncio.wait_for(asyncio.shield(session.joined), timeout)
    except asyncio.TimeoutError:
        raw_transport.abort()
        raise AssertionError(f"{transport}: no WELCOME/ABORT within {timeout}s for realm {realm}")
    return session


async def leave(session, timeout=DEFAULT_TIMEOUT):
    """GOODBYE and wait for the broker's GOODBYE; returns the CloseDetails Autobahn reports."""
    session.leave()
    return await asyncio.wait_for(asyncio.shield(session.left), timeout)


async def close_all(timeout=2.0):
    sessions = list(_open_sessions)
    _open_sessions.clear()
    for s in sessions:
        try:
            if s.is_attached() and not s.left.done():
                s.leave()
        except Exception:
            pass
    for s in sessions:
        try:
            if not s.disconnected.done():
                await asyncio.wait_for(asyncio.shield(s.disconnected), timeout)
        except Exception:
            pass
        if s.raw_transport is not None and not s.raw_transport.is_closing():
            s.raw_transport.abort()


def run(coro, timeout=30.0):
    """Runs one test body on a fresh event loop, with an overall timeout and cleanup."""
    async def main():
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            await close_all()
    return asyncio.run(main())


class Event:
    def __init__(self, args, kwargs, details):
        self.args = args
        self.kwargs = kwargs
        self.details = details

    def __repr__(self):
        return f"Event(args={self.args!r}, kwargs={self.kwargs!r}, topic={self.details.topic!r})"


class Inbox:
    """Collects the events of one or more subscriptions of one session, in arrival order."""

    def __init__(self, session):
        self.session = session
        self.queue = asyncio.Queue()

    def handler(self, *args, **kwargs):
        details = kwargs.pop("details")
        self.queue.put_nowait(Event(list(args), kwargs, details))

    async def subscribe(self, topic, match=None, **options):
        opts = SubscribeOptions(match=match, details_arg="details", **options)
        return await asyncio.wait_for(self.session.subscribe(self.handler, topic, options=opts),
                                      DEFAULT_TIMEOUT)

    async def get(self, timeout=3.0):
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no event within {timeout}s") from None

    def raw(self, event):
        """The raw EVENT message (as decoded by Python's json) that produced this event."""
        for m in self.session.recorder.received_of(36):
            if m[2] == event.details.publication and m[1] == event.details.subscription.id:
                return m
        raise AssertionError(f"raw EVENT for publication {event.details.publication} not recorded")

    async def until(self, sentinel_topic_or_pred, timeout=3.0):
        """All events before the first one matching the sentinel (which is consumed)."""
        before = []
        while True:
            ev = await self.get(timeout)
            if _is_sentinel(ev, sentinel_topic_or_pred):
                return before
            before.append(ev)


def _is_sentinel(ev, s):
    if callable(s):
        return s(ev)
    return bool(ev.args) and ev.args[0] == s


def ack():
    return PublishOptions(acknowledge=True)


async def publish(session, topic, *args, options=None, **kwargs):
    """Publishes; with acknowledge returns the Publication (awaited with a timeout)."""
    if options is None:
        options = ack()
    result = session.publish(topic, *args, options=options, **kwargs)
    if result is None:
        return None
    return await asyncio.wait_for(result, DEFAULT_TIMEOUT)


def unique(prefix):
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def strict_equal(a, b):
    """JSON-value equality that tells int from float from bool and -0.0 from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    return a == b


class Healthy:
    """A subscriber on RawSocket and a publisher on WebSocket kept open across misbehaviour by
    other clients; roundtrip() proves they still publish and receive."""

    def __init__(self, broker):
        self.broker = broker

    async def open(self):
        self.topic = unique("com.example.health")
        self.sub = await connect(self.broker, "rs", "realm1")
        self.pub = await connect(self.broker, "ws", "realm1")
        self.inbox = Inbox(self.sub)
        await self.inbox.subscribe(self.topic)
        await self.roundtrip("before")
        return self

    async def roundtrip(self, tag="after"):
        payload = {"tag": tag, "n": 7}
        pub = await publish(self.pub, self.topic, tag, options=ack(), **payload)
        assert pub is not None and 1 <= pub.id <= 2**53
        ev = await self.inbox.get()
        assert ev.args == [tag] and ev.kwargs == payload, ev
        assert ev.details.publication == pub.id
