// Finds the subscriptions whose topic pattern matches a publication's topic. Exact topics hash
// straight to their subscriptions; prefix and wildcard patterns are scanned (a trie with a match
// cache replaces the scan when pattern subscriptions grow — see the consumer-groups issue).
// Owned by the router's loop thread.

import BrokerConfig

final class Subscription {
    let id: UInt64
    let key: SubscriptionKey
    /// Sessions in the order they subscribed. Owned by the router's loop thread.
    var subscribers: [Session] = []

    init(id: UInt64, key: SubscriptionKey) {
        self.id = id
        self.key = key
    }
}

/// What makes two SUBSCRIBEs the same subscription (SPEC §5: identical topic, match, and later
/// type, group, filter and filter values).
struct SubscriptionKey: Hashable {
    var topic: String
    var match: MatchPolicy
}

final class SubscriptionIndex {
    // Owned by the router's loop thread.
    private var exact: [String: [Subscription]] = [:]
    private var patterns: [Subscription] = []

    func insert(_ subscription: Subscription) {
        if subscription.key.match == .exact {
            exact[subscription.key.topic, default: []].append(subscription)
        } else {
            patterns.append(subscription)
        }
    }

    func remove(_ subscription: Subscription) {
        if subscription.key.match == .exact {
            exact[subscription.key.topic]?.removeAll { $0 === subscription }
            if exact[subscription.key.topic]?.isEmpty == true { exact[subscription.key.topic] = nil }
        } else {
            patterns.removeAll { $0 === subscription }
        }
    }

    func forEachMatch(_ topic: String, _ body: (Subscription) -> Void) {
        if let subscriptions = exact[topic] {
            for s in subscriptions { body(s) }
        }
        for s in patterns where URIPattern.matches(pattern: s.key.topic, policy: s.key.match, uri: topic) {
            body(s)
        }
    }
}
