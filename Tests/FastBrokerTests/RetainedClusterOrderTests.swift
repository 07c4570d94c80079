// The retained store's cluster order (RetainedEvents "Cluster order"): entries mirrored from the
// cluster's bucket replace local ones in revision order; while this node's own write of a topic
// is pending, another node's entry applies only if its revision is higher than ours (waiting
// while ours is unknown), and a write that failed yields to the bucket. Also the envelope ↔ publication conversion both directions
// of the cluster use (ClusterPublication(publication, realm:), withPublication).

@testable import BrokerCluster
@testable import BrokerConfig
@testable import FastBroker
import XCTest

final class RetainedClusterOrderTests: XCTestCase {
    private func event(_ topic: String, id: UInt64, args: String = "[1]") -> RetainedEvent {
        var topic = topic, args = args
        return topic.withUTF8 { t in args.withUTF8 { a in
            RetainedEvent(Publication(id: id, topic: UnsafeRawBufferPointer(t), format: .json, args: UnsafeRawBufferPointer(a),
                                      kwargs: UnsafeRawBufferPointer(start: nil, count: 0), excludedSession: 0, disclosedPublisher: nil, rules: nil))
        } }
    }

    private func ids(_ store: RetainedEvents, _ topic: String) -> [UInt64] {
        var topic = topic
        return topic.withUTF8 { store.matching(UnsafeRawBufferPointer($0), policy: .exact) }.map(\.id)
    }

    private func with<R>(_ topic: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var topic = topic
        return topic.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    func testMirroredEntriesReplaceInBucketOrderWithoutLocalWrites() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        _ = store.retain(event("com.a", id: 1))   // a node outside any cluster write
        XCTAssertEqual(with("com.a") { store.mirror(event("com.a", id: 2), topic: $0, revision: 5) }, .kept(evicted: 0))
        XCTAssertEqual(ids(store, "com.a"), [2])
        XCTAssertEqual(with("com.a") { store.mirror(nil, topic: $0, revision: 6) }, .kept(evicted: 0), "a mirrored clear")
        XCTAssertEqual(ids(store, "com.a"), [])
    }

    func testAnOlderEntryIsSkippedOnceOurRevisionIsKnownAndANewerOneApplies() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        _ = store.retain(event("com.a", id: 10), localWrite: 7)
        XCTAssertNil(with("com.a") { store.settle(topic: $0, sequence: 7, .written(revision: 40)) })
        XCTAssertNil(with("com.a") { store.mirror(event("com.a", id: 5), topic: $0, revision: 39) }, "older than ours")
        XCTAssertNil(with("com.a") { store.mirror(nil, topic: $0, revision: 38) }, "an older clear too")
        XCTAssertEqual(ids(store, "com.a"), [10])
        XCTAssertEqual(store.pendingWriteCount, 1)
        // Ours never comes back (replaced in the bucket before the watcher got it): the newer
        // entry applies and ends the mark.
        XCTAssertEqual(with("com.a") { store.mirror(event("com.a", id: 11), topic: $0, revision: 41) }, .kept(evicted: 0))
        XCTAssertEqual(ids(store, "com.a"), [11])
        XCTAssertEqual(store.pendingWriteCount, 0)
    }

    func testAnEntrySeenBeforeOurRevisionWaitsAndAppliesOnlyIfNewer() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        // Newer than ours: applied when our revision turns out lower.
        _ = store.retain(event("com.a", id: 10), localWrite: 1)
        XCTAssertNil(with("com.a") { store.mirror(event("com.a", id: 20), topic: $0, revision: 12) })
        XCTAssertNil(with("com.a") { store.mirror(event("com.a", id: 21), topic: $0, revision: 11) }, "the newest waiting one is kept")
        XCTAssertEqual(ids(store, "com.a"), [10], "nothing applied before our revision is known")
        XCTAssertEqual(with("com.a") { store.settle(topic: $0, sequence: 1, .written(revision: 9)) }, .kept(evicted: 0))
        XCTAssertEqual(ids(store, "com.a"), [20])
        XCTAssertEqual(store.pendingWriteCount, 0)
        // Older than ours: dropped; ours stays until it comes back.
        _ = store.retain(event("com.b", id: 30), localWrite: 2)
        XCTAssertNil(with("com.b") { store.mirror(event("com.b", id: 31), topic: $0, revision: 14) })
        XCTAssertNil(with("com.b") { store.settle(topic: $0, sequence: 2, .written(revision: 15)) })
        XCTAssertEqual(ids(store, "com.b"), [30])
        XCTAssertNil(with("com.b") { store.settle(topic: $0, sequence: 2, .echoed) })
        XCTAssertEqual(store.pendingWriteCount, 0)
        XCTAssertEqual(with("com.b") { store.mirror(event("com.b", id: 32), topic: $0, revision: 16) }, .kept(evicted: 0))
        XCTAssertEqual(ids(store, "com.b"), [32])
    }

    func testOnlyTheLatestLocalWriteSettlesAndAFailedOneYieldsToTheBucket() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        _ = store.retain(event("com.a", id: 1), localWrite: 1)
        _ = store.retain(event("com.a", id: 2), localWrite: 2)
        XCTAssertNil(with("com.a") { store.settle(topic: $0, sequence: 1, .echoed) }, "an earlier write of ours")
        XCTAssertNil(with("com.a") { store.settle(topic: $0, sequence: 1, .written(revision: 3)) })
        XCTAssertNil(with("com.a") { store.mirror(event("com.a", id: 9), topic: $0, revision: 4) }, "waits for write 2")
        XCTAssertEqual(ids(store, "com.a"), [2])
        // Write 2 never reached the bucket: the bucket's entry is what every other node has.
        XCTAssertEqual(with("com.a") { store.settle(topic: $0, sequence: 2, .failed) }, .kept(evicted: 0))
        XCTAssertEqual(ids(store, "com.a"), [9])
        XCTAssertEqual(store.pendingWriteCount, 0)
    }

    func testALocalClearIsMarkedToo() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        _ = store.retain(event("com.a", id: 1))
        with("com.a") { store.clear(topic: $0, localWrite: 3) }
        XCTAssertNil(with("com.a") { store.settle(topic: $0, sequence: 3, .written(revision: 50)) })
        XCTAssertNil(with("com.a") { store.mirror(event("com.a", id: 2), topic: $0, revision: 49) }, "older than our clear")
        XCTAssertEqual(ids(store, "com.a"), [])
        XCTAssertEqual(with("com.b") { store.mirror(event("com.b", id: 4), topic: $0, revision: 48) }, .kept(evicted: 0),
                       "other topics apply")
        XCTAssertEqual(ids(store, "com.b"), [4])
    }

    func testMirroredEntriesAreBoundedByTheLimitLikeLocalOnes() {
        let size = event("com.t0", id: 0).chargedBytes
        let store = RetainedEvents(byteLimit: 2 * size)
        for i in 0..<3 { _ = with("com.t\(i)") { store.mirror(event("com.t\(i)", id: UInt64(i)), topic: $0, revision: UInt64(i + 1)) } }
        XCTAssertEqual(store.topicCount, 2)
        XCTAssertEqual(ids(store, "com.t0"), [], "the oldest topic was evicted")
        let large = event("com.big", id: 9, args: "[\"" + String(repeating: "x", count: 3 * size) + "\"]")
        XCTAssertEqual(with("com.big") { store.mirror(large, topic: $0, revision: 10) }, .tooLarge)
    }

    func testEnvelopeRoundTripKeepsWhatRetainedEventsNeed() throws {
        var topic = "com.a.b", args = "[1,\"x\"]", kwargs = "{\"k\":2}"
        let rules = EligibilityRules(exclude: SortedSessionIDs([4]), eligible: SortedSessionIDs([9, 8]))
        let envelope = topic.withUTF8 { t in args.withUTF8 { a in kwargs.withUTF8 { k in
            ClusterPublication(Publication(
                id: 42, topic: UnsafeRawBufferPointer(t), format: .json, args: UnsafeRawBufferPointer(a), kwargs: UnsafeRawBufferPointer(k),
                excludedSession: 0, disclosedPublisher: PublisherInfo(session: 77, authid: "alice", authrole: "user"), rules: rules),
                realm: "realm1")
        } } }
        XCTAssertEqual(envelope.realm, "realm1")
        XCTAssertEqual(envelope.publisherSession, 77)
        XCTAssertFalse(envelope.excludeMe)
        let decoded = try envelope.withPublication { publication in
            (String(decoding: publication.topic, as: UTF8.self), String(decoding: publication.args, as: UTF8.self),
             String(decoding: publication.kwargs, as: UTF8.self), publication.id, publication.excludedSession,
             publication.disclosedPublisher?.authid, publication.disclosedPublisher?.session, publication.rules?.eligible?.count)
        }.unwrap()
        XCTAssertEqual(decoded.0, "com.a.b")
        XCTAssertEqual(decoded.1, "[1,\"x\"]")
        XCTAssertEqual(decoded.2, "{\"k\":2}")
        XCTAssertEqual(decoded.3, 42)
        XCTAssertEqual(decoded.4, 0)
        XCTAssertEqual(decoded.5, "alice")
        XCTAssertEqual(decoded.6, 77)
        XCTAssertEqual(decoded.7, 2)
        var unknown = envelope
        unknown.format = 99
        XCTAssertNil(unknown.withPublication { _ in true }, "a format this broker does not know")
    }

    func testBucketKeysEscapeEveryByteAndKeepComponents() {
        XCTAssertEqual(ClusterRetention.key(realm: "realm1", topic: "com.a_b.c d"), "realm1.com.a_5Fb.c_20d")
        XCTAssertEqual(ClusterRetention.key(realm: "my.realm", topic: "x"), "my_2Erealm.x", "the realm is one token")
        XCTAssertNotEqual(ClusterRetention.key(realm: "a.b", topic: "c"), ClusterRetention.key(realm: "a", topic: "b.c"))
        XCTAssertNil(ClusterRetention.key(realm: "r", topic: String(repeating: "x", count: 5_000)), "too long for a subject")
    }
}

private extension Optional {
    func unwrap(file: StaticString = #filePath, line: UInt = #line) throws -> Wrapped {
        try XCTUnwrap(self, file: file, line: line)
    }
}
