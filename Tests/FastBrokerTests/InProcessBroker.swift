// Runs a real BrokerServer (real sockets, real loops) inside the test process on free ports.

import BrokerConfig
import FastBroker
import Foundation
import Logging

final class InProcessBroker: @unchecked Sendable {
    let server: BrokerServer
    let thread: Thread
    let rawSocketPort: Int
    let webSocketPort: Int
    private let done = DispatchSemaphore(value: 0)

    /// realm1's anonymous role gets `permissions` (default: everything).
    init(loops: Int, limits: LimitsConfig = LimitsConfig(),
         permissions: [Permission] = [Permission(uri: "", match: .prefix, publish: true, subscribe: true)]) throws {
        let realm = RealmConfig(
            name: "realm1", anonymousRole: "anonymous",
            roles: [RoleConfig(name: "anonymous", permissions: permissions)])
        let configuration = BrokerConfiguration(
            loops: loops,
            listeners: [ListenerConfig(transport: .rawsocket, host: "127.0.0.1", port: 0, serializers: [.json]),
                        ListenerConfig(transport: .websocket, host: "127.0.0.1", port: 0, serializers: [.json])],
            realms: [realm], limits: limits)
        var log = Logger(label: "test-broker")
        log.logLevel = .warning
        server = try BrokerServer(configuration: configuration, log: log)
        try server.start()
        rawSocketPort = server.boundPorts[0]
        webSocketPort = server.boundPorts[1]
        let server = self.server, done = self.done
        thread = Thread { server.run(); done.signal() }
        thread.start()
    }

    func stop() {
        server.requestShutdown()
        _ = done.wait(timeout: .now() + 10)
    }
}
