// The pub/sub core of one realm on one loop: subscriptions of this loop's sessions (ids shared
// with other loops through the realm's registry) and publication fan-out. Each subscription's
// EVENT is encoded once per loop into a pooled MessageBuffer, and the same buffer is queued on
// every subscriber's connection. Subscribers whose pattern is only partly permitted for their
// role get each topic checked first (TopicPermissionCache); the others pay nothing for it.
//
// References: the realm owns its routers, so a router's `realm` is `unowned` (checked: a router
// that outlived its realm traps instead of reading freed memory); its loop context is held
// strongly (contexts do not refer back to routers, so there is no cycle).

import BrokerConfig
import BrokerSerialization
import FilterVM

final class Router {
    unowned var realm: Realm!
    var loopIndex = 0
    /// This router's loop; set once at start-up.
    var context: LoopContext! {
        didSet {   // the caches report their bytes to this loop's gauge
            index.cacheGauge = context.metrics.cacheBytes
            topicPermissions.gauge = context.metrics.cacheBytes
        }
    }
    // All fields below: owned by this router's loop thread.
    let index = SubscriptionIndex()
    private var byKey: [SubscriptionKey: Subscription] = [:]
    /// Consumer groups whose home is this loop.
    var groups: [GroupKey: ConsumerGroup] = [:]

    deinit {
        // A group and its index entry refer to each other (removeIfIdle breaks it for groups
        // that empty; these are the ones still held when the broker goes away).
        for group in groups.values { group.entry.group = nil }
    }
    /// Filter memo: each distinct program (by fingerprint) gets a slot; during one publication
    /// a program runs at most once, however many subscriptions (topics, patterns) share it.
    /// Fingerprints are built from client text, so they compare as bytes like every such key.
    private var filterSlots: [BytewiseString: (slot: Int, users: Int)] = [:]
    private var freeFilterSlots: [Int] = []
    private var filterGeneration: [UInt64] = []
    private var filterResult: [Bool] = []
    var publicationGeneration: UInt64 = 0
    /// The current local publication's payload in the other format, made on first need.
    private(set) var transcoding: TranscodedPayload?
    private var transcodingPublication: UInt64 = 0
    /// Subscribe verdicts per (role, topic) for the checked subscribers of this loop.
    private var topicPermissions = TopicPermissionCache()
    /// Subscriptions of closed sessions still to be left (unsubscribeClosed), in any order.
    private var departing: [(session: Session, subscription: Subscription)] = []
    /// Closed sessions' subscriptions left at once; more go in time-boxed batches.
    static let teardownBatch = 256
    static let teardownSliceNanoseconds: Int64 = 2_000_000

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
            subscription.checkedSubscribers.insert(CheckedSubscriber(session: session, role: role))
        } else {
            subscription.subscribers.insert(session)
        }
        return subscription
    }

    func unsubscribe(_ session: Session, from subscription: Subscription) {
        subscription.subscribers.remove(ObjectIdentifier(session))
        subscription.checkedSubscribers.remove(ObjectIdentifier(session))
        if subscription.subscribers.isEmpty && subscription.checkedSubscribers.isEmpty {
            index.remove(subscription)
            byKey[subscription.key] = nil
            realm.subscriptionIDs.release(subscription.key)
            if let fingerprint = subscription.key.filterFingerprint { releaseFilterSlot(fingerprint) }
            realm.subscriptionsPerLoop[loopIndex].increment(by: -1)
        }
    }

    /// Lets go of cached topics nobody looked up since the previous call (LoopContext's timer).
    func sweepIdleCaches() {
        index.sweepIdle()
        topicPermissions.sweepIfIdle()
    }

    /// Leaves `subscriptions` for `session`, which has closed: at once when few, else over the
    /// next loop turns, at most `teardownSliceNanoseconds` each (issue 10: one session with
    /// 10,000 subscriptions must not stall its loop). Until its turn a subscription keeps the
    /// closed session, whose connection refuses events, so nothing more reaches it.
    func unsubscribeClosed(_ session: Session, from subscriptions: [Subscription]) {
        if departing.isEmpty && subscriptions.count <= Self.teardownBatch {
            for subscription in subscriptions { unsubscribe(session, from: subscription) }
            return
        }
        let wasIdle = departing.isEmpty
        departing.reserveCapacity(departing.count + subscriptions.count)
        for subscription in subscriptions { departing.append((session, subscription)) }
        if wasIdle { context.continueTeardownLater(self) }
    }

    /// Leaves departing subscriptions for one time slice; true when some remain.
    func continueTeardown() -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        var done = 0
        while let next = departing.popLast() {
            unsubscribe(next.session, from: next.subscription)
            done += 1
            if done % 64 == 0 && (clock.now - start) > .nanoseconds(Self.teardownSliceNanoseconds) { break }
        }
        if departing.isEmpty { departing = [] }   // give the storage back
        return !departing.isEmpty
    }

    /// Subscriptions of closed sessions not yet left on this loop.
    var departingCount: Int { departing.count }

    /// Delivers `publication` to every matching subscriber on this loop; returns the number of
    /// EVENTs queued.
    @discardableResult
    func publish(_ publication: Publication, pool: MessageBufferPool, remote: RemotePublication? = nil) -> Int {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
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
            let subscribers = subscription.subscribers.elements
            // Index loops, not for-in: an unspecialized (debug) IndexingIterator allocates.
            var i = 0
            while i < subscribers.count {
                let subscriber = subscribers[i]
                i += 1
                if deliver(publication, of: subscription, to: subscriber, json: &json, msgpack: &msgpack, pool: pool, remote: remote) {
                    delivered += 1
                }
            }
            let checked = subscription.checkedSubscribers.elements
            var j = 0
            var lastRole = -1   // subscribers of one role share a verdict: one lookup per run of them
            var lastAllowed = false
            while j < checked.count {
                let entry = checked[j]
                j += 1
                if entry.role != lastRole {
                    lastRole = entry.role
                    lastAllowed = mayReceive(publication.topic, role: entry.role)
                }
                guard lastAllowed else { continue }
                if deliver(publication, of: subscription, to: entry.session, json: &json, msgpack: &msgpack, pool: pool, remote: remote) {
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

    func acquireFilterSlot(_ fingerprint: BytewiseString) -> Int {
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

    func releaseFilterSlot(_ fingerprint: BytewiseString) {
        guard let entry = filterSlots[fingerprint] else { return }
        if entry.users == 1 {
            filterSlots[fingerprint] = nil
            freeFilterSlots.append(entry.slot)
        } else {
            filterSlots[fingerprint] = (entry.slot, entry.users - 1)
        }
    }
}
