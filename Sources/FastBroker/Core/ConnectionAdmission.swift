// Connection caps (SPEC §3 `max_connections`, `max_connections_per_ip`): every accepted socket
// asks the broker-wide ConnectionAdmission for a ticket before a Connection is built. Over a cap
// the socket gets a RefusedConnection instead: the transport's refusal (RawSocket handshake error
// 4 "max connection count reached", or HTTP 503 naming the limit), at most one small read, close.
// Accept is a cold path shared by every loop: one atomic for the total, one lock for the table.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import BrokerSync
import BrokerWire
import Logging
import Synchronization

/// Which connection cap refused a socket (the names are the config keys).
enum ConnectionLimit: String, Error, Sendable {
    case maxConnections = "max_connections"
    case maxConnectionsPerIP = "max_connections_per_ip"
}

final class ConnectionAdmission: Sendable {
    let maxConnections: Int
    let maxConnectionsPerIP: Int
    /// Connections holding a ticket, across all loops.
    private let total = Atomic<Int>(0)
    /// Tickets per peer address; an entry is removed when its count returns to zero, so the
    /// table holds at most `maxConnections` entries.
    private let perAddress = PThreadLock<[String: Int]>([:])
    /// Refusal logging, at most one line per second across loops: the time of the last line
    /// (loop clock, ms) and the refusals not logged since.
    private let lastLogMs = Atomic<UInt64>(0)
    private let unloggedRefusals = Atomic<Int>(0)

    init(limits: LimitsConfig) {
        maxConnections = limits.maxConnections
        maxConnectionsPerIP = limits.maxConnectionsPerIP
    }

    /// Takes a ticket for a connection from `address`, or says which cap refuses it.
    func admit(address: String) -> Result<AdmissionTicket, ConnectionLimit> {
        if total.wrappingAdd(1, ordering: .relaxed).newValue > maxConnections {
            total.wrappingSubtract(1, ordering: .relaxed)
            return .failure(.maxConnections)
        }
        let admitted = perAddress.withLock { table -> Bool in
            let count = table[address, default: 0]
            guard count < maxConnectionsPerIP else { return false }
            table[address] = count + 1
            return true
        }
        guard admitted else {
            total.wrappingSubtract(1, ordering: .relaxed)
            return .failure(.maxConnectionsPerIP)
        }
        return .success(AdmissionTicket(admission: self, address: address))
    }

    fileprivate func release(address: String) {
        perAddress.withLock { table in
            let count = table[address, default: 0]
            if count <= 1 { table.removeValue(forKey: address) } else { table[address] = count - 1 }
        }
        total.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Connections currently admitted (tests, metrics).
    var admittedCount: Int { total.load(ordering: .relaxed) }
    /// Peer addresses with at least one admitted connection (tests: the table does not grow).
    var addressCount: Int { perAddress.withLock { $0.count } }

    /// Logs a refusal unless another was logged less than a second ago (a flood must not
    /// become a log flood); the next line says how many were not logged.
    func logRefusal(_ limit: ConnectionLimit, address: String, nowMs: UInt64, log: Logger) {
        let last = lastLogMs.load(ordering: .relaxed)
        guard nowMs >= last + 1_000 || last == 0,
              lastLogMs.compareExchange(expected: last, desired: max(nowMs, 1), ordering: .relaxed).exchanged else {
            unloggedRefusals.wrappingAdd(1, ordering: .relaxed)
            return
        }
        let skipped = unloggedRefusals.exchange(0, ordering: .relaxed)
        log.warning("connection refused: \(limit.rawValue) reached", metadata: [
            "peer": "\(address)", "limit": "\(limit == .maxConnections ? maxConnections : maxConnectionsPerIP)",
            "refusals_not_logged": "\(skipped)"])
    }

    /// "1.2.3.4:5678" → "1.2.3.4"; "[::1]:5678" → "::1" (TCPStream.peerDescription's forms).
    static func address(ofPeer peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        var host = peer[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return String(host)
    }
}

/// One admitted connection's place under the caps; given back exactly once, when the
/// connection's socket is closed (or, as a safety net, when the ticket is freed).
/// Owned by the connection's loop thread.
final class AdmissionTicket {
    private let admission: ConnectionAdmission
    let address: String
    private var released = false

    fileprivate init(admission: ConnectionAdmission, address: String) {
        self.admission = admission
        self.address = address
    }

    func release() {
        guard !released else { return }
        released = true
        admission.release(address: address)
    }

    deinit { release() }
}

/// A socket refused by a connection cap: the refusal is written at once (a fresh socket's send
/// buffer takes it whole), then at most one read of `firstBytesLimit` bytes (the client's
/// RawSocket hello or the start of its HTTP request, so closing does not reset the connection
/// under the reply), then close; a silent peer is closed after `graceMilliseconds`.
/// Owned by its loop thread; alive until the socket's close callback.
final class RefusedConnection: TCPStreamDelegate {
    static let firstBytesLimit = 1024
    static let graceMilliseconds: UInt64 = 500

    private let stream: TCPStream
    private let reply: [UInt8]
    private var buffer: UnsafeMutableRawBufferPointer?
    private var timer: LoopTimer?

    /// An empty `reply` closes at once.
    init(stream: TCPStream, reply: [UInt8]) {
        self.stream = stream
        self.reply = reply
    }

    /// What the client is told: RawSocket has one error code for both caps (4, "maximum
    /// connection count reached"); WebSocket clients get a 503 whose body names the limit.
    static func reply(transport: TransportKind, limit: ConnectionLimit, admission: ConnectionAdmission) -> [UInt8] {
        switch transport {
        case .rawsocket:
            return RawSocketFraming.helloError(.maxConnectionCount)
        case .websocket:
            let body = limit == .maxConnections
                ? "connection refused: the broker has reached max_connections (\(admission.maxConnections)); retry later\n"
                : "connection refused: this address has reached max_connections_per_ip (\(admission.maxConnectionsPerIP)); retry later\n"
            return HTTPResponse.make(status: 503, reason: "Service Unavailable", contentType: "text/plain; charset=utf-8",
                                     body: Array(body.utf8), extraHeaders: [("Retry-After", "1")])
        }
    }

    func start() {
        stream.delegate = self
        guard !reply.isEmpty else { return finish() }
        let written = reply.withUnsafeBytes { bytes -> Bool in
            let vector = WriteVector(capacity: 1)
            vector.append(bytes.baseAddress!, bytes.count)
            if case .success(let n) = stream.tryWrite(vector) { return n == bytes.count }
            return false
        }
        guard written else { return finish() }
        buffer = .allocate(byteCount: Self.firstBytesLimit, alignment: 1)
        let timer = LoopTimer(loop: stream.loop)
        timer.start(milliseconds: Self.graceMilliseconds) { [unowned self] in self.finish() }
        self.timer = timer
        stream.startReading()
    }

    private func finish() {
        timer?.close(); timer = nil
        stream.stopReading()
        stream.close()
    }

    func streamReadBuffer(_ stream: TCPStream) -> UnsafeMutableRawBufferPointer {
        buffer ?? UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    func stream(_ stream: TCPStream, didRead count: Int) { finish() }
    func streamDidEnd(_ stream: TCPStream, error: UVError?) { finish() }
    func streamDidFinishWrite(_ stream: TCPStream, error: UVError?) {}

    func streamDidClose(_ stream: TCPStream) {
        timer?.close(); timer = nil
        buffer?.deallocate()
        buffer = nil
    }
}

extension BrokerServer {
    /// The listener callback: a ticket and a Connection, or the refusal of a connection cap.
    func accept(_ stream: TCPStream, on context: LoopContext, listener: ListenerConfig, tls: TLSServerContext?) {
        let address = ConnectionAdmission.address(ofPeer: stream.peerDescription)
        let ticket: AdmissionTicket
        switch admission.admit(address: address) {
        case .success(let admitted):
            ticket = admitted
        case .failure(let limit):
            context.metrics.limitRefusals[limit == .maxConnections ? .maxConnections : .maxConnectionsPerIP].increment()
            admission.logRefusal(limit, address: address, nowMs: context.loop.now, log: context.log)
            // A TLS listener never answers in plaintext (SPEC §3): there the refusal is the close.
            let reply = tls == nil ? RefusedConnection.reply(transport: listener.transport, limit: limit, admission: admission) : []
            RefusedConnection(stream: stream, reply: reply).start()
            return
        }
        do {
            let connection = try Connection(context: context, stream: stream, listener: listener, tls: tls)
            connection.admission = ticket
            connection.start()
        } catch {
            ticket.release()
            context.metrics.tlsFailures.increment()
            context.log.error("cannot start TLS on a connection", metadata: ["error": "\(error)"])
            stream.close()
        }
    }
}
