// The retained-event store (Core/RetainedEvents.swift) on its own: one event per topic (the
// latest), clearing, eviction of the oldest topics by charged bytes, the charge itself, and the
// trie lookups for exact, prefix and wildcard patterns (checked against MatchPolicy.matches,
// the one definition of a match).

@testable import BrokerConfig
@testable import FastBroker
import XCTest

final class RetainedEventsTests: XCTestCase {
    private func event(_ topic: String, id: UInt64, args: String = "[1]", kwargs: String = "") -> RetainedEvent {
        var topic = topic, args = args, kwargs = kwargs
        return topic.withUTF8 { t in args.withUTF8 { a in kwargs.withUTF8 { k in
            RetainedEvent(Publication(id: id, topic: UnsafeRawBufferPointer(t), format: .json, args: UnsafeRawBufferPointer(a),
                                      kwargs: UnsafeRawBufferPointer(k), excludedSession: 0, disclosedPublisher: nil, rules: nil))
        } } }
    }

    private func ids(_ store: RetainedEvents, _ pattern: String, _ policy: MatchPolicy) -> [UInt64] {
        var pattern = pattern
        return pattern.withUTF8 { store.matching(UnsafeRawBufferPointer($0), policy: policy) }.map(\.id).sorted()
    }

    func testReplaceKeepsTheLatestAndChargesOnce() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        let first = event("com.a", id: 1), second = event("com.a", id: 2, args: "[1,2,3]")
        XCTAssertEqual(store.retain(first), .kept(evicted: 0))
        XCTAssertEqual(store.retain(second), .kept(evicted: 0))
        XCTAssertEqual(ids(store, "com.a", .exact), [2])
        XCTAssertEqual(store.topicCount, 1)
        XCTAssertEqual(store.byteCount, second.chargedBytes)
        XCTAssertEqual(second.chargedBytes, "com.a".utf8.count + "[1,2,3]".utf8.count + RetainedEvent.overheadBytes)
        second.withPublication { publication in
            XCTAssertEqual(String(decoding: publication.topic, as: UTF8.self), "com.a")
            XCTAssertEqual(String(decoding: publication.args, as: UTF8.self), "[1,2,3]")
            XCTAssertEqual(publication.kwargs.count, 0)
            XCTAssertEqual(publication.excludedSession, 0, "exclude_me never applies to a retained event")
        }
    }

    func testClearRemovesOnlyThatTopicAndItsBytes() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        let kept = event("com.a.b", id: 2)
        _ = store.retain(event("com.a", id: 1))
        _ = store.retain(kept)
        var topic = "com.a"
        topic.withUTF8 { store.clear(topic: UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(ids(store, "com.a", .exact), [])
        XCTAssertEqual(ids(store, "com.a.b", .exact), [2], "a topic below the cleared one stays")
        XCTAssertEqual(store.byteCount, kept.chargedBytes)
        topic = "com.none"
        topic.withUTF8 { store.clear(topic: UnsafeRawBufferPointer($0)) }   // clearing nothing is fine
        XCTAssertEqual(store.topicCount, 1)
    }

    func testOldestTopicsAreEvictedFirstToStayWithinTheLimit() {
        let size = event("com.t0", id: 0).chargedBytes
        let store = RetainedEvents(byteLimit: 3 * size)
        for i in 0..<3 { XCTAssertEqual(store.retain(event("com.t\(i)", id: UInt64(i))), .kept(evicted: 0)) }
        // Re-retaining t0 makes it the youngest: t1 is now the oldest.
        XCTAssertEqual(store.retain(event("com.t0", id: 10)), .kept(evicted: 0))
        XCTAssertEqual(store.retain(event("com.t3", id: 3)), .kept(evicted: 1))
        XCTAssertEqual(ids(store, "com.", .prefix), [2, 3, 10])
        XCTAssertLessThanOrEqual(store.byteCount, 3 * size)
        // A large event evicts as many of the oldest as it needs.
        let large = event("com.big", id: 20, args: "[\"" + String(repeating: "x", count: size + 100) + "\"]")
        XCTAssertLessThanOrEqual(large.chargedBytes, 3 * size)
        XCTAssertGreaterThan(large.chargedBytes, 2 * size)
        XCTAssertEqual(store.retain(large), .kept(evicted: 3))
        XCTAssertEqual(ids(store, "", .prefix), [20])
        XCTAssertEqual(store.byteCount, large.chargedBytes)
    }

    func testAnEventLargerThanTheLimitIsNotKeptAndClearsItsTopic() {
        let store = RetainedEvents(byteLimit: 400)
        _ = store.retain(event("com.a", id: 1))
        _ = store.retain(event("com.b", id: 2))
        XCTAssertEqual(store.retain(event("com.a", id: 3, args: "[\"" + String(repeating: "x", count: 400) + "\"]")), .tooLarge)
        XCTAssertEqual(ids(store, "", .prefix), [2], "the stale event of the topic is gone, the others stay")
    }

    func testManyTopicsStayWithinTheLimitAndTheQueueStaysCompact() {
        let store = RetainedEvents(byteLimit: 64 * 1024)
        for i in 0..<20_000 { _ = store.retain(event("com.t\(i % 3000).x", id: UInt64(i))) }
        XCTAssertLessThanOrEqual(store.byteCount, 64 * 1024)
        let kept = ids(store, "com.", .prefix)
        XCTAssertEqual(kept.count, store.topicCount)
        XCTAssertEqual(kept.min(), UInt64(20_000 - kept.count), "exactly the most recently retained topics are kept")
    }

    func testPatternLookupsAgreeWithMatchPolicy() {
        let store = RetainedEvents(byteLimit: 1 << 20)
        let topics = ["com", "com.a", "com.ab", "com.a.b", "com.a.b.c", "com.x.b", "org.a.b", "com.abc.b", "co"]
        for (i, topic) in topics.enumerated() { _ = store.retain(event(topic, id: UInt64(i))) }
        let patterns: [(String, MatchPolicy)] = [
            ("com.a", .exact), ("com.a.b", .exact), ("com.zz", .exact),
            ("com.a", .prefix), ("com.a.", .prefix), ("com", .prefix), ("c", .prefix), ("", .prefix), ("com.a.b.c.d", .prefix),
            ("com..b", .wildcard), ("..b", .wildcard), ("com.a.", .wildcard), ("com.", .wildcard), ("..", .wildcard),
            ("com.a.b", .wildcard),
        ]
        for (pattern, policy) in patterns {
            let expected = topics.enumerated()
                .filter { policy.matches(pattern: Array(pattern.utf8), uri: Array($0.element.utf8)) }.map { UInt64($0.offset) }
            XCTAssertEqual(ids(store, pattern, policy), expected.sorted(), "\(policy) \(pattern)")
        }
    }
}
