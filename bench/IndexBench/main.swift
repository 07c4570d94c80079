// index-bench: lookups per second in the subscription index (TopicIndex) holding 100,000
// subscriptions — mixed exact / prefix / wildcard — for hot topics (match-cache hits), cold
// topics (misses that walk the tries), and an exact-only index. Run it release:
//   swift run -c release index-bench [subscriptions]

import BrokerConfig
import FastBroker
import Foundation

final class Entry {}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let total = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
var rng = SystemRandomNumberGenerator()
let apps = (0..<100).map { "app\($0)" }
let kinds = (0..<50).map { "kind\($0)" }
func topic(_ i: Int) -> String { "com.\(apps[i % apps.count]).\(kinds[(i / apps.count) % kinds.count]).item\(i)" }

/// Builds an index of `total` subscriptions: 80 % exact, 10 % prefix, 10 % wildcard (or all exact).
func build(exactOnly: Bool, cacheLimit: Int = 1024) -> (TopicIndex<Entry>, Double) {
    let index = TopicIndex<Entry>(cacheLimit: cacheLimit, cacheSweep: cacheLimit / 4)
    let start = now()
    for i in 0..<total {
        switch exactOnly ? 0 : i % 10 {
        case 0..<8: index.insert(Entry(), pattern: topic(i), policy: .exact)
        case 8: index.insert(Entry(), pattern: "com.\(apps[i % apps.count]).kind\(i % 977)", policy: .prefix)
        default: index.insert(Entry(), pattern: "com..\(kinds[i % kinds.count]).item\(i % 5000)", policy: .wildcard)
        }
    }
    return (index, now() - start)
}

func measure(_ index: TopicIndex<Entry>, topics: [String], rounds: Int) -> (rate: Double, matches: Int) {
    var matched = 0
    let bytes = topics.map { Array($0.utf8) }
    // Warm once (fills the cache for hot topics).
    for b in bytes { b.withUnsafeBytes { index.forEachMatch($0) { _ in matched += 1 } } }
    matched = 0
    let start = now()
    for _ in 0..<rounds {
        for b in bytes { b.withUnsafeBytes { index.forEachMatch($0) { _ in matched += 1 } } }
    }
    let elapsed = now() - start
    return (Double(rounds * bytes.count) / elapsed, matched)
}

print("index-bench: \(total) subscriptions; machine: \(ProcessInfo.processInfo.activeProcessorCount) cores")
let (mixed, buildTime) = build(exactOnly: false)
print(String(format: "build (80%% exact, 10%% prefix, 10%% wildcard): %.0f inserts/s", Double(total) / buildTime))
let hot = (0..<200).map { topic($0 * 37) }
let r1 = measure(mixed, topics: hot, rounds: 5_000)
print(String(format: "mixed, 200 hot topics (cache hits):       %12.0f lookups/s  (%.1f matches/lookup)", r1.rate, Double(r1.matches) / Double(200 * 5_000)))
let cold = (0..<20_000).map { _ in topic(Int.random(in: 0..<10_000_000, using: &rng)) }
let (mixedNoCache, _) = build(exactOnly: false, cacheLimit: 0)
let r2 = measure(mixedNoCache, topics: cold, rounds: 10)
print(String(format: "mixed, 20000 cold topics (trie walks):    %12.0f lookups/s  (%.2f matches/lookup)", r2.rate, Double(r2.matches) / Double(20_000 * 10)))
let (exactOnly, _) = build(exactOnly: true)
let r3 = measure(exactOnly, topics: cold + hot, rounds: 10)
print(String(format: "exact only, random topics:               %12.0f lookups/s", r3.rate))
