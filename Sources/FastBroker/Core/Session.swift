// One WAMP session: the SPEC §4 state machine (HELLO → [CHALLENGE → AUTHENTICATE] → WELCOME →
// pub/sub → GOODBYE) over messages the connection has already framed and scanned. Owned by its
// connection's loop thread for its whole life. The session only speaks WAMP: it parses and
// checks each message, calls the realm's router on this loop, and replies through the
// connection. Its facets live beside it:
//   Session.swift            state, dispatch by message type, closing
//   Session+Handshake.swift  HELLO, CHALLENGE/AUTHENTICATE, WELCOME, ABORT before WELCOME
//   Session+PubSub.swift     SUBSCRIBE, UNSUBSCRIBE, PUBLISH, event delivery
//   Session+Groups.swift     the member side of consumer groups
//
// Ownership: the session holds its connection strongly (the connection drops the session when
// its socket is closed, which ends the cycle), so a session reference is never dangling: after
// the close, the session is `.closed` and the connection refuses output. Nothing outside this
// loop holds a Session: other loops name it by SessionRef, which this loop resolves only while
// the session is established (LoopContext.session(_:)).

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import Logging

final class Session {
    enum State {
        case awaitingHello
        /// CHALLENGE sent for a realm with a user database; the next message must be AUTHENTICATE.
        /// Indirect (boxed), so every payload is one reference and reading the state per
        /// message is one retain, not a copy of a challenge's strings.
        indirect case challenged(AuthChallenge, Realm)
        /// The AUTHENTICATE's check runs on the thread pool (a ticket's PBKDF2); input is ignored.
        case verifying
        /// The AUTHENTICATE's verdict is held back by the auth throttle; input is ignored.
        case awaitingVerdict
        case established(Established)
        /// The broker sent GOODBYE (shutdown) and waits for the client's reply.
        case closing
        case closed
    }

    /// What an established session works with, all set together at WELCOME. A class, so each
    /// message's `case .established(let e)` copies one reference, not a realm and a router.
    final class Established {
        let realm: Realm
        /// The realm's router on this session's loop.
        let router: Router
        /// How other loops name this session (registered with the loop until detach).
        let ref: SessionRef

        init(realm: Realm, router: Router, ref: SessionRef) {
            self.realm = realm
            self.router = router
            self.ref = ref
        }
    }

    // All fields: owned by the connection's loop thread. The `var`s are written only by
    // Session's own files (Session*.swift).
    let connection: Connection
    /// Session id, chosen at HELLO (the CHALLENGE already carries it).
    var id: UInt64 = 0
    var state = State.awaitingHello
    /// The state's Established from WELCOME until the session is freed, though the state moves
    /// on at close: a message that closes the session may still be using it, so `receive` hands
    /// it on from here without a retain per message.
    private(set) var keptEstablished: Established?
    var identity = SessionIdentity(authid: "", authrole: "", authmethod: "", authprovider: "")
    var subscriptions: [UInt64: Subscription] = [:]
    /// Consumer-group memberships by subscription id (a delivery finds its own through its
    /// GroupMember).
    var memberships: [UInt64: GroupMembership] = [:]
    /// Group SUBSCRIBEs sent to a group's home loop and not yet answered (they count against
    /// `max_subscriptions_per_session` like the memberships they may become).
    var pendingGroupJoins = 0
    /// Publish permission per topic, so the per-PUBLISH check is one hash lookup on the topic's
    /// bytes. 8 KiB per session (~64 short topics, at least 7 of limits.max_uri_bytes): a
    /// publisher uses a few topics, and this is paid by every connection. Freed at detach.
    var publishPermissions = TopicPermissionCache(entryLimit: 128, byteLimit: 8 * 1024)
    /// Holds back the WELCOME or ABORT after an AUTHENTICATE (`deliverVerdict`).
    var verdictTimer: LoopTimer?
    /// TopicHash.processSeed, read once: a PUBLISH hashes its topic with it, and reading the
    /// lazily initialised global per message costs a swift_once call.
    let topicHashSeed = TopicHash.processSeed

    init(connection: Connection) {
        self.connection = connection
    }

    var context: LoopContext { connection.context }
    /// The connection's queued-bytes gauge, which consumer-group homes on other loops read.
    var outboundBytes: Counter { connection.outboundBytes }
    /// The serializer this session speaks (negotiated by the transport).
    var format: WireFormat { connection.format }
    var isEstablished: Bool { if case .established = state { true } else { false } }

    // MARK: - Receiving

    /// Handles one message; the view's bytes are valid only during this call.
    func receive(_ message: WampMessageView) {
        context.loop.assertInLoopThread()
        guard message.count >= 1, let code = message.unsignedInteger(0) else {
            return protocolViolation("a WAMP message must be an array starting with an integer message type")
        }
        if case .established = state {   // the per-message case: a tag test, no copy of the state
            #if DEBUG
            if case .established(let e) = state { precondition(e === keptEstablished, "the state's Established is not the kept one") }
            #endif
            Unmanaged.passUnretained(keptEstablished.unsafelyUnwrapped)._withUnsafeGuaranteedRef { receiveEstablished(message, code: code, $0) }
            return
        }
        switch state {
        case .awaitingHello:
            guard code == WampCode.hello else {
                return protocolViolation("\(WampCode.name(code)) before WELCOME: the first message must be HELLO")
            }
            handleHello(message)
        case .challenged(let challenge, let realm):
            guard code == WampCode.authenticate else {
                return protocolViolation("\(WampCode.name(code)) while authenticating: expected AUTHENTICATE")
            }
            handleAuthenticate(message, challenge, realm)
        case .verifying, .awaitingVerdict:
            break   // the verdict is decided; nothing the client sends now changes it
        case .established:
            break   // handled before the switch
        case .closing:
            if code == WampCode.goodbye { finish(reason: "goodbye after shutdown") }
        case .closed:
            break
        }
    }

    @inline(__always)
    private func receiveEstablished(_ message: WampMessageView, code: UInt64, _ established: Established) {
        switch code {
        case WampCode.publish: handlePublish(message, established)
        case WampCode.subscribe: handleSubscribe(message, established)
        case WampCode.unsubscribe: handleUnsubscribe(message, established)
        case WampCode.goodbye: handleGoodbye(message)
        case WampCode.hello: protocolViolation("HELLO on an established session")
        default:
            protocolViolation("\(WampCode.name(code)) is not a message a client sends to a broker")
        }
    }

    /// Enters the established state (WELCOME); `keptEstablished` holds `established` from now on.
    func establish(_ established: Established) {
        // Set once: `receive` relies on it never being replaced while a message uses it.
        assert(keptEstablished == nil, "a session established twice")
        keptEstablished = established
        state = .established(established)
    }

    // MARK: - Closing

    private func handleGoodbye(_ m: WampMessageView) {
        guard m.count == 3, m.object(1) != nil, m.kind(2) == .string else {
            return protocolViolation("GOODBYE must be [6, Details|dict, Reason|uri]")
        }
        connection.send { out in WampEncoder.goodbye(message: nil, reason: WampURI.goodbyeAndOut, format: format, into: &out) }
        finish(reason: "client goodbye (\(m.string(2)!))")
    }

    /// Broker shutdown: say GOODBYE and wait for the reply (the server bounds the wait).
    func shutdown() {
        switch state {
        case .established(let established):
            detach(established)
            state = .closing
            connection.send { out in WampEncoder.goodbye(message: "Broker shutting down", reason: WampURI.systemShutdown, format: format, into: &out) }
        case .closing, .closed:
            break
        case .awaitingHello, .challenged, .verifying, .awaitingVerdict:
            abort(message: "Broker shutting down", reason: WampURI.systemShutdown)
        }
    }

    func protocolViolation(_ message: String) {
        context.metrics.protocolViolations.increment()
        abort(message: message, reason: WampURI.protocolViolation)
    }

    /// Sends ABORT and closes the connection once it is written.
    func abort(message: String, reason: String) {
        if case .closed = state { return }
        let message = LogText.capped(message)   // it may quote client input
        connection.send { out in WampEncoder.abort(message: message, reason: reason, format: format, into: &out) }
        finish(reason: "\(reason): \(message)")
    }

    /// Ends the session: leaves the router, closes the connection after pending output.
    func finish(reason: String) {
        if case .closed = state { return }
        let wasOpen = isEstablished
        if case .established(let established) = state { detach(established) }
        stopVerdictTimer()
        state = .closed
        if wasOpen || id != 0 {
            context.log.info("session \(id) closed", metadata: ["reason": "\(LogText.escaped(reason))", "peer": "\(connection.peer)"])
        }
        if wasOpen { context.metrics.sessionsClosed.increment() }
        connection.closeAfterFlush()
    }

    /// The transport went away under the session (disconnect, transport error).
    func transportClosed(reason: String) {
        context.loop.assertInLoopThread()
        if case .closed = state { return }
        let wasOpen = isEstablished
        if case .established(let established) = state { detach(established, connectionDying: true, reason: reason) }
        stopVerdictTimer()
        state = .closed
        if wasOpen {
            context.metrics.sessionsClosed.increment()
            context.log.info("session \(id) closed", metadata: ["reason": "\(LogText.escaped(reason))", "peer": "\(connection.peer)"])
        }
    }

    /// Leaves every subscription and group; after this, no event reaches the session. The
    /// caller moves the state on from `.established`.
    private func detach(_ established: Established, connectionDying: Bool = false, reason: String = "session closed") {
        // Many subscriptions are left over the next loop turns, a time-boxed batch each.
        established.router.unsubscribeClosed(self, from: Array(subscriptions.values))
        subscriptions.removeAll()
        publishPermissions.release()
        for membership in Array(memberships.values) { leave(membership, reason: reason, connectionDying: connectionDying) }
        // From here on, group traffic for this session no longer resolves: it bounces home.
        context.unregisterSession(established.ref)
    }

    // MARK: - Replies shared by the facets

    func requestID(_ m: WampMessageView) -> UInt64? {
        guard let value = m.unsignedInteger(1), value >= 1, value <= maxWampID else { return nil }
        return value
    }

    func sendError(_ type: UInt64, _ request: UInt64, _ message: String, _ uri: String) {
        let message = LogText.capped(message)   // it may quote client input (URIs)
        connection.send { out in WampEncoder.error(requestType: type, request: request, message: message, uri: uri, format: format, into: &out) }
    }
}
