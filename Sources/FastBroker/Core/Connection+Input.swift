// A connection's input: the transport phases (RawSocket hello, HTTP head, then RawSocket or
// WebSocket frames) each with its decoder, the read pauses (backpressure), WAMP messages handed
// to the session, the end of the peer's stream, and the frame/idle timeouts the loop's sweep
// (ConnectionTimeouts.swift) asks about. Everything here runs on the connection's loop thread.

import BrokerConfig
import BrokerLoop
import BrokerSerialization
import BrokerWire

/// Where a connection's input is. Each phase carries its decoder, so a decoder exists only in
/// the phase that uses it.
enum TransportPhase {
    /// RawSocket listener: waiting for the client's 4-octet hello.
    case rawSocketHandshake(RawSocketDecoder)
    /// RawSocket frames (the same decoder, past the hello).
    case rawSocket(RawSocketDecoder)
    /// WebSocket listener: reading the HTTP request head (upgrade, /metrics; Connection+HTTP.swift).
    case http(HTTPRequestParser)
    /// WebSocket frames after the upgrade.
    case webSocket(WebSocketDecoder)

    /// The transport handshake is done: WAMP messages flow (and transport PINGs may be sent).
    var isFramed: Bool {
        switch self {
        case .rawSocket, .webSocket: true
        case .rawSocketHandshake, .http: false
        }
    }

    /// What the phase's decoder found in the ring.
    enum Event {
        case rawSocket(RawSocketEvent)
        case http(HTTPHeadEvent)
        case webSocket(WebSocketEvent)
    }

    /// Advances the decoder over `ring`; it is put back in the phase before the event is handled
    /// (a handler may change the phase).
    mutating func next(_ ring: RingBuffer) -> Event {
        switch self {
        case .rawSocketHandshake(var decoder): defer { self = .rawSocketHandshake(decoder) }; return .rawSocket(decoder.next(ring))
        case .rawSocket(var decoder): defer { self = .rawSocket(decoder) }; return .rawSocket(decoder.next(ring))
        case .http(var parser): defer { self = .http(parser) }; return .http(parser.next(ring))
        case .webSocket(var decoder): defer { self = .webSocket(decoder) }; return .webSocket(decoder.next(ring))
        }
    }

    /// Bytes the decoder holds beside the ring (a frame split across the ring's end).
    var scratchCapacity: Int {
        switch self {
        case .rawSocketHandshake(let decoder), .rawSocket(let decoder): decoder.scratchCapacity
        case .webSocket(let decoder): decoder.scratchCapacity
        case .http: 0
        }
    }
}

/// Why a connection's socket is not being read.
struct ReadPauses: OptionSet {
    let rawValue: UInt8
    /// Other loops' inboxes are full (LoopContext.pauseReadingIfBackedUp).
    static let crossLoop = ReadPauses(rawValue: 1)
    /// Our queue to the client reached the soft bound: input processing stops too.
    static let outbound = ReadPauses(rawValue: 2)
    /// TLS: the receive ring has no room to decrypt into.
    static let receiveRingFull = ReadPauses(rawValue: 4)
}

extension Connection {
    // MARK: - From the transport

    /// Where the transport puts the next bytes it reads (TLS: ciphertext, else the ring).
    func readBuffer() -> UnsafeMutableRawBufferPointer {
        tls?.ciphertextIn ?? ring.writableRegion()
    }

    func didRead(_ count: Int) {
        context.metrics.bytesIn.increment(by: count)
        inputClock.noteRead(at: context.loop.now)
        if let tls {
            receiveCiphertext(count, tls)
        } else {
            ring.didWrite(count)
            processInput()
        }
        context.pauseReadingIfBackedUp(self)
    }

    /// The peer closed its side (error nil) or reading failed.
    func inputDidEnd(error: UVError?) {
        if let tls, tlsHandshakeAbandoned(tls) { return closeNow() }   // nothing of ours to deliver yet
        if let error {
            endSession(reason: "read error: \(error)")
            return closeNow()
        }
        peerDidEnd()
    }

    // MARK: - Read pauses (backpressure)

    /// Cross-loop backpressure: stop reading this client until other loops catch up.
    func pauseReading() { pauseReading(.crossLoop) }

    func resumeReading() { resumeReading(.crossLoop) }

    func pauseReading(_ reason: ReadPauses) {
        readPauses.insert(reason)
        transport.stopReading()
    }

    /// Lifts one reason; reading restarts when none is left, and input already buffered is
    /// processed unless the outbound queue still holds it back.
    func resumeReading(_ reason: ReadPauses) {
        guard clearReadPause(reason), !readPauses.contains(.outbound) else { return }
        if let tls { decryptAndProcess(tls) } else { processInput() }
    }

    @discardableResult
    func clearReadPause(_ reason: ReadPauses) -> Bool {
        guard readPauses.remove(reason) != nil else { return false }
        guard closeState == .open else { return false }
        if readPauses.isEmpty { transport.startReading() }
        return true
    }

    // MARK: - Framing

    /// Hands every complete frame in the ring to its phase's handler, until one needs more bytes
    /// or input stops (closing, or the outbound queue at its soft bound).
    func processInput() {
        defer { reportReceiveBuffers() }   // the decoders grow and shrink the ring and scratch
        let bufferedBefore = ring.readableBytes
        defer { inputClock.noteFraming(bufferedBefore: bufferedBefore, bufferedAfter: ring.readableBytes, at: context.loop.now) }
        while closeState == .open && !readPauses.contains(.outbound) {
            if case .rawSocket(var decoder) = phase {
                // Past the hello nothing changes a RawSocket phase, so the decoder is taken out
                // once for the whole batch of frames, not copied out and back per frame (~40
                // instructions a message). The copy left in `phase` shares its scratch buffer
                // (scratchCapacity stays right). Sound because no handler re-enters processInput:
                // reading resumes only from loop callbacks (flush, inbox drain, read).
                defer {
                    assert(phase.isFramed, "the RawSocket phase changed while its frames were handled")
                    phase = .rawSocket(decoder)
                }
                while closeState == .open && !readPauses.contains(.outbound) {
                    let event = decoder.next(ring)
                    if case .message(let payload) = event {   // the per-message case, inline
                        receiveWampMessage(UnsafeRawBufferPointer(payload))
                    } else if !handleRawSocket(event) {
                        return
                    }
                }
                return
            }
            let more: Bool
            switch phase.next(ring) {
            case .rawSocket(let event): more = handleRawSocket(event)
            case .http(let event): more = handleHTTPHead(event)
            case .webSocket(let event): more = handleWebSocket(event)
            }
            if !more { return }
        }
    }

    /// Brings the loop's receive-buffer gauge up to date with this connection's buffers.
    func reportReceiveBuffers() {
        let bytes = closeState == .closed ? 0 : ring.capacity + phase.scratchCapacity + (tls?.ciphertextIn?.count ?? 0)
        guard bytes != reportedReceiveBytes else { return }
        context.metrics.receiveBufferBytes.increment(by: bytes - reportedReceiveBytes)
        reportedReceiveBytes = bytes
    }

    /// Returns false when it needs more bytes.
    private func handleRawSocket(_ event: RawSocketEvent) -> Bool {
        switch event {
        case .needMore:
            return false
        case .hello(let hello):
            guard case .rawSocketHandshake(let decoder) = phase else { return false }
            let offered = WireFormat(rawSocketSerializer: hello.serializer)
            guard let offered, listener.serializers.contains(offered.serializerKind) else {
                sendRaw(RawSocketFraming.helloError(.serializerUnsupported))
                closeAfterFlush()
                return false
            }
            format = offered
            peerMaxMessageBytes = hello.maxMessageBytes
            sendRaw(RawSocketFraming.helloReply(serializer: hello.serializer, lengthExponent: decoder.lengthExponent))
            phase = .rawSocket(decoder)
        case .message(let payload):
            receiveWampMessage(UnsafeRawBufferPointer(payload))
        case .ping(let payload):
            // A PONG echoes the PING; one larger than the peer accepts is not sent.
            guard payload.count <= peerMaxMessageBytes else {
                context.metrics.dropsOversize.increment()
                break
            }
            let pong = context.bufferPool.take(capacity: payload.count)
            pong.append(UnsafeRawBufferPointer(payload))
            queueReply(pong, rawSocketType: .pong)
        case .pong:
            break
        case .failure(let failure):
            if case .rawSocketHandshake = phase {
                if case .reservedBits = failure { sendRaw(RawSocketFraming.helloError(.reservedBitsUsed)) }
                context.log.debug("rawsocket handshake failed: \(failure.description)", metadata: ["peer": "\(peer)"])
                closeAfterFlush()
            } else {
                session?.protocolViolation("RawSocket framing: \(failure.description)")
            }
            return false
        }
        return true
    }

    private func handleWebSocket(_ event: WebSocketEvent) -> Bool {
        switch event {
        case .needMore:
            return false
        case .message(let opcode, let payload):
            guard opcode == format.webSocketOpcode else {
                session?.protocolViolation(format == .json
                    ? "wamp.2.json messages must be WebSocket text frames, got a binary frame"
                    : "\(format.serializerKind.webSocketSubprotocol) messages must be WebSocket binary frames, got a text frame")
                return false
            }
            receiveWampMessage(UnsafeRawBufferPointer(payload))
        case .ping(let payload):
            let pong = context.bufferPool.take(capacity: payload.count)
            pong.append(UnsafeRawBufferPointer(payload))
            queueReply(pong, webSocketOpcode: .pong)
        case .pong:
            break
        case .close(let code, _):
            endSession(reason: "websocket close\(code.map { " \($0)" } ?? "")")
            closeAfterFlush()
            return false
        case .failure(let code, let reason):
            webSocketClose = (code, reason)   // the ABORT's close carries the decoder's code
            if code == 1009 {
                session?.protocolViolation("message too large: \(reason)")
            } else {
                endSession(reason: "websocket protocol error: \(reason)")
            }
            closeAfterFlush()
            return false
        }
        return true
    }

    @inline(__always)   // per message, two callers (RawSocket, WebSocket)
    private func receiveWampMessage(_ bytes: UnsafeRawBufferPointer) {
        switch format.scanMessage(bytes) {
        case .success(let view):
            // Without a retain per message: should this message end the session, `endedSession`
            // keeps it until the close callback, which never runs inside this call (checked).
            guard let session = unretainedSession else { return }
            #if DEBUG
            isReceivingMessage = true
            defer { isReceivingMessage = false }
            #endif
            session._withUnsafeGuaranteedRef { $0.receive(view) }
        case .failure(var error):
            // CBOR with indefinite lengths (rare, cold): rewritten once with definite lengths.
            if format == .cbor, let rewritten = CBORDefiniteLengths.rewrite(bytes) {
                switch rewritten.flatMap({ definite in definite.withUnsafeBytes { buffer in
                    format.scanMessage(buffer).map { session?.receive($0) } } }) {
                case .success: return
                case .failure(let problem): error = problem
                }
            }
            session?.protocolViolation("malformed \(format.displayName) message: \(error)")
        }
    }

    // MARK: - Timeouts

    /// The per-loop sweep (ConnectionTimeouts): closes a connection whose partial frame is older
    /// than `frame_timeout_ms`; pings one silent for `idle_timeout_ms` and closes it if it stays
    /// silent as long again.
    func checkTimeouts(at now: UInt64, frameTimeoutMs: UInt64, idleTimeoutMs: UInt64) {
        guard closeState == .open else { return }
        guard transport.isReading else { return inputClock.restart(at: now) }   // we paused it: not the peer's silence
        switch inputClock.check(at: now, frameTimeoutMs: frameTimeoutMs, idleTimeoutMs: idleTimeoutMs, canPing: phase.isFramed) {
        case .fine:
            return
        case .ping:
            context.metrics.idlePings.increment()
            let ping = context.bufferPool.take(capacity: 0)
            if case .rawSocket = phase { queueReply(ping, rawSocketType: .ping) } else { queueReply(ping, webSocketOpcode: .ping) }
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
        webSocketClose = (1008, "limit exceeded")   // also for the close after the session's ABORT
        if let session, session.isEstablished {
            session.abort(message: message, reason: WampURI.limitExceeded)
        } else {
            endSession(reason: message)
            closeAfterFlush()
        }
    }
}
