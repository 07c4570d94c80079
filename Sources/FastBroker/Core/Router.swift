// The pub/sub core of one realm on one loop: subscriptions of this loop's sessions (ids shared
// with other loops through the realm's registry) and publication fan-out. Each subscription's
// EVENT is encoded once per loop into a pooled MessageBuffer, and the same buffer is queued on
// every subscriber's connection. Subscribers whose pattern is only partly permitted for their
// role get each topic checked first (TopicPermissionCache); the others pay nothing for it.

import BrokerConfig
import BrokerSerialization
import FilterVM

final class Router {
    unowned(unsafe) var realm: Realm!
    var loopIndex = 0
    /// This router's loop; set once at start-up.
    unowned(unsafe) var context: LoopContext!
    // All fields below: owned by this router's loop thread.
    let index = SubscriptionIndex()
    private var byKey: [SubscriptionKey: Subscription] = [:]
    /// Consumer groups whose home is this loop.
    var groups: [GroupKey: ConsumerGroup] = [:]
    /// Filter memo: each distinct program (by fingerprint) gets a slot; during one publication
    /// a program runs at most once, however many subscriptions (topics, patterns) share it.
    private var filterSlots: [String: (slot: Int, users: Int)] = [:]
    private var freeFilterSlots: [Int] = []
    private var filterGeneration: [UInt64] = []
    private var filterResult: [Bool] = []
    var publicationGeneration: UInt64 = 0
    /// The current local publication's payload in the other format, made on first need.
    private(set) var transcoding: TranscodedPayload?
    private var transcodingPublication: UInt64 = 0
    /// Subscribe verdicts per (role, topic) for the checked subscribers of this loop.
    private var topicPermissions = TopicPermissionCache()

    /// Adds `session` to the subscription for `key`, creating it if needed. A session subscribing
    /// twice gets the same subscription back. `topicCheckRole`: nil when the session's role is
    /// granted every topic of the pattern, else the role's index, to check each delivered topic.
    /// The subscription with `key` on this loop, if any (an O(1) check for re-subscribes).
    func existingSubscription(_ key: SubscriptionKey) -> Subscription? { byKey[key] }

    func subscribe(_ session: Session, key: SubscriptionKey, filter: FilterProgram? = nil, topicCheckRole: Int?) -> Subscription {
        let subscription: Subscription
        if let existing = byKey[key] {
            subscription = existing
        } else {
            let slot = filter.map { _ in acquireFilterSlot(key.filterFingerprint!) } ?? -1
            subscription = Subscription(id: realm.subscriptionIDs.acquire(key), key: key, filter: filter, filterSlot: slot)
            byKey[key] = subscription
            index.insert(subscription)
            realm.subscriptionsPerLoop[loopIndex].increment()
        }
        if let role = topicCheckRole {
            if !subscription.checkedSubscribers.contains(where: { $0.session === session }) {
                subscription.checkedSubscribers.append((session, role))
            }
        } else if !subscription.subscribers.contains(where: { $0 === session }) {
            subscription.subscribers.append(session)
        }
        return subscription
    }

    func unsubscribe(_ session: Session, from subscription: Subscription) {
        subscription.subscribers.removeAll { $0 === session }
        subscription.checkedSubscribers.removeAll { $0.session === session }
        if subscription.subscribers.isEmpty && subscription.checkedSubscribers.isEmpty {
            index.remove(subscription)
            byKey[subscription.key] = nil
            realm.subscriptionIDs.release(subscription.key)
            if let fingerprint = subscription.key.filterFingerprint { releaseFilterSlot(fingerprint) }
            realm.subscriptionsPerLoop[loopIndex].increment(by: -1)
        }
    }

    /// Delivers `publication` to every matching subscriber on this loop; returns the number of
    /// EVENTs queued.
    @discardableResult
    func publish(_ publication: Publication, pool: MessageBufferPool, remote: RemotePublication? = nil) -> Int {
        var delivered = 0
        var shared = remote
        publicationGeneration &+= 1
        index.forEachMatch(publication.topic) { subscription in
            if let group = subscription.group {
                dispatch(publication, to: group, shared: &shared)
                return
            }
            if let filter = subscription.filter, !passes(filter, slot: subscription.filterSlot, publication) {
                return
            }
            // One encoded EVENT per subscription and subscriber format, shared by its subscribers.
            var json: MessageBuffer? = nil
            var msgpack: MessageBuffer? = nil
            let subscribers = subscription.subscribers
            // Index loops, not for-in: an unspecialized (debug) IndexingIterator allocates.
            var i = 0
            while i < subscribers.count {
                let subscriber = subscribers[i]
                i += 1
                if deliver(publication, of: subscription, to: subscriber, json: &json, msgpack: &msgpack, pool: pool, remote: remote) {
                    delivered += 1
                }
            }
            let checked = subscription.checkedSubscribers
            var j = 0
            var lastRole = -1   // subscribers of one role share a verdict: one lookup per run of them
            var lastAllowed = false
            while j < checked.count {
                let (subscriber, role) = checked[j]
                j += 1
                if role != lastRole {
                    lastRole = role
                    lastAllowed = mayReceive(publication.topic, role: role)
                }
                guard lastAllowed else { continue }
                if deliver(publication, of: subscription, to: subscriber, json: &json, msgpack: &msgpack, pool: pool, remote: remote) {
                    delivered += 1
                }
            }
            json?.recycleIfUnused()
            msgpack?.recycleIfUnused()
        }
        return delivered
    }

    /// Queues the EVENT for one subscriber unless the publication's options exclude it; the
    /// encoded EVENT is made on first need per format and shared through `json`/`msgpack`.
    @inline(__always)
    private func deliver(_ publication: Publication, of subscription: Subscription, to subscriber: Session,
                         json: inout MessageBuffer?, msgpack: inout MessageBuffer?,
                         pool: MessageBufferPool, remote: RemotePublication?) -> Bool {
        if subscriber.id == publication.excludedSession { return false }
        if let rules = publication.rules,
           !rules.admits(session: subscriber.id, authid: subscriber.identity.authid, authrole: subscriber.identity.authrole) {
            return false
        }
        let format = subscriber.format
        var message = format == .json ? json : msgpack
        if message == nil {
            let buffer = pool.take(capacity: 96 + publication.topic.count + publication.args.count + publication.kwargs.count)
            WampEncoder.event(subscription: subscription.id, publication: publication,
                              payload: payload(publication, in: format, remote: remote),
                              includeTopic: subscription.key.match != .exact, format: format, into: &buffer.bytes)
            message = buffer
            if format == .json { json = buffer } else { msgpack = buffer }
        }
        return subscriber.deliver(message!)
    }

    /// Whether the role at `role` in the realm's roles may subscribe to the concrete `topic`
    /// (for subscribers whose pattern is only partly permitted; memoized per loop).
    func mayReceive(_ topic: UnsafeRawBufferPointer, role: Int) -> Bool {
        if let known = topicPermissions.verdict(role: role, topic: topic) { return known }
        let allowed = realm.config.roles[role].allowsSubscribe(toTopic: topic)
        topicPermissions.record(allowed, role: role, topic: topic)
        return allowed
    }

    /// The publication's args/kwargs in `format`: as they arrived, or transcoded once per
    /// publication (shared by every subscription here, and handed on to the other loops).
    func payload(_ publication: Publication, in format: WireFormat, remote: RemotePublication?) -> Payload {
        if format == publication.format { return publication.payload }
        if let remote { return remote.payload(in: format) }
        if transcodingPublication != publication.id || transcoding?.format != format {
            transcoding = TranscodedPayload(publication.payload, from: publication.format, to: format)
            transcodingPublication = publication.id
        }
        return transcoding?.payload ?? Payload(args: UnsafeRawBufferPointer(start: nil, count: 0), kwargs: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// The transcoding made for publication `id` on this loop, if any.
    func transcoding(for id: UInt64) -> TranscodedPayload? {
        transcodingPublication == id ? transcoding : nil
    }

    /// The filter's verdict on this publication's kwargs, computed at most once per publication.
    @inline(__always)
    func passes(_ filter: FilterProgram, slot: Int, _ publication: Publication) -> Bool {
        if filterGeneration[slot] == publicationGeneration { return filterResult[slot] }
        let result = publication.format == .json
            ? filter.evaluate(JSONFilterDocument(publication.kwargs))
            : filter.evaluate(MessagePackFilterDocument(publication.kwargs))
        filterGeneration[slot] = publicationGeneration
        filterResult[slot] = result
        return result
    }

    func acquireFilterSlot(_ fingerprint: String) -> Int {
        if let entry = filterSlots[fingerprint] {
            filterSlots[fingerprint] = (entry.slot, entry.users + 1)
            return entry.slot
        }
        let slot: Int
        if let reused = freeFilterSlots.popLast() {
            slot = reused
        } else {
            slot = filterGeneration.count
            filterGeneration.append(0)
            filterResult.append(false)
        }
        filterGeneration[slot] = 0
        filterSlots[fingerprint] = (slot, 1)
        return slot
    }

    func releaseFilterSlot(_ fingerprint: String) {
        guard let entry = filterSlots[fingerprint] else { return }
        if entry.users == 1 {
            filterSlots[fingerprint] = nil
            freeFilterSlots.append(entry.slot)
        } else {
            filterSlots[fingerprint] = (entry.slot, entry.users - 1)
        }
    }
}
