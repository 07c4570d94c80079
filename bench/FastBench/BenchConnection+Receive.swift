// BenchConnection+Receive: the read side of a load-tool session — reading into the ring (within a
// slow reader's allowance), the HTTP upgrade response, RawSocket / WebSocket / NATS framing, then
// each WAMP message: EVENTs counted, timed and checked, the set-up replies driving the handshake,
// anything unexpected failing the run with the message described.

import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import BrokerWire
import Glibc

extension BenchConnection {
    func streamReadBuffer(_ stream: TCPStream) -> UnsafeMutableRawBufferPointer {
        let region = tls?.ciphertextIn ?? ring.writableRegion()
        guard let readAllowance else { return region }
        return UnsafeMutableRawBufferPointer(rebasing: region.prefix(readAllowance))
    }

    /// From now on reads at most `bytes` more (nil = no limit again), resuming reading if it stopped.
    func allowReading(_ bytes: Int?) {
        readAllowance = bytes
        guard let stream, !isClosed, !stream.isReading, bytes ?? 1 > 0, ring.writableBytes > 0 else { return }
        stream.startReading()
    }

    func stream(_ stream: TCPStream, didRead count: Int) {
        // One clock read per socket read: every event in it arrived at the same moment.
        let now = MonotonicClock.nanoseconds()
        if let allowance = readAllowance {
            readAllowance = allowance - count
            if allowance - count <= 0 { stream.stopReading() }
        }
        if let tls {
            let problem = tls.receive(count: count, into: ring) { [unowned self] in
                drain(now)
                return !isClosed
            }
            if let problem { fail("TLS: \(problem)") }
            if !isClosed { flush() }   // handshake flights, and whatever the drain framed
            return
        }
        ring.didWrite(count)
        drain(now)
        // A subscriber writes only in answer to what it read (pongs): sent here, so the run's
        // per-iteration flush need not visit 10,000 subscribers.
        if subscriberIndex >= 0 && output.pendingBytes > 0 && !isClosed { flush() }
        if ring.writableBytes > 0 && !stream.isReading && !isClosed && readAllowance ?? 1 > 0 { stream.startReading() }
    }

    /// Handles every complete frame in the ring (under TLS: also starts the transport handshake
    /// once the TLS handshake is complete).
    @inline(__always)
    private func drain(_ now: UInt64) {
        if !transportStarted {
            transportStarted = true
            if tls != nil { sendTransportHandshake() }
        }
        switch url.transport {
        case .rawSocket: drainRawSocket(now)
        case .webSocket: drainWebSocket(now)
        case .nats: drainNATS(now)
        }
    }

    private func drainRawSocket(_ now: UInt64) {
        while !isClosed {
            switch rawSocketDecoder.next(ring) {
            case .needMore:
                return
            case .hello(let reply):
                // The server's reply has the same shape as a client hello; an error reply has serializer 0.
                guard reply.serializer == url.serializer.rawSocketID else {
                    fail("RawSocket handshake refused: serializer \(reply.serializer), error code \(reply.lengthExponent)")
                    return
                }
                transportReady = true
                sendHello()
            case .message(let payload):
                receive(UnsafeRawBufferPointer(payload), now)
            case .ping(let payload):
                let destination = output.reserve(4 + payload.count)
                RawSocketFraming.writeHeader(type: .pong, length: payload.count, to: destination)
                if let base = payload.baseAddress { (destination + 4).copyMemory(from: base, byteCount: payload.count) }
                output.commit(4 + payload.count)
            case .pong:
                break
            case .failure(let failure):
                fail("RawSocket stream from the broker is broken: \(failure)")
            }
        }
    }

    private func drainWebSocket(_ now: UInt64) {
        if !transportReady {
            guard readHTTPResponse() else { return }
        }
        while !isClosed {
            switch webSocketDecoder.next(ring) {
            case .needMore:
                return
            case .message(let payload):
                receive(UnsafeRawBufferPointer(payload), now)
            case .ping(let payload):
                let count = min(payload.count, 125)
                if let base = payload.baseAddress { scratch.copyMemory(from: base, byteCount: count) }
                frame(length: count, webSocketOpcode: 0xA)
            case .close(let code):
                fail("broker closed the WebSocket (code \(code.map(String.init) ?? "none"))")
            case .failure(let reason):
                fail("WebSocket stream from the broker is broken: \(reason)")
            }
        }
    }

    /// Consumes the HTTP response head once complete; true when it was a 101 upgrade.
    private func readHTTPResponse() -> Bool {
        let readable = ring.readableBytes
        guard readable >= 4 else { return false }
        var end = -1
        for i in 3..<readable where ring.byte(at: i) == 0x0A && ring.byte(at: i - 1) == 0x0D
            && ring.byte(at: i - 2) == 0x0A && ring.byte(at: i - 3) == 0x0D {
            end = i + 1
            break
        }
        guard end > 0 else {
            if readable > 16384 { fail("HTTP response head over 16 KiB") }
            return false
        }
        var head = [UInt8](repeating: 0, count: end)
        head.withUnsafeMutableBytes { ring.copyBytes(at: 0, count: end, into: $0.baseAddress!) }
        ring.consume(end)
        let text = String(decoding: head, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" }
        guard statusLine.hasPrefix("HTTP/1.1 101") else {
            fail("WebSocket upgrade refused: \(statusLine)")
            return false
        }
        transportReady = true
        sendHello()
        return true
    }

    @inline(__always)
    func receive(_ message: UnsafeRawBufferPointer, _ now: UInt64) {
        let stamp: EventStamp?
        switch url.serializer {
        case .json: stamp = EventStamp.parseJSON(message)
        case .msgpack: stamp = EventStamp.parseMessagePack(message)
        case .cbor: stamp = EventStamp.parseCBOR(message)
        }
        if let stamp {
            received += 1
            run.eventArrived(stamp, at: self, now: now)
            return
        }
        receiveOther(message, now)
    }

    /// Everything but a compact EVENT: parsed with the full scanner (set-up, acknowledgements, errors).
    private func receiveOther(_ message: UnsafeRawBufferPointer, _ now: UInt64) {
        let view: WampMessageView
        switch url.serializer.wireFormat.scanMessage(message) {
        case .success(let scanned): view = scanned
        case .failure(let error):
            fail("broker sent invalid \(url.serializer.wireFormat.displayName): \(error)")
            return
        }
        switch view.unsignedInteger(0) {
        case 2:   // WELCOME
            isWelcomed = true
            run.sessionReady(self)
        case 4:   // CHALLENGE [4, method, extra]
            answerChallenge(view)
        case 3:   // ABORT
            fail("broker sent ABORT \(view.string(2) ?? "?"): \(describe(view.object(1)))")
        case 6:   // GOODBYE
            fail("broker sent GOODBYE \(view.string(2) ?? "?")")
        case 8:   // ERROR [8, type, req, details, uri, ...]
            let uri = view.string(4) ?? "?"
            let details = describe(view.object(3))
            if view.unsignedInteger(1) == 32 {
                run.subscribeRefused(self, uri: uri, details: details)
            } else {
                run.publishRefused(self, request: view.unsignedInteger(2) ?? 0, uri: uri, details: details)
            }
        case 17:  // PUBLISHED [17, req, publication]
            if let request = view.unsignedInteger(1), request > lastAcknowledged { lastAcknowledged = request }
        case 33:  // SUBSCRIBED [33, req, subscription]
            subscriptionID = view.unsignedInteger(2) ?? 0
            subscribedRequest = view.unsignedInteger(1) ?? 0
            run.subscribed(self)
        case 36:  // EVENT in a shape the fast path does not take (whitespace, reordered...)
            var arguments = view.array(4)?.makeIterator()
            guard let first = arguments?.next(), first.kind == .array else {
                fail("EVENT without the [[timestamp, publication, padding]] arguments this tool publishes")
                return
            }
            var inner = JSONArrayView(buffer: view.buffer, span: first).makeIterator()
            guard let stampSpan = inner.next(), let numberSpan = inner.next(),
                  let timestamp = JSONScanner.unsignedInteger(view.buffer, stampSpan),
                  let publication = JSONScanner.unsignedInteger(view.buffer, numberSpan) else {
                fail("EVENT whose first argument does not start with a timestamp and a publication number")
                return
            }
            received += 1
            run.eventArrived(EventStamp(timestamp: timestamp, publication: publication, subscription: view.unsignedInteger(1) ?? 0),
                             at: self, now: now)
        default:
            fail("unexpected message from the broker: \(describe(view))")
        }
    }

    /// An object as JSON text (MessagePack transcoded), for error notes.
    private func describe(_ object: JSONObjectView?) -> String {
        guard let object else { return "{}" }
        var text: [UInt8] = []
        JSONWriter.appendValue(object.decodeValue(object.span), to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// A whole message as JSON text (at most 200 bytes), for error notes.
    func describe(_ view: WampMessageView) -> String {
        var text: [UInt8] = [UInt8(ascii: "[")]
        for index in 0..<view.count {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            JSONWriter.appendValue(JSONScanner.decodeValue(view.buffer, view.span(index)), to: &text)
        }
        text.append(UInt8(ascii: "]"))
        return String(decoding: text.prefix(200), as: UTF8.self)
    }

    func streamDidEnd(_ stream: TCPStream, error: UVError?) {
        fail(error.map { "connection lost: \($0)" } ?? "broker closed the connection")
    }

    func streamDidClose(_ stream: TCPStream) {}
}
