// Memoized permission verdicts by (role, topic bytes), so a hit costs one hash lookup on the
// message's own bytes and allocates nothing. Used per router (a realm on one loop) for the
// per-delivery subscribe checks of subscribers whose pattern is only partly permitted for their
// role (PatternVerdict.perTopic, see Config/PatternPermission.swift), and per session for its
// publish checks (Session.publish). Owned by its owner's loop thread.
//
// Bounded in entries and in bytes: each entry costs its topic's bytes plus `entryOverhead` (key,
// topic storage and table slot), and the cache is simply emptied when a verdict would exceed
// either bound (a miss only costs a rule scan, so churn from many distinct topics stays cheap).
// The defaults (4,096 entries, 256 KiB) are the router's; a session passes smaller ones and
// releases its cache when it closes; a router's cache is released after a sweep period in
// which it was not used (`sweepIfIdle`, LoopContext's cache-sweep timer).

struct TopicPermissionCache {
    private struct Key: Hashable {
        let role: Int
        let topic: TopicKey

        /// TopicHash with the role folded into the seed (no Hasher per lookup, see TopicKey).
        func _rawHashValue(seed: Int) -> Int {
            topic._rawHashValue(seed: seed ^ (role &* 0x2545_F491))
        }
    }
    private var verdicts: [Key: Bool] = [:]
    private var storedBytes = 0 {
        didSet { gauge?.increment(by: storedBytes - oldValue) }
    }
    /// The owning loop's `fastbroker_loop_cache_bytes` gauge (LoopMetrics.cacheBytes), if any.
    var gauge: Counter?
    /// Whether the cache was consulted since the last `sweepIfIdle`.
    private var used = false
    static let maxEntries = 4096
    static let maxStoredBytes = 256 * 1024
    static let entryOverhead = 96
    let entryLimit: Int
    let byteLimit: Int

    init(entryLimit: Int = Self.maxEntries, byteLimit: Int = Self.maxStoredBytes) {
        self.entryLimit = entryLimit
        self.byteLimit = byteLimit
    }

    /// The remembered verdict for role `role` on `topic`, if any (no allocation).
    mutating func verdict(role: Int, topic: UnsafeRawBufferPointer) -> Bool? {
        verdict(role: role, topic: topic, hash: TopicHash.value(topic))
    }

    /// The same for a topic the caller has already hashed (`hash` is TopicHash.value(topic)).
    @inline(__always)
    mutating func verdict(role: Int, topic: UnsafeRawBufferPointer, hash: UInt64) -> Bool? {
        used = true
        return verdicts[Key(role: role, topic: TopicKey(borrowing: topic, hash: hash))]
    }

    /// Remembers a verdict, emptying the cache first when it would exceed its bounds.
    mutating func record(_ allowed: Bool, role: Int, topic: UnsafeRawBufferPointer) {
        let cost = topic.count + Self.entryOverhead
        guard cost <= byteLimit else { return }
        if verdicts.count >= entryLimit || storedBytes + cost > byteLimit {
            verdicts.removeAll(keepingCapacity: true)
            storedBytes = 0
        }
        verdicts[Key(role: role, topic: TopicKey(copying: topic))] = allowed
        storedBytes += cost
    }

    /// Forgets everything and gives the table's storage back (the owner is going away).
    mutating func release() {
        verdicts = [:]
        storedBytes = 0
    }

    /// Releases everything if nothing looked a verdict up since the previous call.
    mutating func sweepIfIdle() {
        if !used && !verdicts.isEmpty { release() }
        used = false
    }

    var count: Int { verdicts.count }
    /// Bytes accounted for: topic bytes plus `entryOverhead` per entry.
    var bytes: Int { storedBytes }
}
