// Finds everything subscribed to a topic, fast, for exact, prefix and wildcard patterns — the
// subscription index, after NATS's sublist.go:
//
//   exact     hash map: topic bytes → entries
//   prefix    PrefixTrie, a radix tree over bytes (WAMP prefix matching is by string prefix,
//             not by component): walking the topic collects every prefix pattern it passes
//   wildcard  WildcardTrie, a component trie with a "wildcard" child per node (an empty pattern
//             component matches any one component)
//   cache     topic → all matching entries, bounded (`cacheLimit`, swept down to `cacheSweep`
//             when full). A subscribe appends to the cached results its pattern matches instead
//             of flushing the cache, so churn does not cost hot topics their entry; an
//             unsubscribe drops just those results (removing from each in place would cost their
//             length each: cacheLimit × subscribers for one UNSUBSCRIBE). Either checks every
//             cached topic, so it costs at most cacheLimit pattern matches.
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
    private var cache: [TopicKey: [Entry]] = [:]
    public let cacheLimit: Int
    public let cacheSweep: Int
    public private(set) var count = 0

    /// `cacheLimit` 0 turns the match cache off.
    public init(cacheLimit: Int = 1024, cacheSweep: Int = 256) {
        self.cacheLimit = cacheLimit
        self.cacheSweep = cacheSweep
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
        for topic in cachedKeys(matching: pattern, policy: policy) { cache[topic]!.append(entry) }
    }

    public func remove(_ entry: Entry, pattern: UnsafeRawBufferPointer, policy: MatchPolicy) {
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
        for topic in cachedKeys(matching: pattern, policy: policy) { cache[topic] = nil }
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
        let key = TopicKey(borrowing: topic)
        if patternCount == 0 {
            if let entries = exact[key] { Self.each(entries, body) }
            return
        }
        if let entries = cache[key] {
            Self.each(entries, body)
            return
        }
        let entries = collect(topic)
        if cacheLimit > 0 {
            if cache.count >= cacheLimit { sweepCache() }
            cache[TopicKey(copying: topic)] = entries
        }
        Self.each(entries, body)
    }

    /// All entries matching `topic`, walking the structures (no cache).
    public func matches(_ topic: UnsafeRawBufferPointer) -> [Entry] {
        collect(topic)
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

    private func sweepCache() {
        // Like NATS: drop entries until only `cacheSweep` remain (dictionary order is arbitrary,
        // which is as good as random here).
        var toDrop = cache.count - cacheSweep
        for key in cache.keys {
            if toDrop <= 0 { break }
            cache[key] = nil
            toDrop -= 1
        }
    }

    public var cachedTopics: Int { cache.count }
}
