// Subscription ids for one realm, shared by all loops: identical SUBSCRIBEs get the same id
// whichever loop their sessions live on (SPEC §5). Touched only at SUBSCRIBE/UNSUBSCRIBE time,
// so a mutex is fine here; the publish path never comes near it.

import BrokerSync

final class SubscriptionRegistry: Sendable {
    private struct Entry { var id: UInt64; var loops: Int }
    private struct State {
        var entries: [SubscriptionKey: Entry] = [:]
        var nextID: UInt64 = 1
        /// Told when a key gets its first holder and loses its last (cluster interest); set once
        /// at start-up, called under this lock.
        var observer: (any SubscriptionInterestObserver)?
        var realm = ""
    }
    private let state = PThreadLock(State())

    /// The id for `key`; a loop calls this once when its first local subscriber arrives.
    func acquire(_ key: SubscriptionKey) -> UInt64 {
        state.withLock { state in
            if var entry = state.entries[key] {
                entry.loops += 1
                state.entries[key] = entry
                return entry.id
            }
            let id = state.nextID
            state.nextID += 1
            state.entries[key] = Entry(id: id, loops: 1)
            state.observer?.interestAdded(realm: state.realm, key: key)
            return id
        }
    }

    /// A loop's last local subscriber for `key` left.
    func release(_ key: SubscriptionKey) {
        state.withLock { state in
            guard var entry = state.entries[key] else { return }
            entry.loops -= 1
            state.entries[key] = entry.loops == 0 ? nil : entry
            if entry.loops == 0 { state.observer?.interestRemoved(realm: state.realm, key: key) }
        }
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
