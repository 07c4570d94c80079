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
        a.waitUntilPublished()
        let after = a.metrics
        XCTAssertEqual(after.published - before.published + after.publishFailed - before.publishFailed, 100)
        // The buffer's edge falls on a NATS message, which may pack up to 64 KiB (ClusterBatch):
        // the buffer plus one message hold at most 32 of them.
        XCTAssertGreaterThanOrEqual(after.publishFailed - before.publishFailed, 68, "beyond the buffer: lost and counted")
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

    /// A stalled NATS server (SIGSTOP: sockets open, nothing read) makes libnats' publish block
    /// once the socket buffers fill. The caller — a loop thread in the broker — must not: it only
    /// queues, and what the full queue cannot take is counted as publish_queue_full.
    func testAStalledNATSNeverBlocksThePublishingThreadAndLossesAreCounted() throws {
        server = try NatsServerProcess(name: "s", clusterPort: 0, routes: [], jetStream: false)
        let a = ClusterNode(nodeName: "a", publishQueueLimits: .init(messages: 64, bytes: 1 << 20))
        nodes = [a]
        try a.start(servers: [server.url], delivery: RecordingDelivery())
        XCTAssertTrue(eventually(within: 5) { (try? a.flush()) != nil }, "a connected")
        server.send(SIGSTOP)
        defer { server.send(SIGCONT) }
        // 2,000 × 64 KiB = 125 MiB: far beyond loopback socket buffers, so the publisher thread
        // blocks in libnats while the server is stopped.
        let count = 2_000
        let payload = [UInt8](repeating: 0x31, count: 64 << 10)
        let done = DispatchSemaphore(value: 0)
        let started = Date()
        DispatchQueue.global().async {
            for id in 1...count { a.publish(makePublication(topic: "stall.t", id: UInt64(id), args: payload)) }
            done.signal()
        }
        // Bounded: the publishing thread only appends (a blocking publish would never return
        // while the server is stopped).
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, "publish blocked on a stalled NATS server")
        let took = Date().timeIntervalSince(started)
        XCTAssertLessThan(took, 20)
        let stalled = a.metrics
        XCTAssertGreaterThan(stalled.publishQueueFull, 0, "the full queue's losses are counted")
        XCTAssertTrue(stalled.prometheusText().contains("fastbroker_cluster_events_lost_total{reason=\"publish_queue_full\"} \(stalled.publishQueueFull)\n"))
        server.send(SIGCONT)
        a.waitUntilPublished()
        let after = a.metrics
        XCTAssertEqual(after.published + after.publishFailed + after.publishQueueFull, UInt64(count), "each publication sent or counted lost: \(after)")
    }
}
