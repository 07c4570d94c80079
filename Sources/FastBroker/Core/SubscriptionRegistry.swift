// Subscription ids for one realm, shared by all loops: identical SUBSCRIBEs get the same id
// whichever loop their sessions live on (SPEC §5). Touched only at SUBSCRIBE/UNSUBSCRIBE time,
// so a mutex is fine here; the publish path never comes near it. It also knows, realm-wide,
// which meta topics have a subscription (MetaEvents.swift): one atomic load tells a session
// join or a subscribe whether anyone listens before any meta event is built.

import BrokerSync
import Synchronization

final class SubscriptionRegistry: Sendable {
    private struct Entry { var id: UInt64; var loops: Int }
    private struct State {
        var entries: [SubscriptionKey: Entry] = [:]
        var nextID: UInt64 = 1
        /// Told when a key gets its first holder and loses its last (cluster interest); set once
        /// at start-up, called under this lock.
        var observer: (any SubscriptionInterestObserver)?
        var realm = ""
        /// Subscriptions (realm-wide) matching each meta topic, by MetaTopic.rawValue.
        var metaSubscriptions = [Int](repeating: 0, count: MetaTopic.allCases.count)
    }
    private let state = PThreadLock(State())
    /// Bit `MetaTopic.rawValue` set while some subscription in the realm matches that topic;
    /// written under the lock, read lock-free by every loop.
    private let metaTopicsListened = Atomic<UInt8>(0)

    /// The id for `key`; a loop calls this once when its first local subscriber arrives.
    func acquire(_ key: SubscriptionKey) -> UInt64 { acquireNotingCreation(key).id }

    /// The id for `key`, and whether the subscription is new in the realm (no loop held it).
    func acquireNotingCreation(_ key: SubscriptionKey) -> (id: UInt64, created: Bool) {
        state.withLock { state in
            if var entry = state.entries[key] {
                entry.loops += 1
                state.entries[key] = entry
                return (entry.id, false)
            }
            let id = state.nextID
            state.nextID += 1
            state.entries[key] = Entry(id: id, loops: 1)
            state.observer?.interestAdded(realm: state.realm, key: key)
            countMetaTopics(of: key, by: 1, &state)
            return (id, true)
        }
    }

    /// A loop's last local subscriber for `key` left; true when that was the realm's last
    /// holder (the subscription is deleted).
    @discardableResult
    func release(_ key: SubscriptionKey) -> Bool {
        state.withLock { state in
            guard var entry = state.entries[key] else { return false }
            entry.loops -= 1
            state.entries[key] = entry.loops == 0 ? nil : entry
            guard entry.loops == 0 else { return false }
            state.observer?.interestRemoved(realm: state.realm, key: key)
            countMetaTopics(of: key, by: -1, &state)
            return true
        }
    }

    /// Whether some subscription in the realm matches `topic` (one atomic load).
    func isListened(_ topic: MetaTopic) -> Bool {
        metaTopicsListened.load(ordering: .acquiring) & (1 << topic.rawValue) != 0
    }

    private func countMetaTopics(of key: SubscriptionKey, by delta: Int, _ state: inout State) {
        let matched = MetaTopic.matched(by: key)
        guard matched != 0 else { return }
        var listened: UInt8 = 0
        for topic in MetaTopic.allCases {
            if matched & (1 << topic.rawValue) != 0 { state.metaSubscriptions[topic.rawValue] += delta }
            if state.metaSubscriptions[topic.rawValue] > 0 { listened |= 1 << topic.rawValue }
        }
        metaTopicsListened.store(listened, ordering: .releasing)
    }

    func setInterestObserver(_ observer: any SubscriptionInterestObserver, realm: String) {
        state.withLock { state in
            state.observer = observer
            state.realm = realm
        }
    }
}

/// Learns which subscription keys have holders anywhere in this process (ClusterBridge).
protocol SubscriptionInterestObserver: AnyObject, Sendable {
    func interestAdded(realm: String, key: SubscriptionKey)
    func interestRemoved(realm: String, key: SubscriptionKey)
}
