// libFuzzer entry for the whole inbound path of a broker with two loops: RawSocket framing →
// message scan (JSON or MessagePack) → Session state machine → Router (subscriptions, patterns,
// filters, consumer groups) → cross-loop inboxes → outbound queues → writes. The transport is
// in memory (InMemoryTransport): each client is a real `Connection` on one of the loops whose
// byte stream the harness writes and reads, so no socket or port is involved and an input costs
// no syscalls beyond the loops' own polls. The fuzzer thread steps both loops itself
// (EventLoop.runOnce, UV_RUN_NOWAIT), one after the other, so a run is single-threaded and
// repeatable.
//
// Input: byte 0 = client count (low 2 bits, 1…4) and each client's serializer (bits 2…5: 0 JSON,
// 1 MessagePack); then records [h, lenLo, lenHi, payload…]. h bits 0-1 pick the client; bits 2-3
// the frame kind (0 message, 1 ping, 2 pong, 3 bytes written unframed, so the framing itself is
// fuzzed); bit 4 closes that client afterwards (an abrupt disconnect); bit 5 runs the loops a
// few more rounds (lets cross-loop traffic settle before the next record). Built by build.sh.

@testable import BrokerLoop
@testable import FastBroker
import BrokerConfig
import Logging

private let server: BrokerServer = {
    let everything = Permission(uri: "", match: .prefix, publish: true, subscribe: true)
    let configuration = BrokerConfiguration(
        loops: 2,
        listeners: [ListenerConfig(transport: .rawsocket, host: "127.0.0.1", port: 0)],
        realms: [
            RealmConfig(name: "realm1", anonymousRole: "anonymous",
                        roles: [RoleConfig(name: "anonymous", permissions: [everything])]),
            // Deny before allow, so permission checks on patterns and topics have work to do.
            RealmConfig(name: "realm2", anonymousRole: "anonymous",
                        roles: [RoleConfig(name: "anonymous", permissions: [
                            Permission(uri: "com.x.private.", match: .prefix, publish: true, subscribe: false),
                            Permission(uri: "com.x.", match: .prefix, publish: true, subscribe: true),
                        ])]),
        ],
        // Small limits so inputs reach the limit paths (refusals, slow-consumer disconnects).
        limits: LimitsConfig(maxMessageBytes: 16 * 1024, maxSessionOutboundBytes: 64 * 1024))
    var log = Logger(label: "fuzz-session")
    log.logLevel = .critical
    return try! BrokerServer(configuration: configuration, log: log)
}()

/// What the simulated kernel buffers per connection before the broker's writes queue (about a
/// Unix socket's send buffer, as the socketpair harness had), so backpressure paths are reached.
private let socketBufferBytes = 208 * 1024

/// One fuzzed client: the broker's connection's in-memory byte stream.
private struct Client {
    let transport: InMemoryTransport
    /// The client closed its socket: it sends nothing more, and what the broker writes is lost.
    var hungUp = false

    /// Closes the client's socket: the broker reads the end of stream, its next write fails as
    /// on a socket the peer closed (EPIPE), and later output is discarded by `drain`.
    mutating func hangUp() {
        guard !hungUp else { return }
        hungUp = true
        transport.clientCloses()
        transport.failNextWrite = UVError(-32, "write")
    }
}

private func runLoops(rounds: Int) {
    for _ in 0..<rounds {
        for context in server.contexts { context.loop.runOnce() }
    }
}

/// Reads and discards whatever the broker wrote, so it never stalls on a full buffer.
private func drain(_ clients: [Client]) {
    for client in clients { _ = client.transport.readOutput() }
}

private func connect(loop: Int, serializer: UInt8) -> Client {
    let context = server.contexts[loop]
    let transport = InMemoryTransport(loop: context.loop, peer: "fuzz-client", socketBufferBytes: socketBufferBytes)
    let connection = try! Connection(context: context, transport: .inMemory(transport), listener: server.configuration.listeners[0], tls: nil)
    connection.start()
    // RawSocket hello: 2^24-byte receive limit, the chosen serializer.
    transport.clientSends([0x7F, 0xF0 | serializer, 0, 0])
    return Client(transport: transport)
}

private func frame(kind: UInt8, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
    if kind == 3 { return Array(payload) }
    let n = payload.count
    return [kind, UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + payload
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let count = Int(input[0] & 3) + 1
    var clients = (0..<count).map { i in
        connect(loop: i % server.contexts.count, serializer: (input[0] >> (2 + UInt8(i))) & 1 == 0 ? 1 : 2)
    }
    runLoops(rounds: 2)
    var at = 1
    while at + 3 <= size {
        let header = input[at]
        let length = min(Int(input[at + 1]) | Int(input[at + 2]) << 8, size - at - 3)
        let payload = UnsafeRawBufferPointer(rebasing: input[(at + 3)..<(at + 3 + length)])
        at += 3 + length
        let target = Int(header & 3) % count
        if !clients[target].hungUp {
            clients[target].transport.clientSends(frame(kind: (header >> 2) & 3, payload))
        }
        if header & 0x10 != 0 { clients[target].hangUp() }
        runLoops(rounds: header & 0x20 != 0 ? 6 : 2)
        drain(clients)
    }
    // Every client hangs up; the broker must release every connection (and with it the
    // sessions, subscriptions and group memberships) within a few loop rounds.
    for i in clients.indices { clients[i].hangUp() }
    var rounds = 0
    while server.contexts.contains(where: { !$0.connections.isEmpty }) {
        rounds += 1
        precondition(rounds < 1000, "connections still open 1000 loop rounds after every client hung up")
        runLoops(rounds: 1)
        drain(clients)
    }
    runLoops(rounds: 2)   // close callbacks
    return 0
}
