// Topic-keyed caches are bounded in bytes and let go of what is idle (issue 10 item 4): the
// subscription index's match cache (byte budget, idle sweep, exact updates touching only their
// own entry) and the permission cache with a session's small budget.

@testable import FastBroker
import BrokerConfig
import XCTest

private final class Entry {
    let name: String
    init(_ name: String) { self.name = name }
}

final class CacheBoundsTests: XCTestCase {
    private func names(_ index: TopicIndex<Entry>, _ topic: String) -> [String] {
        var text = topic
        var found: [String] = []
        text.withUTF8 { index.forEachMatch(UnsafeRawBufferPointer($0)) { found.append($0.name) } }
        return found.sorted()
    }

    func testMatchCacheStaysWithinItsByteBudgetForLongDistinctTopics() {
        let budget = 64 * 1024
        let index = TopicIndex<Entry>(cacheLimit: 1024, cacheSweep: 256, cacheByteLimit: budget)
        index.insert(Entry("prefix"), pattern: "com.", policy: .prefix)
        let long = String(repeating: "x", count: 1000)
        for i in 0..<2000 {
            XCTAssertEqual(names(index, "com.\(i).\(long)"), ["prefix"])
            XCTAssertLessThanOrEqual(index.cacheBytes, budget)
        }
        XCTAssertGreaterThan(index.cachedTopics, 0, "long topics are still cached, within the budget")
        XCTAssertLessThan(index.cachedTopics, budget / 1000)
    }

    func testIdleEntriesAgeOutAndTheCacheEmpties() {
        let index = TopicIndex<Entry>()
        index.insert(Entry("wild"), pattern: "a..c", policy: .wildcard)
        XCTAssertEqual(names(index, "a.hot.c"), ["wild"])
        XCTAssertEqual(names(index, "a.cold.c"), ["wild"])
        XCTAssertEqual(index.cachedTopics, 2)
        index.sweepIdle()                        // both were used in this period: both stay
        XCTAssertEqual(index.cachedTopics, 2)
        XCTAssertEqual(names(index, "a.hot.c"), ["wild"])
        index.sweepIdle()                        // "cold" was not looked up since: it goes
        XCTAssertEqual(index.cachedTopics, 1)
        XCTAssertEqual(names(index, "a.cold.c"), ["wild"], "a swept topic is recomputed")
        index.sweepIdle()
        index.sweepIdle()                        // nothing used for a whole period: empty
        XCTAssertEqual(index.cachedTopics, 0)
        XCTAssertEqual(index.cacheBytes, 0, "the byte account returns to zero")
    }

    func testExactSubscribeAndUnsubscribeKeepCachedResultsExact() {
        let index = TopicIndex<Entry>()
        let exact = Entry("exact")
        index.insert(Entry("prefix"), pattern: "a.", policy: .prefix)
        XCTAssertEqual(names(index, "a.b"), ["prefix"])          // cached
        index.insert(exact, pattern: "a.b", policy: .exact)
        XCTAssertEqual(names(index, "a.b"), ["exact", "prefix"])
        XCTAssertEqual(names(index, "a.bb"), ["prefix"], "only the equal topic gets the exact entry")
        index.remove(exact, pattern: "a.b", policy: .exact)
        XCTAssertEqual(names(index, "a.b"), ["prefix"])
        XCTAssertEqual(names(index, "a.bb"), ["prefix"])
    }

    func testSessionSizedPermissionCacheIsBoundedInBytesAndReleased() {
        var cache = TopicPermissionCache(entryLimit: 128, byteLimit: 8 * 1024)
        let long = String(repeating: "t", count: 1000)
        for i in 0..<500 {
            var topic = "com.\(i).\(i % 3 == 0 ? long : "")"
            topic.withUTF8 { cache.record(true, role: 0, topic: UnsafeRawBufferPointer($0)) }
            XCTAssertLessThanOrEqual(cache.bytes, 8 * 1024)
            XCTAssertLessThanOrEqual(cache.count, 128)
        }
        var last = "com.499."
        XCTAssertEqual(last.withUTF8 { cache.verdict(role: 0, topic: UnsafeRawBufferPointer($0)) }, true)
        cache.release()
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(cache.bytes, 0)
    }

    func testCachesReportTheirBytesToTheLoopGauge() {
        let gauge = Counter()                    // fastbroker_loop_cache_bytes of one loop
        let index = TopicIndex<Entry>()
        index.cacheGauge = gauge
        var permissions = TopicPermissionCache(entryLimit: 4, byteLimit: 8 * 1024)
        permissions.gauge = gauge
        index.insert(Entry("prefix"), pattern: "a.", policy: .prefix)
        for i in 0..<10 {
            var topic = "a.\(i)"
            XCTAssertEqual(names(index, topic), ["prefix"])
            topic.withUTF8 { permissions.record(true, role: 0, topic: UnsafeRawBufferPointer($0)) }
            XCTAssertEqual(gauge.current, index.cacheBytes + permissions.bytes)
        }
        XCTAssertGreaterThan(gauge.current, 0)
        permissions.release()
        XCTAssertEqual(gauge.current, index.cacheBytes)
        index.sweepIdle()
        index.sweepIdle()
        XCTAssertEqual(gauge.current, 0, "what the caches let go of leaves the gauge")
    }

    func testRouterPermissionCacheIsReleasedAfterAnIdlePeriod() {
        var cache = TopicPermissionCache()
        var topic = "com.a"
        topic.withUTF8 { cache.record(true, role: 0, topic: UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(topic.withUTF8 { cache.verdict(role: 0, topic: UnsafeRawBufferPointer($0)) }, true)
        cache.sweepIfIdle()                      // used in this period: kept
        XCTAssertEqual(cache.count, 1)
        cache.sweepIfIdle()                      // idle for a whole period: released
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(cache.bytes, 0)
    }
}
