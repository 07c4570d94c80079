// The NATS link going down and coming back (SPEC §7 faults): publications while it is down are
// buffered up to the reconnect buffer and the rest are counted as lost, never silently; once the
// server is back both nodes reconnect, re-send their interest, and publications cross again.

import BrokerCluster
import Foundation
import XCTest

final class ClusterReconnectTests: XCTestCase {
    private var server: NatsServerProcess!
    private var nodes: [ClusterNode] = []

    override func tearDown() {
        nodes.forEach { $0.stop() }
        nodes = []
        server?.stop()
    }

    func testLossesWhileNATSIsDownAreCountedAndTheLinkComesBack() throws {
        server = try NatsServerProcess(name: "s", clusterPort: 0, routes: [], jetStream: false)
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = ClusterNode(nodeName: "a", reconnectBufferBytes: 64 << 10)
        let b = ClusterNode(nodeName: "b")
        nodes = [a, b]
        try a.start(servers: [server.url], delivery: da)
        try b.start(servers: [server.url], delivery: db)
        XCTAssertTrue(b.addInterest(realm: "realm1", pattern: "link.t", match: .exact))
        try b.flush()
        a.publish(makePublication(topic: "link.t", id: 1))
        XCTAssertTrue(db.waitFor { $0.publicationID == 1 })

        let port = server.clientPort
        server.stop()
        XCTAssertTrue(eventually(within: 5) { a.metrics.disconnects >= 1 }, "a noticed the link going down")
        // 64 KiB of reconnect buffer: 4 KiB publications, 100 of them, cannot all fit.
        let big = [UInt8](repeating: 0x31, count: 4096)
        let before = a.metrics
        for id in 2...101 { a.publish(makePublication(topic: "link.t", id: UInt64(id), args: big)) }
        let after = a.metrics
        XCTAssertEqual(after.published - before.published + after.publishFailed - before.publishFailed, 100)
        XCTAssertGreaterThanOrEqual(after.publishFailed - before.publishFailed, 80, "beyond the buffer: lost and counted")
        XCTAssertTrue(after.prometheusText().contains("fastbroker_cluster_events_lost_total{reason=\"publish_failed\"} \(after.publishFailed)\n"))

        server = try NatsServerProcess(name: "s", clusterPort: 0, routes: [], jetStream: false, clientPort: port)
        XCTAssertTrue(eventually(within: 10) { a.metrics.reconnects >= 1 && b.metrics.reconnects >= 1 }, "both nodes reconnect")
        // b's interest was re-sent on reconnect; a's publications cross again.
        XCTAssertTrue(eventually(within: 10) {
            a.publish(makePublication(topic: "link.t", id: 1000))
            return db.waitFor(within: 0.1) { $0.publicationID == 1000 }
        })
        XCTAssertEqual(b.metrics.slowConsumerDropped, 0)
    }
}
