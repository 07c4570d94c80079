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
import WireCodec

enum BenchRole {
    case publisher(Int)
    case subscriber(Int)
}

final class BenchConnection: TCPStreamDelegate {
    let role: BenchRole
    unowned let run: any BenchSessionOwner
    let url: BenchURL

    // All fields below: owned by the loop thread.
    private(set) var stream: TCPStream?
    let ring = RingBuffer(capacity: 1 << 18)
    var rawSocketDecoder = RawSocketDecoder(maxMessageBytes: 1 << 24)
    var webSocketDecoder = WebSocketClientDecoder(maxMessageBytes: 1 << 24)
    var natsDecoder = NATSDecoder(maxMessageBytes: 1 << 24)
    /// What each PING we sent to a NATS server stands for, oldest first (PONGs come in order).
    var natsPongs: [NATSPong] = []
    var natsPongHead = 0
    /// Whether the transport handshake (RawSocket hello reply, HTTP 101) is done.
    var transportReady = false
    /// Whether the transport handshake was sent (under TLS: after the TLS handshake).
    var transportStarted = false
    var isWelcomed = false
    private(set) var isClosed = false
    /// Frames in plaintext. Without TLS this is also `wire`.
    let output = OutputBuffer()
    /// Bytes for the socket: `output` itself, or the ciphertext of its frames under TLS.
    private let wire: OutputBuffer
    private let tlsContext: TLSClientContext?
    /// Created once TCP is connected, with --tls.
    var tls: ClientTLS?
    private let vector = WriteVector(capacity: 1)
    /// Where one message's text is written before framing.
    let scratch: UnsafeMutableRawPointer
    let scratchCapacity: Int
    /// The WebSocket masking key of this connection (client frames must be masked).
    private let maskKey: UInt32

    // Publisher side. Owned by the loop thread.
    /// Request id of the next PUBLISH; request ids count from 1 per session.
    var nextSequence: UInt64 = 1
    /// Highest request id acknowledged by PUBLISHED.
    var lastAcknowledged: UInt64 = 0

    // Subscriber side. Owned by the loop thread.
    var received = 0
    /// The subscription id and request id of the latest SUBSCRIBED.
    var subscriptionID: UInt64 = 0
    var subscribedRequest: UInt64 = 0
    /// This subscriber's index (for the filters' routing check); -1 for a publisher.
    let subscriberIndex: Int
    /// Bytes this connection may still read; nil = unlimited. At 0 reading stops until
    /// `allowReading` grants more (a subscriber that reads slowly on purpose).
    var readAllowance: Int?

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

    deinit {
        scratch.deallocate()
        natsDecoder.release()
    }

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

    func sendTransportHandshake() {
        switch url.transport {
        case .rawSocket:
            // 0x7F, max length exponent 0xF (16 MiB) | serializer (1 JSON, 2 MessagePack), two reserved zero octets.
            let hello: [UInt8] = [0x7F, 0xF0 | url.serializer.rawSocketID, 0x00, 0x00]
            appendRaw(hello)
        case .webSocket(let path):
            var keyBytes = [UInt8](repeating: 0, count: 16)
            for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
            let request = "GET \(path) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: \(Base64.encode(keyBytes))\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: \(url.serializer.webSocketProtocol)\r\n\r\n"
            appendRaw(Array(request.utf8))
        case .nats:
            return   // the server speaks first (INFO)
        }
        flush()
    }

    // MARK: Sending

    /// Writes a set-up message (closure-built; not for per-event use) and frames it.
    func sendMessage(_ build: (inout MessageWriter) -> Void) {
        var writer = MessageWriter(base: scratch, capacity: scratchCapacity)
        build(&writer)
        frame(length: writer.count)
    }

    func appendRaw(_ bytes: [UInt8]) {
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
        if url.transport == .nats {
            natsPublish(subject: topic, payloadBytes: payloadBytes, timestamp: timestamp, publication: publication,
                        acknowledge: acknowledge ? sequence : nil)
            return
        }
        var writer = MessageWriter(base: scratch, capacity: scratchCapacity)
        switch url.serializer {
        case .json:
            writer.append("[16,")
            writer.append(decimal: sequence)
            writer.append(acknowledge ? #",{"acknowledge":true},""# : #",{},""#)
            writer.append(topic)
            writer.append("\",[")
            writer.appendStampedPayload(timestamp: timestamp, publication: publication, payloadBytes: payloadBytes)
            writer.append("]")
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
    func frame(length: Int, webSocketOpcode: UInt8 = 0) {
        switch url.transport {
        case .nats:
            preconditionFailure("NATS publications are framed by natsPublish")
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

    // MARK: Ending

    func fail(_ reason: String) {
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
