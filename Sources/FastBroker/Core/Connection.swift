// One client connection on one loop: socket → receive ring → transport framing (RawSocket, or
// HTTP upgrade then WebSocket) → JSON scan → session; and the way back: session/router →
// outbound queue → vectored writes. Owned by its loop thread for its whole life.
//
// The connection and its session hold each other strongly while the socket is open; when libuv
// reports the socket closed (streamDidClose) the connection lets the session go, so both are
// freed once the loop's table drops the connection. Debug builds check that the entry points
// output reaches (send, enqueueEvent, enqueueGroupEvent) run on this loop's thread.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import BrokerWire

final class Connection {
    enum Phase {
        case rawSocketHello, rawSocket, httpHead, webSocket, closed
    }

    let context: LoopContext
    let transport: ConnectionTransport
    let listener: ListenerConfig
    let peer: String
    // All fields below: owned by the loop thread.
    private let ring = RingBuffer(capacity: 16 * 1024)
    private var phase: Phase
    private var rawSocketDecoder: RawSocketDecoder?
    private var webSocketDecoder: WebSocketDecoder?
    private var httpParser: HTTPRequestParser?
    private let outbound = OutboundQueue()
    /// TLS listeners: the connection's TLS state, the buffer libuv reads ciphertext into, and
    /// the queue of ciphertext chunks being written. Plaintext frames collect in `outbound` and
    /// are sealed into records once per loop iteration (flush).
    private let tls: TLSConnection?
    private var ciphertextIn: UnsafeMutableRawBufferPointer?
    private let ciphertextOut: OutboundQueue?
    /// The queue the socket is written from.
    private var socketQueue: OutboundQueue { ciphertextOut ?? outbound }
    /// Bytes waiting to be written, plaintext and ciphertext (the measure OutboundBudget bounds).
    private var queuedBytes: Int { queuedBytes(plus: 0) }
    /// Queue size last reported to the loop's gauge and to group homes (outboundChanged).
    private var reportedQueuedBytes = 0
    /// Why the socket is not being read; it is read only while this is empty.
    private var readPauses: ReadPauses = []
    /// Set when the client is to be disconnected as a slow consumer: the ABORT's message. The
    /// ABORT goes out from the next flush (not from inside the router or a handler).
    private var slowConsumerAbort: String?
    /// True while that ABORT is queued: the one message allowed past the hard bound.
    private var queuingFinalAbort = false
    private(set) var session: Session!
    private var isDirty = false
    private var closeRequested = false
    /// The peer sent FIN; what is queued is still written before closing.
    private var peerEnded = false
    private var handshakeTimer: LoopTimer?
    private var closeTimer: LoopTimer?
    /// Receive-side bytes (ring, decoder scratch, TLS input buffer) this connection last added to
    /// the loop's `receiveBufferBytes` gauge.
    private var reportedReceiveBytes = 0
    /// The peer's RawSocket receive limit (from its hello); EVENTs larger than this are dropped.
    private var peerMaxMessageBytes = Int.max
    /// Queued outbound bytes, published for consumer-group homes on other loops (shared groups
    /// skip members that are full). Written only by this loop.
    let outboundBytes = Counter()
    /// The serializer negotiated by the transport handshake (RawSocket hello or WebSocket
    /// subprotocol); JSON until then.
    private(set) var format = WireFormat.json
    /// This connection's place under the connection caps (ConnectionAdmission.swift); given back
    /// when the socket closes.
    var admission: AdmissionTicket?
    /// Frame and idle timeouts (ConnectionTimeouts.swift).
    private var inputClock = InputClock()

    private var limits: LimitsConfig { context.server.configuration.limits }
    private var budget: OutboundBudget { OutboundBudget(limits: limits) }

    convenience init(context: LoopContext, stream: TCPStream, listener: ListenerConfig, tls tlsContext: TLSServerContext?) throws(TLSError) {
        try self.init(context: context, transport: .tcp(stream), listener: listener, tls: tlsContext)
    }

    init(context: LoopContext, transport: ConnectionTransport, listener: ListenerConfig, tls tlsContext: TLSServerContext?) throws(TLSError) {
        self.context = context
        self.transport = transport
        self.listener = listener
        self.peer = transport.peerDescription
        if let tlsContext {
            tls = try TLSConnection(context: tlsContext)
            ciphertextIn = .allocate(byteCount: 64 * 1024, alignment: 16)
            ciphertextOut = OutboundQueue()
        } else {
            tls = nil
            ciphertextOut = nil
        }
        switch listener.transport {
        case .rawsocket:
            phase = .rawSocketHello
            rawSocketDecoder = RawSocketDecoder(maxMessageBytes: context.server.configuration.limits.maxMessageBytes)
        case .websocket:
            phase = .httpHead
            httpParser = HTTPRequestParser()
        }
        session = Session(connection: self)
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

    // MARK: - Input

    /// Where the transport puts the next bytes it reads.
    func readBuffer() -> UnsafeMutableRawBufferPointer {
        ciphertextIn ?? ring.writableRegion()
    }

    func didRead(_ count: Int) {
        context.metrics.bytesIn.increment(by: count)
        inputClock.noteRead(at: context.loop.now)
        if let tls, let ciphertextIn {
            tls.receive(ciphertext: UnsafeRawBufferPointer(rebasing: ciphertextIn[0..<count]))
            decryptAndProcess(tls)
            if tls.hasBufferedCiphertext { inputClock.notePartialRecord(at: context.loop.now) }
        } else {
            ring.didWrite(count)
            processInput()
        }
        context.pauseReadingIfBackedUp(self)
    }

    /// TLS: advances the handshake and decrypts straight into the receive ring, feeding each
    /// batch of plaintext to the framing; handshake replies and alerts go out with the flush.
    private func decryptAndProcess(_ tls: TLSConnection) {
        while !closeRequested && !readPauses.contains(.outbound) {
            if ring.writableBytes == 0 { processInput() }   // frees room if whole frames are buffered
            let region = ring.writableRegion()
            // Nowhere to decrypt to (input processing stopped): stop reading, or OpenSSL would
            // buffer ciphertext without bound; the next processBufferedInput resumes it.
            guard region.count > 0 else { return pauseReading(.receiveRingFull) }
            if readPauses.contains(.receiveRingFull) { clearReadPause(.receiveRingFull) }
            switch tls.readPlaintext(into: region) {
            case .bytes(let n):
                if n > 0 {
                    ring.didWrite(n)
                    processInput()
                } else if !tls.needsReadAgain {
                    if tls.hasPendingCiphertext { scheduleFlush() }
                    return
                }
            case .closed:
                session.transportClosed(reason: "TLS close_notify from the peer")
                closeAfterFlush()
                return
            case .failed(let error):
                context.metrics.tlsFailures.increment()
                context.log.info("TLS failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
                session.transportClosed(reason: "TLS: \(error)")
                closeAfterFlush()   // sends the alert OpenSSL produced, if any
                return
            }
        }
        if tls.hasPendingCiphertext { scheduleFlush() }
    }

    // MARK: - Read pauses (backpressure)

    private struct ReadPauses: OptionSet {
        let rawValue: UInt8
        /// Other loops' inboxes are full (LoopContext.pauseReadingIfBackedUp).
        static let crossLoop = ReadPauses(rawValue: 1)
        /// Our queue to the client reached the soft bound: input processing stops too.
        static let outbound = ReadPauses(rawValue: 2)
        /// TLS: the receive ring has no room to decrypt into.
        static let receiveRingFull = ReadPauses(rawValue: 4)
    }

    /// Cross-loop backpressure: stop reading this client until other loops catch up.
    func pauseReading() { pauseReading(.crossLoop) }

    func resumeReading() { resumeReading(.crossLoop) }

    private func pauseReading(_ reason: ReadPauses) {
        readPauses.insert(reason)
        transport.stopReading()
    }

    /// Lifts one reason; reading restarts when none is left, and input already buffered is
    /// processed unless the outbound queue still holds it back.
    private func resumeReading(_ reason: ReadPauses) {
        guard clearReadPause(reason), !readPauses.contains(.outbound) else { return }
        processBufferedInput()
    }

    @discardableResult
    private func clearReadPause(_ reason: ReadPauses) -> Bool {
        guard readPauses.remove(reason) != nil else { return false }
        guard phase != .closed, !closeRequested else { return false }
        if readPauses.isEmpty { transport.startReading() }
        return true
    }

    private func processBufferedInput() {
        if let tls { decryptAndProcess(tls) } else { processInput() }
    }

    private func processInput() {
        defer { reportReceiveBuffers() }   // the decoders grow and shrink the ring and scratch
        let bufferedBefore = ring.readableBytes
        defer { inputClock.noteFraming(bufferedBefore: bufferedBefore, bufferedAfter: ring.readableBytes, at: context.loop.now) }
        while !closeRequested && !readPauses.contains(.outbound) {
            switch phase {
            case .rawSocketHello, .rawSocket:
                if !processRawSocket() { return }
            case .httpHead:
                if !processHTTPHead() { return }
            case .webSocket:
                if !processWebSocket() { return }
            case .closed:
                return
            }
        }
    }

    /// Brings the loop's receive-buffer gauge up to date with this connection's buffers.
    private func reportReceiveBuffers() {
        let scratch = webSocketDecoder?.scratchCapacity ?? rawSocketDecoder?.scratchCapacity ?? 0
        let bytes = phase == .closed ? 0 : ring.capacity + scratch + (ciphertextIn?.count ?? 0)
        guard bytes != reportedReceiveBytes else { return }
        context.metrics.receiveBufferBytes.increment(by: bytes - reportedReceiveBytes)
        reportedReceiveBytes = bytes
    }

    /// Returns false when it needs more bytes.
    private func processRawSocket() -> Bool {
        switch rawSocketDecoder!.next(ring) {
        case .needMore:
            return false
        case .hello(let hello):
            let offered: WireFormat? = hello.serializer == 1 ? .json : hello.serializer == 2 ? .msgpack : nil
            guard let offered, listener.serializers.contains(offered.serializerKind) else {
                sendRaw(RawSocketFraming.helloError(.serializerUnsupported))
                closeAfterFlush()
                return false
            }
            format = offered
            peerMaxMessageBytes = hello.maxMessageBytes
            sendRaw(RawSocketFraming.helloReply(serializer: hello.serializer, lengthExponent: rawSocketDecoder!.lengthExponent))
            phase = .rawSocket
        case .message(let payload):
            receiveWampMessage(UnsafeRawBufferPointer(payload))
        case .ping(let payload):
            // A PONG echoes the PING; one larger than the peer accepts is not sent.
            guard payload.count <= peerMaxMessageBytes else {
                context.metrics.dropsOversize.increment()
                break
            }
            let pong = context.bufferPool.take(capacity: payload.count)
            pong.bytes.append(contentsOf: UnsafeRawBufferPointer(payload))
            queueReply(pong, rawSocketType: .pong)
        case .pong:
            break
        case .failure(let failure):
            if phase == .rawSocketHello {
                if case .reservedBits = failure { sendRaw(RawSocketFraming.helloError(.reservedBitsUsed)) }
                context.log.debug("rawsocket handshake failed: \(failure.description)", metadata: ["peer": "\(peer)"])
                closeAfterFlush()
            } else {
                session.protocolViolation("RawSocket framing: \(failure.description)")
            }
            return false
        }
        return true
    }

    private func processHTTPHead() -> Bool {
        switch httpParser!.next(ring) {
        case .needMore:
            return false
        case .failure(let message):
            respondHTTP(status: 400, reason: "Bad Request", body: "\(message)\n")
            return false
        case .head(let head):
            httpParser = nil
            handleHTTPRequest(head)
            return phase == .webSocket
        }
    }

    private func handleHTTPRequest(_ head: HTTPRequestHead) {
        let path = String(head.target.prefix { $0 != "?" })
        if let metrics = context.server.configuration.metrics, path == metrics.path, head.header("upgrade") == nil {
            guard head.method == "GET" || head.method == "HEAD" else {
                return respondHTTP(status: 405, reason: "Method Not Allowed", body: "use GET\n")
            }
            return respondHTTP(status: 200, reason: "OK", contentType: "text/plain; version=0.0.4",
                               body: context.server.metricsText())
        }
        guard path == listener.path else {
            return respondHTTP(status: 404, reason: "Not Found", body: "no WebSocket endpoint at \(path); WAMP is served at \(listener.path)\n")
        }
        let upgrade: WebSocketUpgradeRequest
        switch WebSocketHandshake.parseUpgrade(head) {
        case .failure(let error):
            return respondHTTP(status: 400, reason: "Bad Request", body: "\(error)\n")
        case .success(let request):
            upgrade = request
        }
        let supported = listener.serializers.map(\.webSocketSubprotocol)
        guard let chosen = upgrade.subprotocols.first(where: { supported.contains($0) }) else {
            let offered = upgrade.subprotocols.isEmpty ? "none" : upgrade.subprotocols.joined(separator: ", ")
            return respondHTTP(status: 400, reason: "Bad Request",
                               body: "no supported WebSocket subprotocol offered (offered: \(offered)); supported: \(supported.joined(separator: ", "))\n")
        }
        sendRaw(WebSocketHandshake.switchingProtocols(accept: WebSocketHandshake.acceptValue(forKey: upgrade.key), subprotocol: chosen))
        webSocketDecoder = WebSocketDecoder(maxMessageBytes: limits.maxMessageBytes)
        format = chosen == SerializerKind.msgpack.webSocketSubprotocol ? .msgpack : .json
        phase = .webSocket
    }

    private func respondHTTP(status: Int, reason: String, contentType: String = "text/plain; charset=utf-8", body: String) {
        sendRaw(HTTPResponse.make(status: status, reason: reason, contentType: contentType, body: Array(body.utf8)))
        closeAfterFlush()
    }

    private func processWebSocket() -> Bool {
        switch webSocketDecoder!.next(ring) {
        case .needMore:
            return false
        case .message(let opcode, let payload):
            guard opcode == format.webSocketOpcode else {
                session.protocolViolation(format == .json
                    ? "wamp.2.json messages must be WebSocket text frames, got a binary frame"
                    : "wamp.2.msgpack messages must be WebSocket binary frames, got a text frame")
                return false
            }
            receiveWampMessage(UnsafeRawBufferPointer(payload))
        case .ping(let payload):
            let pong = context.bufferPool.take(capacity: payload.count)
            pong.bytes.append(contentsOf: UnsafeRawBufferPointer(payload))
            queueReply(pong, webSocketOpcode: .pong)
        case .pong:
            break
        case .close(let code, _):
            session.transportClosed(reason: "websocket close\(code.map { " \($0)" } ?? "")")
            closeAfterFlush(webSocketCloseCode: 1000)
            return false
        case .failure(let code, let reason):
            if code == 1009 {
                session.protocolViolation("message too large: \(reason)")
            } else {
                session.transportClosed(reason: "websocket protocol error: \(reason)")
            }
            closeAfterFlush(webSocketCloseCode: code, reason: reason)
            return false
        }
        return true
    }

    private func receiveWampMessage(_ bytes: UnsafeRawBufferPointer) {
        switch format.scanMessage(bytes) {
        case .success(let view):
            session.receive(view)
        case .failure(let error):
            session.protocolViolation("malformed \(format.displayName) message: \(error)")
        }
    }

    /// The peer closed its side (error nil) or reading failed.
    func inputDidEnd(error: UVError?) {
        if let tls, !tls.isHandshakeComplete {
            // The peer gave up on the handshake (e.g. it did not trust our certificate and hung
            // up without an alert): count and log it like any failed handshake.
            context.metrics.tlsFailures.increment()
            context.log.info("TLS failed", metadata: ["peer": "\(peer)", "error": "peer closed the connection during the TLS handshake"])
            return closeNow()   // nothing of ours to deliver yet
        }
        guard error == nil else {
            session.transportClosed(reason: "read error: \(error!)")
            return closeNow()
        }
        // End of stream (FIN): the peer may still read. Replies to its last requests are
        // queued; write them, then close (bounded by closeAfterFlush's timer). The session
        // ends now, so no new EVENT is queued and its groups re-dispatch what has not started
        // to be written (takeBackGroupEvents).
        peerEnded = true
        session.transportClosed(reason: "connection closed by peer")
        closeAfterFlush()
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
        if phase == .rawSocket || phase == .webSocket {
            session.abort(message: "handshake not completed within \(limits.handshakeTimeoutMs) ms", reason: WampURI.handshakeTimeout)
        } else {
            context.log.debug("handshake timeout", metadata: ["peer": "\(peer)"])
            closeNow()
        }
    }

    /// The per-loop sweep (ConnectionTimeouts): closes a connection whose partial frame is older
    /// than `frame_timeout_ms`; pings one silent for `idle_timeout_ms` and closes it if it stays
    /// silent as long again.
    func checkTimeouts(at now: UInt64, frameTimeoutMs: UInt64, idleTimeoutMs: UInt64) {
        guard !closeRequested, phase != .closed else { return }
        guard transport.isReading else { return inputClock.restart(at: now) }   // we paused it: not the peer's silence
        let framed = phase == .rawSocket || phase == .webSocket
        switch inputClock.check(at: now, frameTimeoutMs: frameTimeoutMs, idleTimeoutMs: idleTimeoutMs, canPing: framed) {
        case .fine:
            return
        case .ping:
            context.metrics.idlePings.increment()
            let ping = context.bufferPool.take(capacity: 0)
            if phase == .rawSocket { queueReply(ping, rawSocketType: .ping) } else { queueReply(ping, webSocketOpcode: .ping) }
        case .frameTimedOut:
            context.metrics.limitRefusals[.frameTimeout].increment()
            closeForLimit("frame not completed within \(frameTimeoutMs) ms (frame_timeout_ms)")
        case .idleTimedOut:
            context.metrics.limitRefusals[.idleTimeout].increment()
            closeForLimit("no data received for \(idleTimeoutMs) ms after a PING sent when idle for \(idleTimeoutMs) ms (idle_timeout_ms)")
        }
    }

    /// An established session is told why (ABORT `fastbroker.error.limit_exceeded`); otherwise
    /// the connection just closes.
    private func closeForLimit(_ message: String) {
        context.log.info("connection closed by a limit", metadata: ["peer": "\(peer)", "reason": "\(message)"])
        if session.isEstablished {
            session.abort(message: message, reason: WampURI.limitExceeded)
        } else {
            session.transportClosed(reason: message)
            closeAfterFlush(webSocketCloseCode: 1008, reason: "limit exceeded")
        }
    }

    /// Broker shutdown: GOODBYE to an established session, otherwise close.
    func shutdown() {
        if phase == .rawSocket || phase == .webSocket {
            session.shutdown()
        } else {
            closeAfterFlush()
        }
    }

    // MARK: - Output
    //
    // Every frame goes through `enqueue`, and every change of the queue's size through
    // `outboundChanged`, which alone keeps the gauge, the group homes' view and the read pause in
    // step with it (OutboundBudget has the bounds).

    /// Encodes one message for this connection only (replies, WELCOME, ERROR, ...).
    func send(_ encode: (inout [UInt8]) -> Void) {
        context.loop.assertInLoopThread()
        guard phase != .closed else { return }
        let message = context.bufferPool.take()
        encode(&message.bytes)
        guard message.count <= peerMaxMessageBytes else { return refuseOversizeReply(message) }
        queueReply(message)
    }

    /// Queues a reply or pong. Never dropped silently: one that would pass the hard bound means
    /// the client does not read what it is sent, and it is disconnected as a slow consumer.
    private func queueReply(_ message: MessageBuffer, rawSocketType: RawSocketFrameType = .message,
                            webSocketOpcode: WebSocketOpcode? = nil) {
        let bound = queuingFinalAbort ? Int.max : budget.hardBound
        if slowConsumerAbort != nil && !queuingFinalAbort {
            // Already being disconnected: only the ABORT goes out.
        } else if !enqueue(message, rawSocketType: rawSocketType, webSocketOpcode: webSocketOpcode, bound: bound) {
            let framed = message.count + frameHeader(for: message, rawSocketType: rawSocketType, webSocketOpcode: webSocketOpcode).length
            disconnectSlowConsumer("outbound queue full: a reply of \(framed) bytes would pass max_session_outbound_bytes (\(budget.hardBound)) with \(queuedBytes) bytes the client has not read yet")
        }
        message.recycleIfUnused()
    }

    /// A reply larger than the RawSocket peer said it accepts is never sent. The client would
    /// wait for it forever, so the session ends with a short ABORT naming the limit.
    private func refuseOversizeReply(_ message: MessageBuffer) {
        let size = message.count
        message.recycleIfUnused()
        context.metrics.dropsOversize.increment()
        session.abort(message: "a reply of \(size) bytes exceeds the limit of \(peerMaxMessageBytes) bytes the client announced in its RawSocket hello",
                      reason: WampURI.limitExceeded)
    }

    /// Queues a shared EVENT. Returns false when it was not queued: the connection is closing,
    /// the event is larger than the peer accepts, or it does not fit under the soft bound (then
    /// `slow_consumer` applies: counted as a drop, and under `disconnect` the session is aborted).
    func enqueueEvent(_ message: MessageBuffer) -> Bool {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
        guard !closeRequested, phase != .closed, slowConsumerAbort == nil else { return false }
        if message.count > peerMaxMessageBytes {
            context.metrics.dropsOversize.increment()
            return false
        }
        if enqueue(message, bound: budget.softBound) { return true }
        context.metrics.dropsSlowConsumer.increment()
        if limits.slowConsumer == .disconnect { disconnectSlowConsumer(eventsOverLimitMessage) }
        return false
    }

    /// Queues a consumer-group EVENT, tagged so it can be re-dispatched if it never reaches the
    /// kernel. Returns false when it was not queued — closing, larger than the peer accepts, or
    /// no room under `drop` — and the caller sends it home for the next member. Under
    /// `disconnect` an event past the soft bound is queued anyway and the session aborted, so
    /// the leave carries it, with the rest of the queue, to another member.
    func enqueueGroupEvent(_ message: MessageBuffer, delivery: GroupDelivery) -> Bool {
        context.loop.assertInLoopThread()
        guard !closeRequested, phase != .closed, slowConsumerAbort == nil else { return false }
        guard message.count <= peerMaxMessageBytes else { return false }
        if enqueue(message, groupDelivery: delivery, bound: budget.softBound) { return true }
        guard limits.slowConsumer == .disconnect else { return false }
        enqueue(message, groupDelivery: delivery, bound: Int.max)
        disconnectSlowConsumer(eventsOverLimitMessage)
        return true
    }

    private var eventsOverLimitMessage: String {
        "outbound queue over \(budget.softBound) bytes of events (max_session_outbound_bytes \(budget.hardBound)): the client reads too slowly"
    }

    /// Stops input at once and aborts the session from the next flush, so the ABORT is never
    /// sent from inside the router or a handler that still uses the session.
    private func disconnectSlowConsumer(_ message: String) {
        guard slowConsumerAbort == nil, !closeRequested, phase != .closed else { return }
        context.metrics.slowConsumerDisconnects.increment()
        slowConsumerAbort = message
        pauseReading(.outbound)
        scheduleFlush()
    }

    /// Group EVENTs for `member` that have not reached the kernel, taken back for re-dispatch:
    /// on a live connection, or one still writing its queue after the peer's FIN, the untouched
    /// ones leave the queue (the write in flight completes); on a dying one, everything the
    /// kernel did not take completely.
    func takeBackGroupEvents(of member: GroupMember, connectionDying: Bool) -> [GroupDelivery] {
        let matches: (GroupDelivery) -> Bool = { $0.member === member }
        if connectionDying && phase != .closed && !peerEnded {
            return outbound.takeGroupDeliveriesNotHandedToKernel(pendingWriteBytes: transport.pendingWriteBytes, where: matches)
        }
        if connectionDying {
            return outbound.takeGroupDeliveriesNotHandedToKernel(pendingWriteBytes: Int.max, where: matches)
        }
        let taken = outbound.removeUntouchedGroupFrames(where: matches)
        outboundChanged()
        if readPauses.contains(.outbound) { scheduleFlush() }   // the flush resumes reading if drained
        return taken
    }

    /// Frames `message` for the transport and queues it if the queue, with it, stays within
    /// `bound`; returns false (nothing queued) otherwise.
    @discardableResult
    private func enqueue(_ message: MessageBuffer, rawSocketType: RawSocketFrameType = .message,
                         webSocketOpcode: WebSocketOpcode? = nil, groupDelivery: GroupDelivery? = nil,
                         bound: Int) -> Bool {
        let (header, headerLength) = frameHeader(for: message, rawSocketType: rawSocketType, webSocketOpcode: webSocketOpcode)
        guard queuedBytes(plus: headerLength + message.count) <= bound else { return false }
        outbound.append(header: header, headerLength: headerLength, message: message, groupDelivery: groupDelivery)
        outboundChanged()
        scheduleFlush()
        return true
    }

    /// The transport header for `message` (none before the transport handshake is done).
    private func frameHeader(for message: MessageBuffer, rawSocketType: RawSocketFrameType,
                             webSocketOpcode: WebSocketOpcode?) -> (bytes: (UInt64, UInt64), length: Int) {
        var header: (UInt64, UInt64) = (0, 0)
        let length = withUnsafeMutableBytes(of: &header) { h -> Int in
            switch phase {
            case .rawSocket:
                RawSocketFraming.writeHeader(type: rawSocketType, length: message.count, to: h.baseAddress!)
                return RawSocketFraming.headerSize
            case .webSocket:
                return WebSocketFraming.writeHeader(opcode: webSocketOpcode ?? format.webSocketOpcode, payloadLength: message.count, to: h.baseAddress!)
            default:
                return 0
            }
        }
        return (header, length)
    }

    /// Bytes sent without WAMP framing (handshake replies, HTTP responses, close frames): one
    /// each per connection, counted but never refused.
    private func sendRaw(_ bytes: [UInt8]) {
        let message = context.bufferPool.take(capacity: bytes.count)
        message.bytes.append(contentsOf: bytes)
        outbound.append(header: (0, 0), headerLength: 0, message: message)
        outboundChanged()
        scheduleFlush()
    }

    /// What is queued, plus `extra` plaintext bytes; for TLS the plaintext not yet sealed is
    /// counted with its record overhead.
    private func queuedBytes(plus extra: Int) -> Int {
        let plaintext = outbound.queuedBytes + extra
        guard let ciphertextOut else { return plaintext }
        return ciphertextOut.queuedBytes + OutboundBudget.wireBytes(plaintext, tls: true)
    }

    /// The one place the queue's size is reported: the loop's gauge, the counter group homes
    /// read, and the read pause at the soft bound (lifted from the write path, resumeIfDrained).
    private func outboundChanged() {
        let queued = queuedBytes
        context.metrics.outboundQueuedBytes.increment(by: queued - reportedQueuedBytes)
        reportedQueuedBytes = queued
        outboundBytes.set(queued)
        if queued >= budget.softBound && !readPauses.contains(.outbound) && phase != .closed {
            pauseReading(.outbound)
        }
    }

    /// Writes brought the queue down to the low-water mark: read the client again.
    private func resumeIfDrained() {
        guard readPauses.contains(.outbound), slowConsumerAbort == nil,
              queuedBytes <= budget.lowWater else { return }
        resumeReading(.outbound)
    }

    private func scheduleFlush() {
        if !isDirty {
            isDirty = true
            context.markDirty(self)
        }
    }

    /// Called by the loop's prepare hook: one vectored write of everything queued (for TLS,
    /// after sealing the queued plaintext into records).
    func flush() {
        isDirty = false
        guard phase != .closed else { return }
        if let message = slowConsumerAbort, !closeRequested {
            queuingFinalAbort = true
            session.abort(message: message, reason: WampURI.slowConsumer)
            queuingFinalAbort = false
            if !closeRequested { closeAfterFlush() }   // the session was already over
        }
        if let tls, let ciphertextOut { seal(into: ciphertextOut, tls) }
        let before = socketQueue.queuedBytes
        let error = socketQueue.flush(to: transport)
        context.metrics.bytesOut.increment(by: before - socketQueue.queuedBytes)
        outboundChanged()
        if let error {
            session.transportClosed(reason: "write error: \(error)")
            closeNow()
            return
        }
        if closeRequested && outbound.isEmpty && socketQueue.isEmpty && !transport.writeInFlight {
            closeNow()
            return
        }
        resumeIfDrained()
    }

    /// TLS: moves the plaintext frames into records (full-size, gathered across frames) and
    /// queues the ciphertext; on close, a close_notify goes last.
    private func seal(into ciphertextOut: OutboundQueue, _ tls: TLSConnection) {
        if !outbound.isEmpty && tls.isHandshakeComplete {
            outbound.drain { bytes in _ = tls.write(plaintext: bytes) }
        }
        if closeRequested && outbound.isEmpty { tls.shutdown() }
        guard tls.hasPendingCiphertext else { return }
        let chunk = context.bufferPool.take(capacity: 0)
        _ = tls.takeCiphertext(into: &chunk.bytes)
        ciphertextOut.append(header: (0, 0), headerLength: 0, message: chunk)
    }

    /// The transport's queued write finished (or failed).
    func writeDidFinish(error: UVError?) {
        let before = socketQueue.queuedBytes
        socketQueue.writeDidFinish()
        if error == nil { context.metrics.bytesOut.increment(by: before - socketQueue.queuedBytes) }
        outboundChanged()
        if let error {
            if phase != .closed {
                session.transportClosed(reason: "write error: \(error)")
                closeNow()
            }
            return
        }
        flush()
    }

    // MARK: - Closing

    /// Stops reading, writes what is queued (plus a WebSocket close frame), then closes. A peer
    /// that does not read is cut off after a few seconds.
    func closeAfterFlush(webSocketCloseCode: UInt16 = 1000, reason: String = "") {
        guard !closeRequested, phase != .closed else { return }
        closeRequested = true
        transport.stopReading()
        if phase == .webSocket {
            sendRaw(WebSocketFraming.closeFrame(code: webSocketCloseCode, reason: reason))
        }
        let timer = LoopTimer(loop: context.loop)
        timer.start(milliseconds: 5_000) { [unowned self] in self.closeNow() }
        closeTimer = timer
        scheduleFlush()
    }

    func closeNow() {
        guard phase != .closed else { return }
        closeRequested = true
        session.transportClosed(reason: "connection closed")   // while libuv still knows what it wrote
        phase = .closed
        handshakeTimer?.close(); handshakeTimer = nil
        closeTimer?.close(); closeTimer = nil
        transport.close()
    }

    /// The transport is closed (libuv's close callback): nothing calls this connection any more.
    func transportDidClose() {
        phase = .closed
        admission?.release()
        handshakeTimer?.close(); handshakeTimer = nil
        closeTimer?.close(); closeTimer = nil
        outbound.removeAll()
        ciphertextOut?.removeAll()
        outboundChanged()
        ciphertextIn?.deallocate()
        ciphertextIn = nil
        reportReceiveBuffers()
        session.transportClosed(reason: "connection closed")
        context.unregister(self)
        // The session holds this connection strongly: end the cycle. Nothing calls the session
        // through this connection any more (libuv is done with the stream, the timers are closed).
        session = nil
    }
}

extension WireFormat {
    /// WAMP over WebSocket: JSON travels in text frames, MessagePack in binary frames.
    var webSocketOpcode: WebSocketOpcode { self == .json ? .text : .binary }
    var serializerKind: SerializerKind { self == .json ? .json : .msgpack }
}

extension SerializerKind {
    var webSocketSubprotocol: String { self == .json ? "wamp.2.json" : "wamp.2.msgpack" }
}
