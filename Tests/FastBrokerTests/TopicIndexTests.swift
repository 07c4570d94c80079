// The subscription index against a brute-force reference (URIPattern.matches over every
// pattern), with the match cache on and off (as NATS tests its sublist), through random
// subscribe/unsubscribe churn.

@testable import FastBroker
import BrokerConfig
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

    private func runRandomized(cacheLimit: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let components = ["a", "b", "c", "ab", "com", "x"]
        func randomTopic() -> String {
            (0..<Int.random(in: 1...4, using: &rng)).map { _ in components.randomElement(using: &rng)! }.joined(separator: ".")
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

/// Deterministic RNG for reproducible randomized tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
