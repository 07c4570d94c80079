// Cluster routing over a real three-server NATS cluster on loopback, one ClusterNode per server:
// interest-based forwarding, exactly-once hand-over despite overlapping subscriptions, pattern
// subjects, per-publisher order across topics, no self-delivery, and pending-limit drops counted.
// Negative checks wait for a sentinel published after the event that must not arrive.

import BrokerCluster
import BrokerConfig
import XCTest

final class ClusterRoutingTests: XCTestCase {
    // Not private: the batch tests (ClusterRoutingTests+Batches.swift) extend this suite.
    var cluster: NatsTestCluster!
    var nodes: [ClusterNode] = []

    override func setUpWithError() throws {
        cluster = try NatsTestCluster()
    }

    override func tearDown() {
        nodes.forEach { $0.stop() }
        nodes = []
        cluster?.stop()
    }

    /// A node on server `index` (each node its own NATS server: every event crosses a route).
    func startNode(_ name: String, server index: Int, _ delivery: RecordingDelivery,
                           pendingLimits: ClusterNode.PendingLimits = .standard) throws -> ClusterNode {
        let node = ClusterNode(nodeName: name, pendingLimits: pendingLimits)
        try node.start(servers: [cluster.servers[index].url], delivery: delivery)
        nodes.append(node)
        return node
    }

    /// Makes `receiver` interested in `topic` and waits until `sender`'s publications on it arrive
    /// (subscription propagated over the routes); the probes are publication id 0.
    private func connect(_ sender: ClusterNode, to receiver: ClusterNode, _ delivery: RecordingDelivery, topic: String) throws {
        XCTAssertTrue(receiver.addInterest(realm: "realm1", pattern: topic, match: .exact))
        try receiver.flush()
        let arrived = eventually(within: 10) {
            sender.publish(makePublication(topic: topic, id: 0))
            return delivery.waitFor(within: 0.05) { $0.topic == topic }
        }
        XCTAssertTrue(arrived, "interest in \(topic) never reached the sender's server")
    }

    func testOnlyInterestedNodesReceiveAndEachFieldArrives() throws {
        let (da, db, dc) = (RecordingDelivery(), RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db)
        let c = try startNode("c", server: 2, dc)
        try connect(a, to: b, db, topic: "com.app.t")
        try connect(a, to: c, dc, topic: "sentinel")

        var publication = makePublication(topic: "com.app.t", id: 4242, args: [0x91, 0x01])
        publication.kwargs = [0x80]
        publication.discloseMe = true
        publication.format = 1
        XCTAssertTrue(a.publish(publication))
        XCTAssertTrue(a.publish(makePublication(topic: "sentinel", id: 1)))

        XCTAssertTrue(db.waitFor { $0.publicationID == 4242 })
        let got = try XCTUnwrap(db.publications.first { $0.publicationID == 4242 })
        XCTAssertEqual(got.originNode, "a")
        XCTAssertEqual(got.originEpoch, a.epoch)
        XCTAssertEqual([got.realm, got.topic, got.authid, got.authrole], ["realm1", "com.app.t", "alice", "user"])
        XCTAssertEqual(got.publisherSession, 77)
        XCTAssertTrue(got.discloseMe)
        XCTAssertEqual(got.format, 1)
        XCTAssertEqual([got.args, got.kwargs, got.options], [[0x91, 0x01], [0x80], Array("{}".utf8)])

        // c has no interest in com.app.t: once the later sentinel is in, nothing else came.
        XCTAssertTrue(dc.waitFor { $0.topic == "sentinel" && $0.publicationID == 1 })
        XCTAssertEqual(Set(dc.topics), ["sentinel"])
        XCTAssertEqual(c.metrics.received, UInt64(dc.publications.count), "c's NATS connection carried only the sentinels")
        XCTAssertTrue(da.publications.isEmpty, "a has no interest")
    }

    func testOverlappingPatternsDeliverOncePerNode() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db)
        // Four local patterns, three NATS subjects (prefix "com.x." and "com.x.t" both map to com.x.>).
        XCTAssertTrue(b.addInterest(realm: "realm1", pattern: "com.x.", match: .prefix))
        XCTAssertTrue(b.addInterest(realm: "realm1", pattern: "com.x.t", match: .prefix))
        XCTAssertTrue(b.addInterest(realm: "realm1", pattern: "com..t", match: .wildcard))
        XCTAssertEqual(b.metrics.interestSubscriptions, 2)
        try connect(a, to: b, db, topic: "com.x.t")  // the exact one: a third subject
        XCTAssertEqual(b.metrics.interestSubscriptions, 3)
        a.publish(makePublication(topic: "com.y.t", id: 1))  // one subject: every probe copy before it is in once it is
        XCTAssertTrue(db.waitFor { $0.publicationID == 1 })

        let before = b.metrics
        for (i, topic) in ["com.x.t", "com.y.t", "com.x.tail", "com.x.other.deep", "com.z.u", "org.x.t"].enumerated() {
            a.publish(makePublication(topic: topic, id: UInt64(100 + i)))
        }
        // Sentinel on a topic only one subject matches: once it is in, every copy before it is too.
        a.publish(makePublication(topic: "com.y.t", id: 999))
        XCTAssertTrue(db.waitFor { $0.publicationID == 999 })
        let delivered = db.publications.filter { $0.publicationID >= 100 }.map(\.publicationID)
        XCTAssertEqual(delivered, [100, 101, 102, 103, 999], "each matching publication once, in order; com.z.u and org.x.t not at all")
        let after = b.metrics
        // com.x.t matched three subjects (two copies skipped); the others one each.
        XCTAssertEqual(after.duplicatesSkipped - before.duplicatesSkipped, 2)
        XCTAssertEqual(after.delivered - before.delivered, 5)

        b.removeInterest(realm: "realm1", pattern: "com.x.t", match: .prefix)
        XCTAssertEqual(b.metrics.interestSubscriptions, 3, "com.x.> still has a reference")
        b.removeInterest(realm: "realm1", pattern: "com.x.", match: .prefix)
        XCTAssertEqual(b.metrics.interestSubscriptions, 2)
    }

    func testEventsOfOnePublisherArriveInOrderAcrossTopics() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db)
        try connect(a, to: b, db, topic: "ord.a")
        try connect(a, to: b, db, topic: "ord.b")
        let count: UInt64 = 3000
        for id in 1...count { XCTAssertTrue(a.publish(makePublication(topic: id % 2 == 0 ? "ord.a" : "ord.b", id: id))) }
        XCTAssertTrue(eventually(within: 20) { db.publications.contains { $0.publicationID == count } })
        let ids = db.publications.map(\.publicationID).filter { $0 > 0 }
        XCTAssertEqual(ids, Array(1...count), "every event once, in publication order")
        XCTAssertEqual(b.metrics.slowConsumerDropped, 0)
        XCTAssertEqual(b.metrics.sequenceGapLost, 0, "nothing lost, no gap counted")
    }

    func testANodeNeverDeliversItsOwnPublications() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 0, db)  // same NATS server: no route hides an echo
        XCTAssertTrue(a.addInterest(realm: "realm1", pattern: "self.t", match: .exact))
        try connect(a, to: b, db, topic: "self.t")
        a.publish(makePublication(topic: "self.t", id: 5))
        XCTAssertTrue(db.waitFor { $0.publicationID == 5 })
        // b's publication after it is the sentinel for a: a sees b's, never its own.
        try connect(b, to: a, da, topic: "self.t")
        b.publish(makePublication(topic: "self.t", id: 6))
        XCTAssertTrue(da.waitFor { $0.publicationID == 6 })
        XCTAssertTrue(da.publications.allSatisfy { $0.originNode == "b" })
        XCTAssertEqual(a.metrics.ownEchoesSkipped, 0, "no-echo keeps them off the wire")
    }

    func testPendingLimitDropsAreCounted() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery(holdFirst: true))
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db, pendingLimits: .init(messages: 10, bytes: 1 << 20))
        try connect(a, to: b, db, topic: "slow.t")  // the first probe now holds b's delivery thread
        let count = 200
        // One NATS message each (the pending limit counts messages): each publication waits until
        // sent, so no drain holds two to pack (ClusterRoutingTests+Batches drops whole batches).
        for id in 1...count {
            a.publish(makePublication(topic: "slow.t", id: UInt64(id)))
            a.waitUntilPublished()
        }
        try a.flush()
        // With delivery held, at most 10 wait; the rest must be dropped, and counted.
        XCTAssertTrue(eventually(within: 10) { b.metrics.slowConsumerDropped >= UInt64(count - 10) }, "\(b.metrics)")
        db.release()
        let dropped = b.metrics.slowConsumerDropped
        let real = { db.publications.map(\.publicationID).filter { $0 > 0 } }
        XCTAssertTrue(eventually(within: 10) { UInt64(real().count) + dropped >= UInt64(count) }, "\(b.metrics)")
        let delivered = real()
        XCTAssertEqual(UInt64(delivered.count) + dropped, UInt64(count), "every publication delivered or counted as dropped")
        XCTAssertEqual(delivered, delivered.sorted(), "what survives keeps its order")
        XCTAssertTrue(b.metrics.prometheusText().contains("fastbroker_cluster_events_lost_total{reason=\"slow_consumer\"} \(dropped)\n"))
        // One more after the drops reveals their hole in a's sequence: counted once (slow_consumer), not again as a gap.
        a.publish(makePublication(topic: "slow.t", id: UInt64(count + 1)))
        XCTAssertTrue(db.waitFor { $0.publicationID == UInt64(count + 1) })
        XCTAssertEqual(b.metrics.sequenceGapLost, 0, "\(b.metrics)")
        XCTAssertEqual(b.metrics.slowConsumerDropped, dropped)
    }
}
