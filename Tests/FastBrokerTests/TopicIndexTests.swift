// The subscription index against a brute-force reference (URIPattern.matches over every
// pattern), with the match cache on and off (as NATS tests its sublist), through random
// subscribe/unsubscribe churn.

@testable import FastBroker
import BrokerConfig
import CJemalloc
import TestSupport
import XCTest

private final class Sub {
    let pattern: String
    let policy: MatchPolicy
    init(_ pattern: String, _ policy: MatchPolicy) { self.pattern = pattern; self.policy = policy }
}

final class TopicIndexTests: XCTestCase {
    func testMatchesAgreeWithBruteForceWithCache() { runRandomized(cacheLimit: 64, seed: 1) }
    func testMatchesAgreeWithBruteForceWithoutCache() { runRandomized(cacheLimit: 0, seed: 2) }
    func testMatchesAgreeWithBruteForceWithTinyCacheSweeping() { runRandomized(cacheLimit: 4, seed: 3) }
    /// Long topics from few words: long shared edges that split and merge (path compression).
    func testMatchesAgreeWithBruteForceOnLongTopics() {
        runRandomized(cacheLimit: 16, seed: 4, words: ["a", "b", "ab"], components: 1...9)
        runRandomized(cacheLimit: 0, seed: 5, words: ["a", "b"], components: 3...12)
    }

    func testKnownCases() {
        let index = TopicIndex<Sub>()
        let a = Sub("com.app.event", .exact), b = Sub("com.app", .prefix), c = Sub("com..event", .wildcard)
        let d = Sub("com.app.", .prefix), e = Sub("", .prefix), f = Sub("..", .wildcard)
        for s in [a, b, c, d, e, f] { index.insert(s, pattern: s.pattern, policy: s.policy) }
        func names(_ topic: String) -> Set<String> {
            var t = topic
            var out = Set<String>()
            t.withUTF8 { index.forEachMatch(UnsafeRawBufferPointer($0)) { out.insert("\($0.policy.rawValue):\($0.pattern)") } }
            return out
        }
        XCTAssertEqual(names("com.app.event"), ["exact:com.app.event", "prefix:com.app", "wildcard:com..event", "prefix:com.app.", "prefix:", "wildcard:.."])
        XCTAssertEqual(names("com.apple"), ["prefix:com.app", "prefix:"], "WAMP prefix matching is by string prefix")
        XCTAssertEqual(names("com.x.event"), ["wildcard:com..event", "prefix:", "wildcard:.."])
        XCTAssertEqual(names("com.x.y.event"), ["prefix:"], "a wildcard stands for exactly one component")
        index.remove(c, pattern: c.pattern, policy: c.policy)
        XCTAssertEqual(names("com.x.event"), ["prefix:", "wildcard:.."], "removal updates the cached result")
        XCTAssertEqual(index.count, 5)
    }

    // MARK: - Input size never recurses (issue 9)

    /// Far beyond any stack: each recursion level per byte or component would overflow it. The
    /// session's limits.max_uri_bytes stops such URIs earlier; the index must cope regardless.
    private static let huge = 300_000

    func testHugePrefixPatternInsertMatchRemove() {
        let index = TopicIndex<Sub>()
        let pattern = String(repeating: "a", count: Self.huge)
        let long = Sub(pattern, .prefix), short = Sub("aa", .prefix)
        index.insert(long, pattern: pattern, policy: .prefix)
        index.insert(short, pattern: short.pattern, policy: .prefix)
        XCTAssertEqual(Self.names(index, pattern + ".x"), ["prefix:aa", "prefix:" + pattern])
        XCTAssertEqual(Self.names(index, String(pattern.dropLast())), ["prefix:aa"], "a topic shorter than the pattern")
        XCTAssertEqual(Self.names(index, String(pattern.dropLast()) + "b"), ["prefix:aa"], "a topic differing in the last byte")
        index.remove(long, pattern: pattern, policy: .prefix)
        XCTAssertEqual(index.count, 1)
        XCTAssertEqual(Self.names(index, pattern), ["prefix:aa"])
        index.remove(short, pattern: short.pattern, policy: .prefix)
        XCTAssertEqual(index.count, 0)
        XCTAssertEqual(Self.names(index, pattern), [])
    }

    func testHugeWildcardPatternAndTopicInsertMatchRemove() {
        let index = TopicIndex<Sub>(cacheLimit: 0)
        let pattern = String(repeating: ".", count: Self.huge - 1)   // 300,000 empty components
        let topic = String(repeating: "x.", count: Self.huge - 1) + "x"
        let wildcard = Sub(pattern, .wildcard)
        index.insert(wildcard, pattern: pattern, policy: .wildcard)
        XCTAssertEqual(Self.names(index, topic).count, 1, "a topic of as many components matches")
        XCTAssertEqual(Self.names(index, topic + ".x"), [], "one component more does not")
        index.remove(wildcard, pattern: pattern, policy: .wildcard)
        XCTAssertEqual(index.count, 0)
        XCTAssertEqual(Self.names(index, topic), [])
    }

    func testIndexHoldingHugePatternsIsReleasedWithoutRecursion() {
        do {
            let index = TopicIndex<Sub>()
            index.insert(Sub("", .wildcard), pattern: String(repeating: ".", count: Self.huge - 1), policy: .wildcard)
            index.insert(Sub("", .wildcard), pattern: String(repeating: "y.", count: Self.huge - 1), policy: .wildcard)
            index.insert(Sub("", .prefix), pattern: String(repeating: "z", count: Self.huge), policy: .prefix)
            // Nested prefixes: a chain of radix nodes one byte apart.
            for length in 1...1000 {
                index.insert(Sub("", .prefix), pattern: String(repeating: "w", count: length), policy: .prefix)
            }
            XCTAssertEqual(index.count, 1003)
        }   // the index is released here
    }

    /// A prefix subscription costs about its own bytes: one radix node, not a node and a
    /// dictionary per byte (the old byte trie took over 100 bytes per pattern byte).
    func testPrefixPatternMemoryIsAboutItsLength() throws {
        let live = try XCTUnwrap(LiveBytes(), "jemalloc counters are needed to measure")
        var rng = SplitMix64(seed: 9)
        let count = 1000, length = 1000
        let patterns: [[UInt8]] = (0..<count).map { _ in
            Array("com.example.".utf8) + (0..<(length - 12)).map { _ in UInt8.random(in: 97...122, using: &rng) }
        }
        let subs = patterns.map { _ in Sub("", .prefix) }
        let index = TopicIndex<Sub>()
        let before = live.bytes
        for (sub, pattern) in zip(subs, patterns) {
            pattern.withUnsafeBytes { index.insert(sub, pattern: $0, policy: .prefix) }
        }
        let perPattern = Double(live.bytes - before) / Double(count)
        print("prefix subscription of \(length) bytes: \(Int(perPattern)) bytes held by the index")
        XCTAssertLessThan(perPattern, Double(2 * length), "bytes allocated per \(length)-byte prefix pattern")
        for (sub, pattern) in zip(subs, patterns) {
            pattern.withUnsafeBytes { index.remove(sub, pattern: $0, policy: .prefix) }
        }
        XCTAssertEqual(index.count, 0)
    }

    /// Likewise a wildcard pattern: path compression keeps it near its own bytes (a node and a
    /// dictionary per component took about 150 bytes per component, 40 KB for this pattern).
    func testWildcardPatternMemoryIsAboutItsLength() throws {
        let live = try XCTUnwrap(LiveBytes(), "jemalloc counters are needed to measure")
        var rng = SplitMix64(seed: 10)
        let count = 200, components = 256   // each component one random letter, or empty (a wildcard)
        let patterns: [[UInt8]] = (0..<count).map { _ in
            let parts = (0..<components).map { _ in Bool.random(using: &rng) ? "" : String(UInt8.random(in: 97...122, using: &rng)) }
            return Array(parts.joined(separator: ".").utf8)
        }
        let subs = patterns.map { _ in Sub("", .wildcard) }
        let index = TopicIndex<Sub>()
        let before = live.bytes
        for (sub, pattern) in zip(subs, patterns) {
            pattern.withUnsafeBytes { index.insert(sub, pattern: $0, policy: .wildcard) }
        }
        let perPattern = Double(live.bytes - before) / Double(count)
        print("wildcard subscription of \(patterns[0].count) bytes: \(Int(perPattern)) bytes held by the index")
        XCTAssertLessThan(perPattern, Double(3 * patterns[0].count), "bytes held per wildcard pattern of 256 components")
        for (sub, pattern) in zip(subs, patterns) {
            pattern.withUnsafeBytes { index.remove(sub, pattern: $0, policy: .wildcard) }
        }
        XCTAssertEqual(index.count, 0)
    }

    // MARK: - URIs compare as bytes (issue 9, item 6)

    private static let nfc = "com.example.caf\u{E9}"
    private static let nfd = "com.example.cafe\u{301}"

    func testCanonicallyEquivalentTopicsAreDifferentSubscriptionKeys() {
        XCTAssertEqual(Self.nfc, Self.nfd, "premise: Swift Strings compare canonically")
        let nfcKey = SubscriptionKey(topic: TopicKey(owning: Self.nfc), match: .exact)
        let nfdKey = SubscriptionKey(topic: TopicKey(owning: Self.nfd), match: .exact)
        XCTAssertNotEqual(nfcKey, nfdKey)
        XCTAssertEqual(Set([nfcKey, nfdKey, SubscriptionKey(topic: TopicKey(owning: Self.nfc), match: .exact)]).count, 2)
        XCTAssertNotEqual(
            SubscriptionKey(topic: TopicKey(owning: "t"), match: .exact, filterFingerprint: BytewiseString("EQ s, \"caf\u{E9}\"")),
            SubscriptionKey(topic: TopicKey(owning: "t"), match: .exact, filterFingerprint: BytewiseString("EQ s, \"cafe\u{301}\"")),
            "filter constants compare as bytes")
        XCTAssertNotEqual(
            SubscriptionKey(topic: TopicKey(owning: "t"), match: .exact, groupType: .shared, group: BytewiseString("caf\u{E9}")),
            SubscriptionKey(topic: TopicKey(owning: "t"), match: .exact, groupType: .shared, group: BytewiseString("cafe\u{301}")),
            "group names compare as bytes")

        let registry = SubscriptionRegistry()
        XCTAssertNotEqual(registry.acquire(nfcKey), registry.acquire(nfdKey), "different subscription ids")
        XCTAssertEqual(registry.acquire(SubscriptionKey(topic: TopicKey(owning: Self.nfc), match: .exact)), registry.acquire(nfcKey))
    }

    func testCanonicallyEquivalentGroupsAreDifferentGroups() {
        let a = GroupKey(topic: TopicKey(owning: Self.nfc), match: .exact, group: BytewiseString("g"))
        let b = GroupKey(topic: TopicKey(owning: Self.nfd), match: .exact, group: BytewiseString("g"))
        let c = GroupKey(topic: TopicKey(owning: "t"), match: .exact, group: BytewiseString("caf\u{E9}"))
        let d = GroupKey(topic: TopicKey(owning: "t"), match: .exact, group: BytewiseString("cafe\u{301}"))
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(c, d)
        XCTAssertEqual(a, GroupKey(topic: TopicKey(owning: Self.nfc), match: .exact, group: BytewiseString("g")))
        XCTAssertEqual(a.homeLoop(loopCount: 7), GroupKey(topic: TopicKey(owning: Self.nfc), match: .exact, group: BytewiseString("g")).homeLoop(loopCount: 7))
    }

    func testCanonicallyEquivalentTopicsMatchOnlyTheirOwnSubscriptions() {
        let index = TopicIndex<Sub>()
        let subs = [Sub(Self.nfc, .exact), Sub(Self.nfd, .exact), Sub("com..caf\u{E9}", .wildcard), Sub("com.example.cafe\u{301}", .prefix)]
        for s in subs { index.insert(s, pattern: s.pattern, policy: s.policy) }
        // By identity: Strings (and Sets of them) would not tell the two spellings apart.
        func matched(_ topic: String) -> Set<ObjectIdentifier> {
            var t = topic
            var out = Set<ObjectIdentifier>()
            t.withUTF8 { index.forEachMatch(UnsafeRawBufferPointer($0)) { out.insert(ObjectIdentifier($0)) } }
            return out
        }
        XCTAssertEqual(matched(Self.nfc), [ObjectIdentifier(subs[0]), ObjectIdentifier(subs[2])])
        XCTAssertEqual(matched(Self.nfd), [ObjectIdentifier(subs[1]), ObjectIdentifier(subs[3])])
    }

    /// Names ("policy:pattern") of the entries matching `topic`.
    private static func names(_ index: TopicIndex<Sub>, _ topic: String) -> Set<String> {
        var t = topic
        var out = Set<String>()
        t.withUTF8 { index.forEachMatch(UnsafeRawBufferPointer($0)) { out.insert("\($0.policy.rawValue):\($0.pattern)") } }
        return out
    }

    private func runRandomized(cacheLimit: Int, seed: UInt64, words: [String] = ["a", "b", "c", "ab", "com", "x"],
                               components: ClosedRange<Int> = 1...4) {
        var rng = SplitMix64(seed: seed)
        func randomTopic() -> String {
            (0..<Int.random(in: components, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: ".")
        }
        func randomPattern() -> (String, MatchPolicy) {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: return (randomTopic(), .exact)
            case 1:
                let t = randomTopic()
                return (String(t.prefix(Int.random(in: 0...t.count, using: &rng))), .prefix)
            default:
                let parts = randomTopic().split(separator: ".").map { Bool.random(using: &rng) ? "" : String($0) }
                return (parts.joined(separator: "."), .wildcard)
            }
        }
        let index = TopicIndex<Sub>(cacheLimit: cacheLimit, cacheSweep: cacheLimit / 4)
        var live: [Sub] = []
        let topics = (0..<40).map { _ in randomTopic() }
        for round in 0..<400 {
            if live.isEmpty || Int.random(in: 0..<3, using: &rng) > 0 {
                let (p, policy) = randomPattern()
                let s = Sub(p, policy)
                index.insert(s, pattern: p, policy: policy)
                live.append(s)
            } else {
                let s = live.remove(at: Int.random(in: 0..<live.count, using: &rng))
                index.remove(s, pattern: s.pattern, policy: s.policy)
            }
            for topic in topics.shuffled(using: &rng).prefix(10) {
                var t = topic
                var got: [ObjectIdentifier] = []
                t.withUTF8 { index.forEachMatch(UnsafeRawBufferPointer($0)) { got.append(ObjectIdentifier($0)) } }
                let expected = live.filter { s in
                    var p = s.pattern
                    return p.withUTF8 { pp in t.withUTF8 { tt in
                        URIPattern.matches(pattern: UnsafeRawBufferPointer(pp), policy: s.policy, uri: UnsafeRawBufferPointer(tt)) } }
                }.map { ObjectIdentifier($0) }
                XCTAssertEqual(Set(got), Set(expected), "round \(round), topic \(topic)")
                XCTAssertEqual(got.count, expected.count, "each matching subscription exactly once (round \(round), topic \(topic))")
            }
        }
        XCTAssertEqual(index.count, live.count)
        if cacheLimit > 0 { XCTAssertLessThanOrEqual(index.cachedTopics, cacheLimit) }
    }
}

/// Bytes this thread holds from jemalloc (allocated minus freed, its per-thread counters).
private struct LiveBytes {
    let allocated: UnsafePointer<UInt64>
    let deallocated: UnsafePointer<UInt64>

    init?() {
        func counter(_ name: String) -> UnsafePointer<UInt64>? {
            var pointer: UnsafeMutablePointer<UInt64>? = nil
            var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
            guard mallctl(name, &pointer, &size, nil, 0) == 0, let pointer else { return nil }
            return UnsafePointer(pointer)
        }
        guard let allocated = counter("thread.allocatedp"), let deallocated = counter("thread.deallocatedp") else { return nil }
        self.allocated = allocated
        self.deallocated = deallocated
    }

    var bytes: Int64 { Int64(bitPattern: allocated.pointee &- deallocated.pointee) }
}
