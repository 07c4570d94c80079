// Finds everything subscribed to a topic, fast, for exact, prefix and wildcard patterns — the
// subscription index, after NATS's sublist.go:
//
//   exact     hash map: topic bytes → entries
//   prefix    byte trie (WAMP prefix matching is by string prefix, not by component): walking
//             the topic collects every prefix pattern it passes
//   wildcard  component trie with a "wildcard" child per node (an empty pattern component
//             matches any one component); entries sit at the node of their last component
//   cache     topic → all matching entries, bounded (`cacheLimit`, swept down to `cacheSweep`
//             when full). Subscribe/unsubscribe update the cached results that a pattern matches
//             instead of flushing the cache, so churn does not cost hot topics their entry.
//
// Without pattern subscriptions a lookup is one hash probe on the exact map. With them, a cache
// hit is one hash probe; a miss walks both tries once and caches the result. Lookups borrow the
// topic's bytes and allocate nothing on a hit. Owned by one thread (the router's loop).

import BrokerConfig

public final class TopicIndex<Entry: AnyObject> {
    private final class ByteNode {
        var children: [UInt8: ByteNode] = [:]
        var entries: [Entry] = []
        var isEmpty: Bool { children.isEmpty && entries.isEmpty }
    }

    private final class ComponentNode {
        var children: [TopicKey: ComponentNode] = [:]
        var wildcard: ComponentNode?
        var entries: [Entry] = []
        var isEmpty: Bool { children.isEmpty && wildcard == nil && entries.isEmpty }
    }

    private var exact: [TopicKey: [Entry]] = [:]
    private let prefixRoot = ByteNode()
    private let wildcardRoot = ComponentNode()
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
        count += 1
        var text = pattern
        text.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            switch policy {
            case .exact:
                exact[TopicKey(copying: bytes), default: []].append(entry)
            case .prefix:
                var node = prefixRoot
                for byte in bytes { node = node.children[byte] ?? { let n = ByteNode(); node.children[byte] = n; return n }() }
                node.entries.append(entry)
                patternCount += 1
            case .wildcard:
                var node = wildcardRoot
                forEachComponent(bytes) { component in
                    if component.isEmpty {
                        node = node.wildcard ?? { let n = ComponentNode(); node.wildcard = n; return n }()
                    } else {
                        let key = TopicKey(borrowing: component)
                        node = node.children[key] ?? { let n = ComponentNode(); node.children[TopicKey(copying: component)] = n; return n }()
                    }
                }
                node.entries.append(entry)
                patternCount += 1
            }
            // Keep cached results exact: add the entry to every cached topic it matches.
            updateCache(matching: bytes, policy: policy) { $0.append(entry) }
        }
    }

    public func remove(_ entry: Entry, pattern: String, policy: MatchPolicy) {
        var text = pattern
        let removed: Bool = text.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            var found = false
            switch policy {
            case .exact:
                let key = TopicKey(borrowing: bytes)
                if var list = exact[key], let i = list.firstIndex(where: { $0 === entry }) {
                    list.remove(at: i)
                    exact[key] = list.isEmpty ? nil : list
                    found = true
                }
            case .prefix:
                found = removePrefix(entry, bytes[...], from: prefixRoot)
            case .wildcard:
                var components: [UnsafeRawBufferPointer] = []
                forEachComponent(bytes) { components.append($0) }
                found = removeWildcard(entry, components[...], from: wildcardRoot)
            }
            if found {
                updateCache(matching: bytes, policy: policy) { entries in
                    if let i = entries.firstIndex(where: { $0 === entry }) { entries.remove(at: i) }
                }
            }
            return found
        }
        if removed {
            count -= 1
            if policy != .exact { patternCount -= 1 }
        }
    }

    private func updateCache(matching pattern: UnsafeRawBufferPointer, policy: MatchPolicy, _ change: (inout [Entry]) -> Void) {
        let topics = cache.keys.filter { URIPattern.matches(pattern: pattern, policy: policy, uri: $0.bytes) }
        for topic in topics { change(&cache[topic]!) }
    }

    private func removePrefix(_ entry: Entry, _ rest: Slice<UnsafeRawBufferPointer>, from node: ByteNode) -> Bool {
        guard let first = rest.first else {
            guard let i = node.entries.firstIndex(where: { $0 === entry }) else { return false }
            node.entries.remove(at: i)
            return true
        }
        guard let child = node.children[first], removePrefix(entry, rest.dropFirst(), from: child) else { return false }
        if child.isEmpty { node.children[first] = nil }   // prune
        return true
    }

    private func removeWildcard(_ entry: Entry, _ rest: ArraySlice<UnsafeRawBufferPointer>, from node: ComponentNode) -> Bool {
        guard let component = rest.first else {
            guard let i = node.entries.firstIndex(where: { $0 === entry }) else { return false }
            node.entries.remove(at: i)
            return true
        }
        if component.isEmpty {
            guard let child = node.wildcard, removeWildcard(entry, rest.dropFirst(), from: child) else { return false }
            if child.isEmpty { node.wildcard = nil }
            return true
        }
        let key = TopicKey(borrowing: component)
        guard let child = node.children[key], removeWildcard(entry, rest.dropFirst(), from: child) else { return false }
        if child.isEmpty { node.children[key] = nil }
        return true
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
        // Prefix: every node on the topic's path holds patterns that are prefixes of it.
        var node: ByteNode? = prefixRoot
        result.append(contentsOf: prefixRoot.entries)
        for byte in topic {
            node = node?.children[byte]
            guard let n = node else { break }
            result.append(contentsOf: n.entries)
        }
        // Wildcard: explore literal and wildcard children component by component.
        var components: [UnsafeRawBufferPointer] = []
        forEachComponent(topic) { components.append($0) }
        collectWildcard(wildcardRoot, components[...], into: &result)
        return result
    }

    private func collectWildcard(_ node: ComponentNode, _ rest: ArraySlice<UnsafeRawBufferPointer>, into result: inout [Entry]) {
        guard let component = rest.first else {
            result.append(contentsOf: node.entries)
            return
        }
        if let child = node.children[TopicKey(borrowing: component)] {
            collectWildcard(child, rest.dropFirst(), into: &result)
        }
        if let wildcard = node.wildcard {
            collectWildcard(wildcard, rest.dropFirst(), into: &result)
        }
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

    private func forEachComponent(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        var i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: ".") {
                body(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
                start = i + 1
            }
            i += 1
        }
    }
}
