// One client connection on one loop: transport bytes → receive ring → framing → WAMP message view
// → session; and the way back: session/router → outbound queue → vectored writes. Owned by its
// loop thread for its whole life. This file holds its state, its life (start, handshake timeout,
// shutdown) and the one way it ends; the jobs live beside it:
//   Connection+Input.swift   transport phases (RawSocket hello, HTTP head, framing), read pauses,
//                            frame and idle timeouts
//   Connection+HTTP.swift    the HTTP endpoint: /metrics, 404/405, WebSocket upgrade negotiation
//   Connection+Output.swift  send/enqueue, the one slow-consumer policy, flush and write completion
//   Connection+TLS.swift     TLS records between the socket and the ring / the queue
//   ConnectionTransport.swift  the byte stream underneath (TCP, or in memory for tests)
//
// Ending: every cause (peer FIN, read or write error, TLS, WebSocket close, limits, session
// finish, shutdown) goes through `endSession` — the session hears once that the transport is
// gone — and then `closeAfterFlush` or `closeNow`; the transport's close callback
// (`transportDidClose`) gives back what the connection held. The session holds this connection
// strongly; once its transport has closed, the connection lets the session go, which ends that
// reference cycle.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import BrokerWire

final class Connection {
    /// Whose messages the connection carries: the session until it is told the transport is gone.
    enum SessionLink {
        case attached(Session)
        /// The session heard `transportClosed(reason:)`, once, with this reason.
        case ended(reason: String)
    }

    /// How far closing has gone; it only moves forward.
    enum CloseState: Comparable {
        case open
        /// Not reading; writing what is queued, then closing (bounded by `closeTimer`).
        case flushingToClose
        /// `transport.close()` was called; the close callback has not run yet.
        case closing
        /// The close callback ran: buffers given back, unregistered from the loop.
        case closed
    }

    let context: LoopContext
    let transport: ConnectionTransport
    let listener: ListenerConfig
    let peer: String
    // All fields below: owned by the loop thread.
    private(set) var link: SessionLink
    /// The session once told, kept until the transport's close callback (`transportDidClose`, a
    /// later loop turn): a message whose handling ended the session is still in the session's
    /// `receive`, which `receiveWampMessage` calls without retaining the session.
    private var endedSession: Session?
    #if DEBUG
    /// A WAMP message is being handed to the session (checks that the session outlives it).
    var isReceivingMessage = false
    #endif
    private(set) var closeState = CloseState.open
    /// The receive ring the transport (or TLS) writes into and the framing reads from.
    let ring = RingBuffer(capacity: 16 * 1024)
    /// Transport handshake or framing, with its decoder (Connection+Input.swift).
    var phase: TransportPhase
    /// Why the socket is not being read; it is read only while this is empty.
    var readPauses: ReadPauses = []
    /// Frame and idle timeouts (ConnectionTimeouts.swift).
    var inputClock = InputClock()
    /// Receive-side bytes (ring, decoder scratch, TLS input buffer) this connection last added to
    /// the loop's `receiveBufferBytes` gauge.
    var reportedReceiveBytes = 0
    /// The output side (Connection+Output.swift).
    var output: OutputState
    /// TLS listeners only (Connection+TLS.swift).
    let tls: TLSTransport?
    /// The peer's RawSocket receive limit (from its hello); larger EVENTs are dropped.
    var peerMaxMessageBytes = Int.max
    /// The peer sent FIN; what is queued is still written before closing.
    private(set) var peerEnded = false
    private var handshakeTimer: LoopTimer?
    private var closeTimer: LoopTimer?
    /// Queued outbound bytes, published for consumer-group homes on other loops (shared groups
    /// skip members that are full). Written only by this loop.
    let outboundBytes = Counter()
    /// The serializer negotiated by the transport handshake (RawSocket hello or WebSocket
    /// subprotocol); JSON until then.
    var format = WireFormat.json
    /// This connection's place under the connection caps (ConnectionAdmission.swift); given back
    /// when the socket closes.
    var admission: AdmissionTicket?
    /// The code and reason of the WebSocket close frame `closeAfterFlush` sends: 1000 unless a
    /// cause set another first (decoder failure, limit) — set before the session's ABORT, whose
    /// close does not know WebSocket codes.
    var webSocketClose: (code: UInt16, reason: String) = (1000, "")

    var limits: LimitsConfig { context.limits }

    convenience init(context: LoopContext, stream: TCPStream, listener: ListenerConfig, tls tlsContext: TLSServerContext?) throws(TLSError) {
        try self.init(context: context, transport: .tcp(stream), listener: listener, tls: tlsContext)
    }

    init(context: LoopContext, transport: ConnectionTransport, listener: ListenerConfig, tls tlsContext: TLSServerContext?) throws(TLSError) {
        self.context = context
        self.transport = transport
        self.listener = listener
        self.peer = transport.peerDescription
        output = OutputState(budget: OutboundBudget(limits: context.limits))
        if let tlsContext { tls = try TLSTransport(context: tlsContext) } else { tls = nil }
        let maxMessageBytes = context.server.configuration.limits.maxMessageBytes
        switch listener.transport {
        case .rawsocket: phase = .rawSocketHandshake(RawSocketDecoder(maxMessageBytes: maxMessageBytes))
        case .websocket: phase = .http(HTTPRequestParser())
        }
        link = .ended(reason: "not started")   // replaced at once: the session needs `self`
        link = .attached(Session(connection: self))
    }

    /// The session, until it was told the transport is gone.
    var session: Session? {
        if case .attached(let session) = link { session } else { nil }
    }

    /// `session`, unretained: the link or `endedSession` holds it until `transportDidClose`.
    var unretainedSession: Unmanaged<Session>? {
        if case .attached(let session) = link { .passUnretained(session) } else { nil }
    }

    func start() {
        context.register(self)
        transport.attach(self)
        let timer = LoopTimer(loop: context.loop)
        timer.start(milliseconds: UInt64(limits.handshakeTimeoutMs)) { [unowned self] in self.handshakeTimedOut() }
        handshakeTimer = timer
        reportReceiveBuffers()
        inputClock.noteRead(at: context.loop.now)
        transport.startReading()
    }

    // MARK: - Session events

    func didEstablishSession() {
        handshakeTimer?.close()
        handshakeTimer = nil
    }

    private func handshakeTimedOut() {
        handshakeTimer?.close()
        handshakeTimer = nil
        context.metrics.handshakeTimeouts.increment()
        if phase.isFramed {
            session?.abort(message: "handshake not completed within \(limits.handshakeTimeoutMs) ms", reason: WampURI.handshakeTimeout)
        } else {
            context.log.debug("handshake timeout", metadata: ["peer": "\(peer)"])
            closeNow()
        }
    }

    /// Broker shutdown: GOODBYE to an established session, otherwise close.
    func shutdown() {
        if phase.isFramed {
            session?.shutdown()
        } else {
            closeAfterFlush()
        }
    }

    // MARK: - Ending

    /// Tells the session, once, that the transport is gone; later calls do nothing. Called
    /// while the transport still knows what it wrote (group events not written go back).
    func endSession(reason: String) {
        guard case .attached(let session) = link else { return }
        endedSession = session
        link = .ended(reason: reason)
        session.transportClosed(reason: reason)
    }

    /// The peer closed its side (FIN): replies to its last requests are queued; write them, then
    /// close. The session ends now, so no new EVENT is queued and its groups re-dispatch what has
    /// not started to be written (takeBackGroupEvents).
    func peerDidEnd() {
        peerEnded = true
        endSession(reason: "connection closed by peer")
        closeAfterFlush()
    }

    /// Stops reading, writes what is queued (plus a WebSocket close frame carrying
    /// `webSocketClose`), then closes. A peer that does not read is cut off after a few seconds.
    func closeAfterFlush() {
        guard closeState == .open else { return }
        closeState = .flushingToClose
        transport.stopReading()
        if case .webSocket = phase {
            sendRaw(WebSocketFraming.closeFrame(code: webSocketClose.code, reason: webSocketClose.reason))
        }
        let timer = LoopTimer(loop: context.loop)
        timer.start(milliseconds: 5_000) { [unowned self] in self.closeNow() }
        closeTimer = timer
        scheduleFlush()
    }

    /// Closes the transport without writing more.
    func closeNow() {
        guard closeState < .closing else { return }
        if closeState == .open { closeState = .flushingToClose }   // no input or events while the session ends
        endSession(reason: "connection closed")   // before `.closing`: the transport still knows what it wrote
        closeState = .closing
        stopTimers()
        transport.close()
    }

    /// The transport is closed (libuv's close callback): nothing calls this connection any more.
    func transportDidClose() {
        guard closeState != .closed else { return }
        closeState = .closed
        admission?.release()
        stopTimers()
        output.removeAll(tls: tls)
        outboundChanged()
        tls?.releaseInputBuffer()
        reportReceiveBuffers()
        endSession(reason: "connection closed")   // already told by closeNow; kept as the safety net
        #if DEBUG
        precondition(!isReceivingMessage, "a connection's transport closed while its session received a message")
        #endif
        endedSession = nil   // the session lets go of this connection when nothing else holds it
        context.unregister(self)
    }

    private func stopTimers() {
        handshakeTimer?.close(); handshakeTimer = nil
        closeTimer?.close(); closeTimer = nil
    }
}

extension WireFormat {
    /// WAMP over WebSocket: JSON travels in text frames, MessagePack and CBOR in binary frames.
    var webSocketOpcode: WebSocketOpcode { self == .json ? .text : .binary }
    var serializerKind: SerializerKind {
        switch self {
        case .json: return .json
        case .msgpack: return .msgpack
        case .cbor: return .cbor
        }
    }
    /// RawSocket serializer ids: 1 JSON, 2 MessagePack, 3 CBOR.
    init?(rawSocketSerializer id: UInt8) {
        guard id >= 1, let format = WireFormat(rawValue: id - 1) else { return nil }
        self = format
    }
}

extension SerializerKind {
    var webSocketSubprotocol: String { "wamp.2.\(rawValue)" }
}
