// libFuzzer entry for the whole inbound path of a broker with two loops: RawSocket framing →
// message scan (JSON or MessagePack) → Session state machine → Router (subscriptions, patterns,
// filters, consumer groups) → cross-loop inboxes → outbound queues → writes. The transport is
// in-process: each client is one end of a Unix socketpair, the other end a real `Connection` on
// one of the loops, so no port is opened. The fuzzer thread drives both loops itself with
// UV_RUN_NOWAIT, one after the other, so a run is single-threaded and repeatable.
//
// Input: byte 0 = client count (low 2 bits, 1…4) and each client's serializer (bits 2…5: 0 JSON,
// 1 MessagePack); then records [h, lenLo, lenHi, payload…]. h bits 0-1 pick the client; bits 2-3
// the frame kind (0 message, 1 ping, 2 pong, 3 bytes written unframed, so the framing itself is
// fuzzed); bit 4 closes that client afterwards (an abrupt disconnect); bit 5 runs the loops a
// few more rounds (lets cross-loop traffic settle before the next record). Built by build.sh.

@testable import BrokerLoop
@testable import FastBroker
import BrokerConfig
import CUV
import Glibc
import Logging

private let server: BrokerServer = {
    // As in the broker process: a write to a peer that hung up is an error return, not a signal.
    signal(SIGPIPE, SIG_IGN)
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

/// One fuzzed client: our end of the socketpair (non-blocking) and the broker's connection.
private struct Client {
    var fd: Int32
    let loop: Int
}

private func runLoops(rounds: Int) {
    for _ in 0..<rounds {
        for context in server.contexts { uv_run(context.loop.uv, UV_RUN_NOWAIT) }
    }
}

/// Reads and discards whatever the broker wrote, so it never stalls on a full socket.
private func drain(_ clients: [Client]) {
    var sink = [UInt8](repeating: 0, count: 64 * 1024)
    for client in clients where client.fd >= 0 {
        while read(client.fd, &sink, sink.count) > 0 {}
    }
}

private func send(_ bytes: [UInt8], to client: Client) {
    guard client.fd >= 0 else { return }
    // Non-blocking: if the broker stopped reading (backpressure), the rest is dropped.
    _ = bytes.withUnsafeBytes { write(client.fd, $0.baseAddress, $0.count) }
}

private func connect(loop: Int, serializer: UInt8) -> Client {
    var fds: [Int32] = [0, 0]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0, "socketpair failed")
    _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
    let context = server.contexts[loop]
    let stream = try! TCPStream(loop: context.loop)
    precondition(uv_tcp_open(stream.handle, fds[0]) == 0, "uv_tcp_open failed")
    let connection = try! Connection(context: context, stream: stream, listener: server.configuration.listeners[0], tls: nil)
    connection.start()
    let client = Client(fd: fds[1], loop: loop)
    // RawSocket hello: 2^24-byte receive limit, the chosen serializer.
    send([0x7F, 0xF0 | serializer, 0, 0], to: client)
    return client
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
        send(frame(kind: (header >> 2) & 3, payload), to: clients[target])
        if header & 0x10 != 0, clients[target].fd >= 0 {
            close(clients[target].fd)
            clients[target].fd = -1
        }
        runLoops(rounds: header & 0x20 != 0 ? 6 : 2)
        drain(clients)
    }
    // Every client hangs up; the broker must release every connection (and with it the
    // sessions, subscriptions and group memberships) within a few loop rounds.
    for client in clients where client.fd >= 0 { close(client.fd) }
    var rounds = 0
    while server.contexts.contains(where: { !$0.connections.isEmpty }) {
        rounds += 1
        precondition(rounds < 1000, "connections still open 1000 loop rounds after every client hung up")
        runLoops(rounds: 1)
    }
    runLoops(rounds: 2)   // close callbacks
    return 0
}
