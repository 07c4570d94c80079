// A broker with no sockets and no threads, for unit tests of Connection, Session, Router and
// ConsumerGroup: a BrokerServer whose loops never start, turned by the test on its own thread,
// with clients over InMemoryTransport (SwiftNIO's EmbeddedChannel is the model). What a test
// passes to `send` is what a client sends; `read` is what the broker wrote to it.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
@testable import FastBroker
import Foundation
import Logging
import Synchronization

final class EmbeddedBroker {
    let server: BrokerServer
    var context: LoopContext { server.contexts[0] }
    var loop: EventLoop { context.loop }
    var metrics: LoopMetrics { context.metrics }

    /// One realm: `realm`, or `realm1` whose anonymous role gets `permissions` (default:
    /// everything) and keeps a HELLO's authid if `anonymousKeepsAuthid`. The listeners only
    /// describe transports: nothing is bound.
    init(limits: LimitsConfig = LimitsConfig(), metrics: MetricsConfig? = MetricsConfig(),
         permissions: [Permission] = [Permission(uri: "", match: .prefix, publish: true, subscribe: true)],
         anonymousKeepsAuthid: Bool = false, realm: RealmConfig? = nil) throws {
        let realm = realm ?? RealmConfig(name: "realm1", anonymousRole: "anonymous", anonymousKeepsAuthid: anonymousKeepsAuthid,
                                         roles: [RoleConfig(name: "anonymous", permissions: permissions)])
        let configuration = BrokerConfiguration(
            loops: 1,
            listeners: [ListenerConfig(transport: .rawsocket, host: "127.0.0.1", port: 0),
                        ListenerConfig(transport: .websocket, host: "127.0.0.1", port: 0)],
            realms: [realm], limits: limits, metrics: metrics)
        let log = self.log
        var logger = Logger(label: "embedded-broker") { _ in CapturingLogHandler(log: log) }
        logger.logLevel = .info
        server = try BrokerServer(configuration: configuration, log: logger)
    }

    /// What the broker logged (info and above), oldest first.
    let log = CapturedLog()

    /// A new client connection over `transport` speaking the listener's `serializers`; the
    /// simulated kernel buffers `socketBufferBytes` of output before writes block. With `tls`,
    /// the connection is a TLS listener's: the client's bytes are TLS records.
    func connect(_ transport: TransportKind = .rawsocket, serializers: [SerializerKind] = [.json, .msgpack],
                 socketBufferBytes: Int = .max, peer: String = "10.0.0.1:5000", tls: TLSServerContext? = nil) throws -> EmbeddedClient {
        let listener = ListenerConfig(transport: transport, host: "127.0.0.1", port: 0, serializers: serializers)
        let memory = InMemoryTransport(loop: loop, peer: peer, socketBufferBytes: socketBufferBytes)
        let connection = try Connection(context: context, transport: .inMemory(memory), listener: listener, tls: tls)
        connection.start()
        return EmbeddedClient(broker: self, transport: memory, connection: connection, session: connection.session!)
    }

    /// A few loop turns without blocking: enough for flushes, write completions and closes
    /// that follow from what the test just did.
    func run(turns: Int = 4) {
        for _ in 0..<turns { loop.runOnce() }
    }

    /// Turns the loop (waiting for timers) until `condition` holds or `timeout` passes; returns
    /// whether it held.
    @discardableResult
    func run(until condition: () -> Bool, timeout: TimeInterval = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            loop.runOnce(blocking: true)
        }
        return true
    }
}

/// One in-memory client of an EmbeddedBroker.
final class EmbeddedClient {
    let broker: EmbeddedBroker
    let transport: InMemoryTransport
    let connection: Connection
    /// The connection's session (the connection lets it go once it ended; the test keeps it).
    let session: Session

    init(broker: EmbeddedBroker, transport: InMemoryTransport, connection: Connection, session: Session) {
        self.broker = broker
        self.transport = transport
        self.connection = connection
        self.session = session
    }

    /// Sends `bytes` and turns the loop so the broker's answer is written.
    func send(_ bytes: [UInt8]) {
        transport.clientSends(bytes)
        broker.run()
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Everything the broker wrote that this client has not read.
    func read() -> [UInt8] {
        let bytes = transport.readOutput()
        broker.run()   // the room made may let a queued write complete
        return bytes
    }

    func readText() -> String { String(decoding: read(), as: UTF8.self) }

    /// Reads until the broker has nothing more to write now (queued writes included).
    func readAll() -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<10_000 {
            let chunk = read()
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }

    /// True once the connection's transport is closed.
    var isClosed: Bool { transport.isClosed }

    // MARK: - RawSocket

    /// Sends a RawSocket hello for JSON (serializer 1) accepting 2^(9+15) bytes, and returns the reply.
    @discardableResult
    func rawSocketHandshake(serializer: UInt8 = 1, lengthExponent: UInt8 = 15) -> [UInt8] {
        send([0x7F, lengthExponent << 4 | serializer, 0, 0])
        return read()
    }

    /// Sends one RawSocket message frame.
    func sendFrame(_ payload: String, type: UInt8 = 0) {
        send(Self.frame(Array(payload.utf8), type: type))
    }

    static func frame(_ payload: [UInt8], type: UInt8 = 0) -> [UInt8] {
        let n = payload.count
        return [type, UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + payload
    }

    /// Splits RawSocket output into (frame type, payload text) pairs; fails on a partial frame.
    static func frames(_ bytes: [UInt8]) -> [(type: UInt8, text: String)]? {
        var frames: [(UInt8, String)] = []
        var i = 0
        while i < bytes.count {
            guard bytes.count - i >= 4 else { return nil }
            let n = Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard bytes.count - i - 4 >= n else { return nil }
            frames.append((bytes[i], String(decoding: bytes[(i + 4)..<(i + 4 + n)], as: UTF8.self)))
            i += 4 + n
        }
        return frames
    }

    /// The message frames the broker wrote since the last read, as text.
    func readMessages() -> [String] {
        (Self.frames(read()) ?? []).filter { $0.type == 0 }.map(\.text)
    }

    /// RawSocket handshake, then HELLO to realm1; returns the WELCOME text.
    @discardableResult
    func joinRealm() -> String? {
        rawSocketHandshake()
        sendFrame(#"[1,"realm1",{"roles":{"subscriber":{},"publisher":{}}}]"#)
        return readMessages().first
    }
}

/// The lines a broker logged, for tests that check what happened once.
final class CapturedLog: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    func append(_ line: String) { storage.withLock { $0.append(line) } }

    /// Lines containing `text`.
    func lines(containing text: String) -> [String] { lines.filter { $0.contains(text) } }
}

/// Writes "message key=value ..." lines into a CapturedLog.
struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var logLevel = Logger.Level.info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
        log.append(([event.message.description] + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " "))
    }
}
