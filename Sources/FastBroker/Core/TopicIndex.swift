// Finds everything subscribed to a topic, fast, for exact, prefix and wildcard patterns — the
// subscription index, after NATS's sublist.go:
//
//   exact     hash map: topic bytes → entries
//   prefix    PrefixTrie, a radix tree over bytes (WAMP prefix matching is by string prefix,
//             not by component): walking the topic collects every prefix pattern it passes
//   wildcard  WildcardTrie, a component trie with a "wildcard" child per node (an empty pattern
//             component matches any one component)
//   cache     topic → all matching entries, bounded in entries (`cacheLimit`) and in bytes
//             (`cacheByteLimit`, counting each topic's bytes, its result array and a fixed
//             overhead; default 512 KiB per router: ~1,000 hot topics of typical length with
//             their matches, or ~400 of limits.max_uri_bytes), swept down to `cacheSweep`
//             entries and a quarter of the bytes when full. Entries idle between two calls of
//             `sweepIdle` (a per-loop timer, LoopContext) are dropped, so the cache does not pin
//             topics after their publications stop; a hit pays one store for this. A subscribe
//             appends to the cached results its pattern matches instead of flushing the cache,
//             so churn does not cost hot topics their entry; an unsubscribe drops just those
//             results (removing from each in place would cost their length each: cacheLimit ×
//             subscribers for one UNSUBSCRIBE). A pattern checks every cached topic (at most
//             cacheLimit pattern matches); an exact topic touches only its own cached entry, so
//             tearing down a session's 10,000 exact subscriptions costs no cache scans.
//
// Patterns and topics are compared as bytes, never as Swift Strings (canonically equivalent
// URIs are different URIs). No walk recurses on input size (issue 9): the tries use loops and
// explicit stacks, and tear themselves down iteratively.
//
// Without pattern subscriptions a lookup is one hash probe on the exact map. With them, a cache
// hit is one hash probe; a miss walks both tries once and caches the result. Lookups borrow the
// topic's bytes and allocate nothing on a hit. Owned by one thread (the router's loop).

import BrokerConfig

public final class TopicIndex<Entry: AnyObject> {
    private var exact: [TopicKey: [Entry]] = [:]
    private let prefixes = PrefixTrie<Entry>()
    private let wildcards = WildcardTrie<Entry>()
    private var patternCount = 0
    /// One cached result; a class so a hit can mark it used without a second hash lookup.
    private final class CachedMatches {
        var entries: [Entry]
        var lastUsed: UInt32
        init(_ entries: [Entry], lastUsed: UInt32) { self.entries = entries; self.lastUsed = lastUsed }
    }
    private var cache: [TopicKey: CachedMatches] = [:]
    /// Bytes the cache accounts for (see `cost`), mirrored in `cacheGauge`.
    public private(set) var cacheBytes = 0 {
        didSet { cacheGauge?.increment(by: cacheBytes - oldValue) }
    }
    /// The owning loop's `fastbroker_loop_cache_bytes` gauge (LoopMetrics.cacheBytes), if any.
    var cacheGauge: Counter?
    /// Advanced by each `sweepIdle`; entries not used since the previous sweep are idle.
    private var epoch: UInt32 = 0
    public let cacheLimit: Int
    public let cacheSweep: Int
    public let cacheByteLimit: Int
    public private(set) var count = 0
    #if DEBUG
    /// Inserts and removes so far: delivery checks none happens while it holds entries unretained.
    private var changes = 0
    #endif

    /// `cacheLimit` 0 turns the match cache off.
    public init(cacheLimit: Int = 1024, cacheSweep: Int = 256, cacheByteLimit: Int = 512 * 1024) {
        self.cacheLimit = cacheLimit
        self.cacheSweep = cacheSweep
        self.cacheByteLimit = cacheByteLimit
    }

    /// What one cached topic costs: its bytes, the result array, and the key, box and slot.
    private static func cost(topicBytes: Int, matches: Int) -> Int {
        topicBytes + matches * MemoryLayout<Entry>.stride + 96
    }

    // MARK: - Updates

    public func insert(_ entry: Entry, pattern: String, policy: MatchPolicy) {
        var text = pattern
        text.withUTF8 { insert(entry, pattern: UnsafeRawBufferPointer($0), policy: policy) }
    }

    public func remove(_ entry: Entry, pattern: String, policy: MatchPolicy) {
        var text = pattern
        text.withUTF8 { remove(entry, pattern: UnsafeRawBufferPointer($0), policy: policy) }
    }

    /// Adds `entry` under `pattern` (UTF-8 bytes, copied).
    public func insert(_ entry: Entry, pattern: UnsafeRawBufferPointer, policy: MatchPolicy) {
        count += 1
        #if DEBUG
        changes += 1
        #endif
        switch policy {
        case .exact:
            exact[TopicKey(copying: pattern), default: []].append(entry)
        case .prefix:
            prefixes.insert(entry, pattern)
            patternCount += 1
        case .wildcard:
            wildcards.insert(entry, pattern)
            patternCount += 1
        }
        // Keep cached results exact: add the entry to every cached topic it matches.
        if policy == .exact {
            if let cached = cache[TopicKey(borrowing: pattern)] { cached.entries.append(entry); cacheBytes += MemoryLayout<Entry>.stride }
        } else {
            for topic in cachedKeys(matching: pattern, policy: policy) {
                cache[topic]!.entries.append(entry)
                cacheBytes += MemoryLayout<Entry>.stride
            }
        }
    }

    public func remove(_ entry: Entry, pattern: UnsafeRawBufferPointer, policy: MatchPolicy) {
        #if DEBUG
        changes += 1
        #endif
        let found: Bool
        switch policy {
        case .exact:
            let key = TopicKey(borrowing: pattern)
            if var list = exact[key], let i = list.firstIndex(where: { $0 === entry }) {
                list.remove(at: i)
                exact[key] = list.isEmpty ? nil : list
                found = true
            } else {
                found = false
            }
        case .prefix:
            found = prefixes.remove(entry, pattern)
        case .wildcard:
            found = wildcards.remove(entry, pattern)
        }
        guard found else { return }
        // The next lookup of each recomputes it, at the cost of one lookup that misses.
        if policy == .exact {
            uncache(TopicKey(borrowing: pattern))
        } else {
            for topic in cachedKeys(matching: pattern, policy: policy) { uncache(topic) }
        }
        count -= 1
        if policy != .exact { patternCount -= 1 }
    }

    private func cachedKeys(matching pattern: UnsafeRawBufferPointer, policy: MatchPolicy) -> [TopicKey] {
        cache.keys.filter { URIPattern.matches(pattern: pattern, policy: policy, uri: $0.bytes) }
    }

    // MARK: - Lookup

    /// Calls `body` for every entry whose pattern matches `topic` (UTF-8 bytes). No allocation
    /// when there are no pattern subscriptions or the topic is cached.
    @inline(__always)
    public func forEachMatch(_ topic: UnsafeRawBufferPointer, _ body: (Entry) -> Void) {
        forEachMatch(topic, hash: TopicHash.value(topic), body)
    }

    /// The same for a topic already hashed (`hash` is TopicHash.value(topic), e.g. a
    /// publication's `knownTopicHash`).
    @inline(__always)
    public func forEachMatch(_ topic: UnsafeRawBufferPointer, hash: UInt64, _ body: (Entry) -> Void) {
        let key = TopicKey(borrowing: topic, hash: hash)
        if patternCount == 0 {
            // In place, and the array not retained around the calls: `each` relies on the index
            // not changing while it delivers (checked in debug builds), which also keeps this
            // array's storage where it is.
            if let i = exact.index(forKey: key) {
                let entries = exact.values[i].withUnsafeBufferPointer { $0 }
                each(entries, body)
            }
            return
        }
        if let cached = cache[key] {
            cached.lastUsed = epoch
            Self.each(cached.entries, body)
            return
        }
        let entries = collect(topic)
        if cacheLimit > 0 {
            let cost = Self.cost(topicBytes: topic.count, matches: entries.count)
            if cache.count >= cacheLimit || cacheBytes + cost > cacheByteLimit { sweepCache() }
            if cost <= cacheByteLimit / 4 {   // a result too big to share the budget is not kept
                cache[TopicKey(copying: topic)] = CachedMatches(entries, lastUsed: epoch)
                cacheBytes += cost
            }
        }
        Self.each(entries, body)
    }

    /// All entries matching `topic`, walking the structures (no cache).
    public func matches(_ topic: UnsafeRawBufferPointer) -> [Entry] {
        collect(topic)
    }

    /// Calls `body` with each entry without retaining it: delivery never changes the index
    /// (subscribe and unsubscribe run outside a publish), so `entries` holds every entry until
    /// the loop ends. Debug builds check the index is unchanged after each call.
    @inline(__always)
    private func each(_ entries: UnsafeBufferPointer<Entry>, _ body: (Entry) -> Void) {
        let unretained = UnsafeRawPointer(entries.baseAddress)?.assumingMemoryBound(to: Unmanaged<Entry>.self)
        var i = 0
        while i < entries.count {
            #if DEBUG
            let changesBefore = changes
            #endif
            unretained.unsafelyUnwrapped[i]._withUnsafeGuaranteedRef(body)
            #if DEBUG
            precondition(changes == changesBefore, "the topic index changed while its matches were delivered")
            #endif
            i += 1
        }
    }

    @inline(__always)
    private static func each(_ entries: [Entry], _ body: (Entry) -> Void) {
        // Index loop, not for-in: an unspecialized (debug) IndexingIterator allocates.
        var i = 0
        while i < entries.count { body(entries[i]); i += 1 }
    }

    private func collect(_ topic: UnsafeRawBufferPointer) -> [Entry] {
        var result: [Entry] = exact[TopicKey(borrowing: topic)] ?? []
        prefixes.collect(topic, into: &result)
        wildcards.collect(topic, into: &result)
        return result
    }

    private func uncache(_ key: TopicKey) {
        guard let cached = cache.removeValue(forKey: key) else { return }
        cacheBytes -= Self.cost(topicBytes: key.bytes.count, matches: cached.entries.count)
    }

    private func sweepCache() {
        // Like NATS: drop entries until only `cacheSweep` remain and they use at most a quarter
        // of the byte budget (dictionary order is arbitrary, which is as good as random here).
        let victims = Array(cache.keys)
        for key in victims {
            if cache.count <= cacheSweep && cacheBytes <= cacheByteLimit / 4 { break }
            uncache(key)
        }
    }

    /// Drops every cached topic not looked up since the previous call (cheap: at most
    /// cacheLimit entries, and called every few seconds, not per publication).
    public func sweepIdle() {
        if !cache.isEmpty {
            let idle = cache.compactMap { $0.value.lastUsed == epoch ? nil : $0.key }
            for key in idle { uncache(key) }
            if cache.isEmpty { cache = [:] }   // give the table's storage back too
        }
        epoch &+= 1
    }

    public var cachedTopics: Int { cache.count }
}
