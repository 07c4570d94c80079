// The cluster bridge's hand-off into a loop (ClusterBridge.hand → CrossLoopOverflow.send): the
// same bounded overflow as between loops. A loop that is not draining makes publications from
// NATS wait in order behind its full inbox, up to the overflow's bound; past it they are dropped
// and counted as inbox_full; once the loop drains it wakes the bridge (its `outsideSender` slot),
// which hands over everything it kept. No NATS server is needed: the node keeps retrying to
// connect in the background, and the test thread stands in for the delivery thread.

@testable import FastBroker
import BrokerCluster
import BrokerConfig
import BrokerSerialization
import Foundation
import Logging
import XCTest

final class ClusterHandoffTests: XCTestCase {
    func testPublicationsFromNATSWaitBehindAFullInboxAndArriveAfterTheDrain() throws {
        var limits = LimitsConfig()
        limits.maxSessionOutboundBytes = 64 << 20   // the subscriber does not read; keep every EVENT
        let configuration = BrokerConfiguration(
            loops: 1,
            listeners: [ListenerConfig(transport: .rawsocket, host: "127.0.0.1", port: 0, serializers: [.json])],
            realms: [RealmConfig(name: "realm1", anonymousRole: "anonymous", roles: [
                RoleConfig(name: "anonymous", permissions: [Permission(uri: "", match: .prefix, publish: true, subscribe: true)]),
            ])],
            limits: limits, cluster: ClusterConfig(node: "handoff", servers: ["nats://127.0.0.1:1"]))
        var log = Logger(label: "test-broker")
        log.logLevel = .critical
        let server = try BrokerServer(configuration: configuration, log: log)
        try server.start()
        let done = DispatchSemaphore(value: 0)
        Thread { server.run(); done.signal() }.start()
        defer {
            server.requestShutdown()
            _ = done.wait(timeout: .now() + 10)
        }
        let subscriber = try RawSocketTestClient(port: server.boundPorts[0])
        _ = try subscriber.join()
        _ = try subscriber.subscribe("com.handoff")
        let bridge = try XCTUnwrap(server.cluster)
        let context = server.contexts[0]

        let blocked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        context.loop.execute { blocked.signal(); release.wait() }   // the loop stops draining
        blocked.wait()
        var released = false
        defer { if !released { release.signal() } }

        let kept = context.inbox.capacity + CrossLoopOverflow(loopCount: 1).messageLimit
        let sent = kept + 100
        for id in 1...sent {
            bridge.deliver(ClusterPublication(
                originNode: "other", realm: "realm1", topic: "com.handoff", publicationID: UInt64(id), publisherSession: 77,
                authid: "alice", authrole: "user", discloseMe: false, format: WireFormat.json.rawValue, options: [],
                args: Array("[1]".utf8), kwargs: []))
        }
        XCTAssertTrue(bridge.prometheusText.contains("reason=\"inbox_full\"} 100\n"),
                      "only what passes the overflow's bound is lost, and counted:\n\(bridge.prometheusText)")

        released = true
        release.signal()
        let deadline = Date().addingTimeInterval(20)
        while context.metrics.eventsDelivered.current < kept && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(context.metrics.eventsDelivered.current, kept, "the drained loop woke the bridge, which handed over the rest")
        _ = subscriber
    }
}
