// One WAMP session of the load tool: TCP connect, the TLS handshake (--tls), the RawSocket or
// WebSocket handshake, HELLO / WELCOME, then either publishing (frames written straight into the
// output buffer, JSON or MessagePack) or subscribing (events counted, timed and checked). It
// reports to the run that owns it (BenchRun, or SoakRun for `fastbench soak`); all of it runs on
// the tool's one loop thread. A subscriber may be given a read allowance (soak's slow readers).

import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import BrokerWire
import Glibc

enum BenchRole {
    case publisher(Int)
    case subscriber(Int)
}

final class BenchConnection: TCPStreamDelegate {
    let role: BenchRole
    unowned let run: any BenchSessionOwner
    private let url: BenchURL

    // All fields below: owned by the loop thread.
    private(set) var stream: TCPStream?
    private let ring = RingBuffer(capacity: 1 << 18)
    private var rawSocketDecoder = RawSocketDecoder(maxMessageBytes: 1 << 24)
    private var webSocketDecoder = WebSocketClientDecoder(maxMessageBytes: 1 << 24)
    /// Whether the transport handshake (RawSocket hello reply, HTTP 101) is done.
    private var transportReady = false
    /// Whether the transport handshake was sent (under TLS: after the TLS handshake).
    private var transportStarted = false
    private(set) var isWelcomed = false
    private var isClosed = false
    /// Frames in plaintext. Without TLS this is also `wire`.
    private let output = OutputBuffer()
    /// Bytes for the socket: `output` itself, or the ciphertext of its frames under TLS.
    private let wire: OutputBuffer
    private let tlsContext: TLSClientContext?
    /// Created once TCP is connected, with --tls.
    private var tls: ClientTLS?
    private let vector = WriteVector(capacity: 1)
    /// Where one message's text is written before framing.
    private let scratch: UnsafeMutableRawPointer
    private let scratchCapacity: Int
    /// The WebSocket masking key of this connection (client frames must be masked).
    private let maskKey: UInt32

    // Publisher side. Owned by the loop thread.
    /// Request id of the next PUBLISH; request ids count from 1 per session.
    var nextSequence: UInt64 = 1
    /// Highest request id acknowledged by PUBLISHED.
    var lastAcknowledged: UInt64 = 0

    // Subscriber side. Owned by the loop thread.
    var received = 0
    var subscriptionID: UInt64 = 0
    /// This subscriber's index (for the filters' routing check); -1 for a publisher.
    let subscriberIndex: Int
    /// Bytes this connection may still read; nil = unlimited. At 0 reading stops until
    /// `allowReading` grants more (a subscriber that reads slowly on purpose).
    private var readAllowance: Int?

    init(role: BenchRole, run: any BenchSessionOwner, url: BenchURL, scratchCapacity: Int, tlsContext: TLSClientContext?) {
        self.role = role
        self.run = run
        self.url = url
        self.tlsContext = tlsContext
        wire = tlsContext == nil ? output : OutputBuffer()
        if case .subscriber(let index) = role { subscriberIndex = index } else { subscriberIndex = -1 }
        self.scratchCapacity = scratchCapacity
        scratch = .allocate(byteCount: scratchCapacity, alignment: 16)
        maskKey = UInt32.random(in: 1...UInt32.max)
    }

    deinit { scratch.deallocate() }

    /// Connected and not closed (by either side).
    var isOpen: Bool { stream != nil && !isClosed }
    var pendingOutputBytes: Int { tls == nil ? output.pendingBytes : output.pendingBytes + wire.pendingBytes }
    var writeInFlight: Bool { stream?.writeInFlight ?? false }

    // MARK: Set-up

    func start(loop: EventLoop) {
        TCPStream.connect(loop: loop, host: url.host, port: url.port) { [self] result in
            switch result {
            case .failure(let error):
                run.connectionFailed(self, "connect to \(url.host):\(url.port) failed: \(error)")
            case .success(let stream):
                self.stream = stream
                stream.delegate = self
                stream.startReading()
                guard let tlsContext else {
                    sendTransportHandshake()
                    return
                }
                do {
                    let tls = try ClientTLS(context: tlsContext, serverName: url.tlsServerName)
                    self.tls = tls
                    if let error = tls.start() { fail("TLS handshake failed to start: \(error)") }
                    flush()   // the ClientHello; the transport handshake follows once TLS is up
                } catch {
                    fail("cannot create the TLS client: \(error)")
                }
            }
        }
    }

    private func sendTransportHandshake() {
        switch url.transport {
        case .rawSocket:
            // 0x7F, max length exponent 0xF (16 MiB) | serializer (1 JSON, 2 MessagePack), two reserved zero octets.
            let hello: [UInt8] = [0x7F, 0xF0 | url.serializer.rawSocketID, 0x00, 0x00]
            appendRaw(hello)
        case .webSocket(let path):
            var keyBytes = [UInt8](repeating: 0, count: 16)
            for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
            let request = "GET \(path) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: \(base64(keyBytes))\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: \(url.serializer.webSocketProtocol)\r\n\r\n"
            appendRaw(Array(request.utf8))
        }
        flush()
    }

    private func sendHello() {
        switch url.serializer {
        case .json:
            sendMessage { $0.append(#"[1,"realm1",{"roles":{"subscriber":{},"publisher":{}}}]"#) }
        case .msgpack, .cbor:
            let writer = url.serializer.binaryWriter
            var bytes: [UInt8] = []
            writer.appendArrayHeader(count: 3, to: &bytes)
            writer.appendUInt(1, to: &bytes)
            writer.appendString("realm1", to: &bytes)
            writer.appendMapHeader(count: 1, to: &bytes)
            writer.appendString("roles", to: &bytes)
            writer.appendMapHeader(count: 2, to: &bytes)
            writer.appendString("subscriber", to: &bytes)
            writer.appendMapHeader(count: 0, to: &bytes)
            writer.appendString("publisher", to: &bytes)
            writer.appendMapHeader(count: 0, to: &bytes)
            sendMessage { writer in bytes.withUnsafeBytes { writer.append($0) } }
        }
        flush()
    }

    /// SUBSCRIBE with request id 1 and the given options (JSON object text; transcoded for MessagePack/CBOR).
    func sendSubscribe(topic: String, options: String) {
        switch url.serializer {
        case .json:
            sendMessage { writer in
                writer.append("[32,1,")
                writer.append(options)
                writer.append(",\"")
                writer.append(topic)
                writer.append("\"]")
            }
        case .msgpack, .cbor:
            guard case .success(let value) = JSONScanner.parse(Array(options.utf8)) else {
                fail("subscribe options are not JSON: \(options)")
                return
            }
            let writer = url.serializer.binaryWriter
            var bytes: [UInt8] = []
            writer.appendArrayHeader(count: 4, to: &bytes)
            writer.appendUInt(32, to: &bytes)
            writer.appendUInt(1, to: &bytes)
            writer.appendValue(value, to: &bytes)
            writer.appendString(topic, to: &bytes)
            sendMessage { writer in bytes.withUnsafeBytes { writer.append($0) } }
        }
        flush()
    }

    // MARK: Sending

    /// Writes a set-up message (closure-built; not for per-event use) and frames it.
    private func sendMessage(_ build: (inout MessageWriter) -> Void) {
        var writer = MessageWriter(base: scratch, capacity: scratchCapacity)
        build(&writer)
        frame(length: writer.count)
    }

    private func appendRaw(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { source in
            output.reserve(source.count).copyMemory(from: source.baseAddress!, byteCount: source.count)
            output.commit(source.count)
        }
    }

    /// One PUBLISH `[16,SEQ,{...},"TOPIC",[[TS,N,"xxx…"]]{,{"k":K}}]` (JSON, or the same in
    /// MessagePack) whose first argument encodes to exactly `payloadBytes` bytes in either
    /// serializer (unless the numbers alone are longer): the serializers are compared on equal
    /// sizes. N is the run's publication number. Allocation-free.
    @inline(__always)
    func publish(topic: UnsafeRawBufferPointer, payloadBytes: Int, timestamp: UInt64, publication: UInt64,
                 acknowledge: Bool, filterKey: Int?) {
        let sequence = nextSequence
        nextSequence += 1
        var writer = MessageWriter(base: scratch, capacity: scratchCapacity)
        switch url.serializer {
        case .json:
            writer.append("[16,")
            writer.append(decimal: sequence)
            writer.append(acknowledge ? #",{"acknowledge":true},""# : #",{},""#)
            writer.append(topic)
            writer.append("\",[[")
            writer.append(decimal: timestamp)
            writer.append(",")
            writer.append(decimal: publication)
            writer.append(",\"")
            // payload = '[' ts ',' n ',"' pad '"]'
            writer.append(repeating: 0x78, count: payloadBytes - 6 - MessageWriter.decimalDigits(timestamp)
                          - MessageWriter.decimalDigits(publication))
            writer.append("\"]]")
            if let filterKey {
                writer.append(#",{"k":"#)
                writer.append(decimal: UInt64(filterKey))
                writer.append("}")
            }
            writer.append("]")
        case .msgpack:
            writer.append(byte: filterKey == nil ? 0x95 : 0x96)
            writer.append(byte: 16)
            writer.appendMessagePack(unsigned: sequence)
            if acknowledge {
                writer.append(byte: 0x81)
                writer.append(byte: 0xA0 | 11)
                writer.append("acknowledge")
                writer.append(byte: 0xC3)
            } else {
                writer.append(byte: 0x80)
            }
            writer.appendMessagePackStringHeader(length: topic.count)
            writer.append(topic)
            // args [[ts, n, pad]]: fixarray 1, fixarray 3, two uint 64 (fixed width), str
            writer.append(byte: 0x91)
            writer.append(byte: 0x93)
            writer.appendMessagePack(uint64: timestamp)
            writer.appendMessagePack(uint64: publication)
            let rest = max(1, payloadBytes - 19)
            var pad = rest - 1
            while pad > 0 && MessageWriter.messagePackStringHeaderBytes(length: pad) + pad > rest { pad -= 1 }
            writer.appendMessagePackStringHeader(length: pad)
            writer.append(repeating: 0x78, count: pad)
            if let filterKey {
                writer.append(byte: 0x81)
                writer.append(byte: 0xA1)
                writer.append(byte: 0x6B)   // "k"
                writer.appendMessagePack(unsigned: UInt64(filterKey))
            }
        case .cbor:
            writer.append(byte: filterKey == nil ? 0x85 : 0x86)
            writer.append(byte: 16)
            writer.appendCBOR(major: 0, sequence)
            if acknowledge {
                writer.append(byte: 0xA1)
                writer.append(byte: 0x60 | 11)
                writer.append("acknowledge")
                writer.append(byte: 0xF5)
            } else {
                writer.append(byte: 0xA0)
            }
            writer.appendCBOR(major: 3, UInt64(topic.count))
            writer.append(topic)
            // args [[ts, n, pad]]: array 1, array 3, two 8-byte unsigned (fixed width), text
            writer.append(byte: 0x81)
            writer.append(byte: 0x83)
            writer.appendCBOR(uint64: timestamp)
            writer.appendCBOR(uint64: publication)
            let rest = max(1, payloadBytes - 19)
            var pad = rest - 1
            while pad > 0 && MessageWriter.cborHeadBytes(UInt64(pad)) + pad > rest { pad -= 1 }
            writer.appendCBOR(major: 3, UInt64(pad))
            writer.append(repeating: 0x78, count: pad)
            if let filterKey {
                writer.append(byte: 0xA1)
                writer.append(byte: 0x61)
                writer.append(byte: 0x6B)   // "k"
                writer.appendCBOR(major: 0, UInt64(filterKey))
            }
        }
        frame(length: writer.count)
    }

    /// Frames the `length` bytes at `scratch` into the output buffer (WebSocket: a data frame of
    /// the serializer's type unless `webSocketOpcode` says otherwise).
    @inline(__always)
    private func frame(length: Int, webSocketOpcode: UInt8 = 0) {
        switch url.transport {
        case .rawSocket:
            let destination = output.reserve(4 + length)
            RawSocketFraming.writeHeader(type: .message, length: length, to: destination)
            (destination + 4).copyMemory(from: scratch, byteCount: length)
            output.commit(4 + length)
        case .webSocket:
            let destination = output.reserve(14 + length)
            let opcode = webSocketOpcode == 0 ? url.serializer.webSocketOpcode : webSocketOpcode
            destination.storeBytes(of: 0x80 | opcode, as: UInt8.self)
            var header = 2
            if length <= 125 {
                destination.storeBytes(of: 0x80 | UInt8(length), toByteOffset: 1, as: UInt8.self)
            } else if length <= 0xFFFF {
                destination.storeBytes(of: 0x80 | 126 as UInt8, toByteOffset: 1, as: UInt8.self)
                destination.storeBytes(of: UInt16(length).bigEndian, toByteOffset: 2, as: UInt16.self)
                header = 4
            } else {
                destination.storeBytes(of: 0x80 | 127 as UInt8, toByteOffset: 1, as: UInt8.self)
                destination.storeBytes(of: UInt64(length).bigEndian, toByteOffset: 2, as: UInt64.self)
                header = 10
            }
            destination.storeBytes(of: maskKey, toByteOffset: header, as: UInt32.self)
            header += 4
            BenchConnection.mask(from: scratch, to: destination + header, count: length, key: maskKey)
            output.commit(header + length)
        }
    }

    /// Copies `count` bytes XOR the 4-byte key (in memory order), eight bytes at a time.
    @inline(__always)
    private static func mask(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, key: UInt32) {
        let wide = UInt64(key) | UInt64(key) << 32
        var i = 0
        while i + 8 <= count {
            destination.storeBytes(of: source.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ wide, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let keyByte = UInt8(truncatingIfNeeded: key >> (UInt32(i & 3) * 8))
            destination.storeBytes(of: source.load(fromByteOffset: i, as: UInt8.self) ^ keyByte, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    /// Sends what is pending: under TLS, seals the frames into records first; then try-write;
    /// what the socket does not take goes to one queued uv_write, and later bytes wait for its
    /// completion.
    func flush() {
        guard let stream, !isClosed else { return }
        if let tls, let error = tls.seal(output, into: wire) {
            fail("TLS: \(error)")
            return
        }
        guard !stream.writeInFlight, wire.pendingBytes > 0 else { return }
        vector.removeAll()
        vector.append(wire.filling.base, wire.pendingBytes)
        switch stream.tryWrite(vector) {
        case .failure(let error):
            fail("write failed: \(error)")
        case .success(let written):
            if written == wire.pendingBytes {
                wire.didWriteAll()
                return
            }
            let rest = wire.startSending(afterWritten: written)
            vector.removeAll()
            vector.append(rest.baseAddress!, rest.count)
            do {
                try stream.write(vector)
            } catch {
                fail("write failed: \(error)")
            }
        }
    }

    func streamDidFinishWrite(_ stream: TCPStream, error: UVError?) {
        wire.didFinishSending()
        if let error {
            if !isClosed { fail("write failed: \(error)") }
            return
        }
        flush()
    }

    // MARK: Receiving

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
    private func receive(_ message: UnsafeRawBufferPointer, _ now: UInt64) {
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
            run.eventArrived(EventStamp(timestamp: timestamp, publication: publication), at: self, now: now)
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
    private func describe(_ view: WampMessageView) -> String {
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

    // MARK: Ending

    private func fail(_ reason: String) {
        guard !isClosed else { return }
        close()
        run.connectionFailed(self, reason)
    }

    /// Closes the socket; later failures are not reported.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        stream?.close()
    }

    var roleDescription: String {
        switch role {
        case .publisher(let i): return "publisher \(i)"
        case .subscriber(let i): return "subscriber \(i)"
        }
    }
}

private func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out = [UInt8]()
    var i = 0
    while i + 2 < bytes.count {
        let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
        out += [alphabet[n >> 18], alphabet[n >> 12 & 63], alphabet[n >> 6 & 63], alphabet[n & 63]]
        i += 3
    }
    let rest = bytes.count - i
    if rest == 1 {
        let n = Int(bytes[i]) << 16
        out += [alphabet[n >> 18], alphabet[n >> 12 & 63], 61, 61]
    } else if rest == 2 {
        let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8
        out += [alphabet[n >> 18], alphabet[n >> 12 & 63], alphabet[n >> 6 & 63], 61]
    }
    return String(decoding: out, as: UTF8.self)
}
