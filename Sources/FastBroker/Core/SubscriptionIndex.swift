// Finds the subscriptions whose topic pattern matches a publication's topic. Exact topics hash
// straight to their subscriptions by the topic's bytes; prefix and wildcard patterns are scanned
// (a trie with a match cache replaces the scan when pattern subscriptions grow — see the
// consumer-groups issue). Owned by the router's loop thread.

import BrokerConfig
import FilterVM

final class Subscription {
    let id: UInt64
    let key: SubscriptionKey
    /// The topic or pattern, as bytes.
    let topic: TopicKey
    /// Sessions in the order they subscribed. Owned by the router's loop thread.
    var subscribers: [Session] = []
    /// The content filter, shared by every subscription with the same bound program.
    let filter: FilterProgram?
    /// The router's memo slot for `filter`'s result during one publication.
    let filterSlot: Int

    init(id: UInt64, key: SubscriptionKey, filter: FilterProgram?, filterSlot: Int) {
        self.id = id
        self.key = key
        self.topic = TopicKey(owning: key.topic)
        self.filter = filter
        self.filterSlot = filterSlot
    }
}

/// What makes two SUBSCRIBEs the same subscription (SPEC §5: identical topic, match, filter
/// with its bound values — compared by the compiled program's canonical fingerprint — and, with
/// consumer groups, type and group).
struct SubscriptionKey: Hashable, Sendable {
    var topic: String
    var match: MatchPolicy
    var filterFingerprint: String? = nil
}

final class SubscriptionIndex {
    // Owned by the router's loop thread.
    private var exact: [TopicKey: [Subscription]] = [:]
    private var patterns: [Subscription] = []

    var isEmpty: Bool { exact.isEmpty && patterns.isEmpty }

    func insert(_ subscription: Subscription) {
        if subscription.key.match == .exact {
            exact[subscription.topic, default: []].append(subscription)
        } else {
            patterns.append(subscription)
        }
    }

    func remove(_ subscription: Subscription) {
        if subscription.key.match == .exact {
            exact[subscription.topic]?.removeAll { $0 === subscription }
            if exact[subscription.topic]?.isEmpty == true { exact[subscription.topic] = nil }
        } else {
            patterns.removeAll { $0 === subscription }
        }
    }

    /// Calls `body` for each subscription matching `topic` (UTF-8 bytes); allocates nothing.
    @inline(__always)
    func forEachMatch(_ topic: UnsafeRawBufferPointer, _ body: (Subscription) -> Void) {
        // Index loops, not for-in: an unspecialized (debug) IndexingIterator allocates.
        if let subscriptions = exact[TopicKey(borrowing: topic)] {
            var i = 0
            while i < subscriptions.count { body(subscriptions[i]); i += 1 }
        }
        var i = 0
        while i < patterns.count {
            let s = patterns[i]
            i += 1
            if URIPattern.matches(pattern: s.topic.bytes, policy: s.key.match, uri: topic) { body(s) }
        }
    }
}
