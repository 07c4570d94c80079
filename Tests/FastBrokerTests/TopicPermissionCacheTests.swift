// The per-loop cache of per-topic subscribe verdicts (Core/TopicPermissionCache.swift): keyed by
// role and topic bytes, and bounded in entries and stored bytes whatever topics arrive.

@testable import FastBroker
import XCTest

final class TopicPermissionCacheTests: XCTestCase {
    private func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = text
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    func testVerdictsAreKeyedByRoleAndTopicBytes() {
        var cache = TopicPermissionCache()
        withBytes("com.x.a") { cache.record(true, role: 0, topic: $0) }
        withBytes("com.x.a") { cache.record(false, role: 1, topic: $0) }
        XCTAssertEqual(withBytes("com.x.a") { cache.verdict(role: 0, topic: $0) }, true)
        XCTAssertEqual(withBytes("com.x.a") { cache.verdict(role: 1, topic: $0) }, false)
        XCTAssertNil(withBytes("com.x.b") { cache.verdict(role: 0, topic: $0) })
        // Bytes, not Unicode canonical equivalence.
        withBytes("caf\u{E9}") { cache.record(true, role: 0, topic: $0) }
        XCTAssertNil(withBytes("cafe\u{301}") { cache.verdict(role: 0, topic: $0) })
    }

    func testBoundedInEntriesAndBytes() {
        var cache = TopicPermissionCache()
        for i in 0..<(3 * TopicPermissionCache.maxEntries) {
            withBytes("com.x.\(i)") { cache.record(i % 2 == 0, role: 0, topic: $0) }
            XCTAssertLessThanOrEqual(cache.count, TopicPermissionCache.maxEntries)
        }
        let long = String(repeating: "a", count: 40_000)
        for i in 0..<40 {
            withBytes("\(i).\(long)") { cache.record(true, role: 0, topic: $0) }
            XCTAssertLessThanOrEqual(cache.bytes, TopicPermissionCache.maxStoredBytes)
        }
        // A topic larger than the whole budget is not kept at all.
        let huge = String(repeating: "b", count: TopicPermissionCache.maxStoredBytes + 1)
        withBytes(huge) { cache.record(true, role: 0, topic: $0) }
        XCTAssertNil(withBytes(huge) { cache.verdict(role: 0, topic: $0) })
        XCTAssertLessThanOrEqual(cache.bytes, TopicPermissionCache.maxStoredBytes)
    }
}
