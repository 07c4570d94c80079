// Batching between real nodes over a three-server NATS cluster: a burst on one topic crosses in a
// few NATS messages, complete and in order; the 64 KiB cap splits a batch; mixed subjects keep the
// publisher's order; a batch NATS refuses counts each publication lost. The receive path is fed
// crafted batches directly: duplicates, framing lies and bad envelopes are counted, and nothing
// from a refused batch is delivered or remembered as seen. To make the drain hold a whole burst
// deterministically, the test holds the node's link lock while it queues (the publisher waits).
// An extension of ClusterRoutingTests: same cluster per test, same node set-up.

@testable import BrokerCluster
import BrokerConfig
import XCTest

extension ClusterRoutingTests {
    /// `receiver` interested in `pattern`; waits until `sender`'s probes (id 0) on `probeTopic` arrive.
    private func connect(_ sender: ClusterNode, to receiver: ClusterNode, _ delivery: RecordingDelivery,
                         pattern: String, match: MatchPolicy = .exact, probeTopic: String) throws {
        XCTAssertTrue(receiver.addInterest(realm: "realm1", pattern: pattern, match: match))
        try receiver.flush()
        XCTAssertTrue(eventually(within: 10) {
            sender.publish(makePublication(topic: probeTopic, id: 0))
            return delivery.waitFor(within: 0.05) { $0.topic == probeTopic }
        }, "interest in \(pattern) never reached the sender's server")
    }

    /// Queues `publications` while the publisher thread cannot send, so its next drain holds them all.
    private func burst(_ node: ClusterNode, _ publications: [ClusterPublication]) {
        node.link.withLock { _ in
            for p in publications { XCTAssertTrue(node.publish(p)) }
        }
        node.waitUntilPublished()
    }

    private func received(_ delivery: RecordingDelivery, upTo last: UInt64) -> [UInt64]? {
        guard eventually(within: 20, { delivery.publications.contains { $0.publicationID == last } }) else { return nil }
        return delivery.publications.map(\.publicationID).filter { $0 > 0 }
    }

    func testABurstOnOneTopicCrossesInAFewMessagesCompleteAndInOrder() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db)
        try connect(a, to: b, db, pattern: "burst.t", probeTopic: "burst.t")
        let before = a.metrics
        let count: UInt64 = 1000
        burst(a, (1...count).map { makePublication(topic: "burst.t", id: $0) })
        XCTAssertEqual(received(db, upTo: count), Array(1...count), "every event once, in publication order")
        let after = a.metrics
        XCTAssertEqual(after.published - before.published, count)
        // At most two drains (the one waiting for the lock may hold the first few), 256 a lock hold.
        XCTAssertLessThanOrEqual(after.natsMessagesPublished - before.natsMessagesPublished, 6, "\(after)")
        XCTAssertEqual(b.metrics.sequenceGapLost, 0, "subject sequences stay consecutive inside a batch")
        XCTAssertEqual(b.metrics.malformed, 0)
    }

    func testTheByteCapSplitsABatch() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db)
        try connect(a, to: b, db, pattern: "big.t", probeTopic: "big.t")
        let before = a.metrics.natsMessagesPublished
        let payload = Array(repeating: UInt8(ascii: "x"), count: 30_000)   // two fit in 64 KiB, three do not
        burst(a, (1...40).map { makePublication(topic: "big.t", id: $0, args: payload) })
        XCTAssertEqual(received(db, upTo: 40), Array(1...40))
        XCTAssertTrue(db.publications.filter { $0.publicationID > 0 }.allSatisfy { $0.args == payload })
        XCTAssertEqual(Double(a.metrics.natsMessagesPublished - before), 20, accuracy: 1, "two a message (one more if the first drain split them)")
        XCTAssertEqual(b.metrics.sequenceGapLost, 0)
    }

    func testMixedSubjectsKeepThePublishersOrder() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db)
        // One prefix subscription: one delivery order on b for every topic under it.
        try connect(a, to: b, db, pattern: "mix.", match: .prefix, probeTopic: "mix.probe")
        let topics = ["mix.a", "mix.a", "mix.b", "mix.b", "mix.b", "mix.a", "mix.c", "mix.a"]
        let count: UInt64 = 800
        burst(a, (1...count).map { makePublication(topic: topics[Int($0) % topics.count], id: $0) })
        XCTAssertEqual(received(db, upTo: count), Array(1...count), "runs of one subject share messages; the order across subjects holds")
        XCTAssertEqual(db.publications.filter { $0.publicationID > 0 }.map(\.topic), (1...count).map { topics[Int($0) % topics.count] })
        XCTAssertEqual(b.metrics.sequenceGapLost, 0)
    }

    func testABatchNatsRefusesCountsEachPublicationLost() throws {
        let a = try startNode("a", server: 0, RecordingDelivery())
        a.stop()
        let before = a.metrics
        for id in 1...10 { XCTAssertTrue(a.publish(makePublication(topic: "lost.t", id: UInt64(id)))) }
        a.waitUntilPublished()
        XCTAssertEqual(a.metrics.publishFailed - before.publishFailed, 10, "\(a.metrics)")
        XCTAssertEqual(a.metrics.published, before.published)
        XCTAssertTrue(a.metrics.prometheusText().contains("fastbroker_cluster_events_lost_total{reason=\"publish_failed\"} \(before.publishFailed + 10)\n"))
    }

    func testADroppedBatchLosesEachPublicationInItCounted() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery(holdFirst: true))
        let a = try startNode("a", server: 0, da)
        let b = try startNode("b", server: 1, db, pendingLimits: .init(messages: 10, bytes: 1 << 20))
        try connect(a, to: b, db, pattern: "drop.t", probeTopic: "drop.t")   // the first probe holds b's delivery thread
        let (bursts, size) = (40, 10)
        for round in 0..<bursts {
            burst(a, (1...size).map { makePublication(topic: "drop.t", id: UInt64(round * size + $0)) })
        }
        try a.flush()
        XCTAssertTrue(eventually(within: 10) { b.metrics.slowConsumerDropped >= UInt64(bursts / 2 - 10) }, "\(b.metrics)")
        db.release()
        let total = UInt64(bursts * size)
        // The next publication reveals the last hole; libnats counts dropped messages (slow_consumer),
        // the gap detector the publications beyond them: together, every publication lost.
        a.publish(makePublication(topic: "drop.t", id: total + 1))
        XCTAssertTrue(db.waitFor(within: 10) { $0.publicationID == total + 1 })
        let delivered = db.publications.map(\.publicationID).filter { $0 > 0 && $0 <= total }
        XCTAssertEqual(delivered, delivered.sorted(), "what survives keeps its order")
        let metrics = b.metrics
        XCTAssertEqual(UInt64(delivered.count) + metrics.slowConsumerDropped + metrics.sequenceGapLost, total, "\(metrics)")
    }

    // MARK: - Receive path, fed directly

    private func batch(_ ids: ClosedRange<UInt64>, origin: String = "x", insert garbage: [UInt8]? = nil) throws -> [UInt8] {
        var envelopes = try ids.map { id in
            var p = makePublication(topic: "rx.t", id: id)
            (p.originNode, p.originEpoch, p.originSequence) = (origin, 5, id)
            return try ClusterEnvelope.encode(p)
        }
        if let garbage { envelopes.insert(garbage, at: 1) }
        var bytes: [UInt8] = [0x46, 0x42, 0x81] + withUnsafeBytes(of: UInt32(envelopes.count).littleEndian, Array.init)
        for e in envelopes { bytes += withUnsafeBytes(of: UInt32(e.count).littleEndian, Array.init) + e }
        return bytes
    }

    private func feed(_ node: ClusterNode, _ bytes: [UInt8]) { bytes.withUnsafeBytes { node.natsMessage($0, subscription: nil) } }

    func testReceivedBatchesGoThroughThePerPublicationPath() throws {
        let db = RecordingDelivery()
        let b = try startNode("b", server: 1, db)
        let ids = { db.publications.map(\.publicationID) }

        feed(b, try batch(1...3))
        XCTAssertEqual(ids(), [1, 2, 3])
        XCTAssertEqual(b.metrics.received, 3, "received counts envelopes")

        feed(b, try batch(1...3))
        XCTAssertEqual(b.metrics.duplicatesSkipped, 3, "a second copy of a batch is skipped envelope by envelope")

        var lying = try batch(4...6)
        lying[3] = 4   // count 4, three entries
        feed(b, lying)
        feed(b, try batch(4...6) + [0])   // trailing byte
        XCTAssertEqual(b.metrics.malformed, 2)
        XCTAssertEqual(ids(), [1, 2, 3], "nothing of a batch with broken framing is delivered")

        feed(b, try batch(4...6))
        XCTAssertEqual(ids(), [1, 2, 3, 4, 5, 6], "nor remembered as seen")

        feed(b, try batch(7...8, insert: [0x46, 0x42, 9]))
        XCTAssertEqual(ids(), [1, 2, 3, 4, 5, 6, 7, 8], "a bad envelope is skipped on its own")
        XCTAssertEqual(b.metrics.malformed, 3)

        feed(b, try batch(9...9, origin: "b"))
        XCTAssertEqual(b.metrics.ownEchoesSkipped, 1)
        XCTAssertEqual(b.metrics.delivered, 8)
    }
}
