// The pub/sub core of one realm on one loop: subscriptions of this loop's sessions (ids shared
// with other loops through the realm's registry), and the one place a publication fans out.
//
//   publish(_:)               a session on this loop published; reaches, in this order:
//     1. this loop's subscribers: each subscription's EVENT is encoded once per format into a
//        pooled MessageBuffer (WampEncoder.event) and the same buffer is queued on every
//        subscriber's connection (a lone subscriber's small EVENT is written straight into its
//        outbound queue instead: deliverAlone). Subscribers whose pattern is only partly permitted for their
//        role get each topic checked first (TopicPermissionCache); the others pay nothing for it.
//     2. consumer groups homed on this loop (Router+Groups.swift), as the index meets them
//     3. the other loops of this process (LoopContext.forwardToOtherLoops, through their inboxes)
//     4. `clusterForwarding`, where forwarding to other brokers plugs in (none yet)
//   publish(_:pool:remote:)   another loop forwarded it (LoopContext's inbox): 1 and 2 only.
//
// Subscribing, unsubscribing and a closed session's teardown are announced as meta events
// (MetaEvents.swift), which go out through `publish(_:pool:)` and the other loops' inboxes.
//
// Steps 2–4 keep the publication past this call, so they share one copy of its bytes
// (RemotePublication), made on first need by `sharedCopy`; a transcoding made for local
// subscribers is handed on with it, so no loop transcodes the same publication again.
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
            hasOtherLoops = realm.routers.count > 1
        }
    }
    /// The realm has routers on other loops (publications may have to be forwarded); set with
    /// `context`, so a single-loop broker skips the forwarding step without touching the realm.
    private var hasOtherLoops = false
    // All fields below: owned by this router's loop thread.
    let index = SubscriptionIndex()
    private var byKey: [SubscriptionKey: Subscription] = [:]
    /// Consumer groups whose home is this loop.
    var groups: [GroupKey: ConsumerGroup] = [:]

    /// Each filter program runs at most once per event, whoever shares it.
    var filterMemo = FilterMemo()
    /// Where publications made on this loop leave the process (cluster forwarding); nil when
    /// this broker is alone. Set at start-up.
    var clusterForwarding: (any PublicationForwarding)?
    /// The current local publication's payload in the other format, made on first need.
    private var transcoding: TranscodedPayload?
    private var transcodingPublication: UInt64 = 0
    /// Subscribe verdicts per (role, topic) for the checked subscribers of this loop.
    private var topicPermissions = TopicPermissionCache()
    /// Subscriptions of closed sessions still to be left (unsubscribeClosed), taken from the
    /// end; a nil subscription is the session's on_leave, queued before its subscriptions.
    private var departing: [(session: Session, subscription: Subscription?)] = []
    /// The on_leave entries in `departing`.
    private var departingLeaves = 0
    /// Closed sessions' subscriptions left at once; more go in time-boxed batches.
    static let teardownBatch = 256
    static let teardownSliceNanoseconds: Int64 = 2_000_000

    deinit {
        // A group and its index entry refer to each other (removeIfIdle breaks it for groups
        // that empty; these are the ones still held when the broker goes away).
        for group in groups.values { group.entry.group = nil }
    }

    /// The subscription with `key` on this loop, if any (an O(1) check for re-subscribes).
    func existingSubscription(_ key: SubscriptionKey) -> Subscription? { byKey[key] }

    /// Adds `session` to the subscription for `key`, creating it if needed. A session subscribing
    /// twice gets the same subscription back. `topicCheckRole`: nil when the session's role is
    /// granted every topic of the pattern, else the role's index, to check each delivered topic.
    /// `created`: no loop of the realm held the subscription before (for on_create).
    func subscribe(_ session: Session, key: SubscriptionKey, filter: FilterProgram? = nil,
                   topicCheckRole: Int?) -> (subscription: Subscription, created: Bool) {
        let subscription: Subscription
        var created = false
        if let existing = byKey[key] {
            subscription = existing
        } else {
            let slot = filter.map { _ in filterMemo.acquireSlot(key.filterFingerprint!) } ?? -1
            let registered = realm.subscriptionIDs.acquireNotingCreation(key)
            created = registered.created
            subscription = Subscription(id: registered.id, key: key, filter: filter, filterSlot: slot)
            byKey[key] = subscription
            index.insert(subscription)
            realm.subscriptionsPerLoop[loopIndex].increment()
        }
        if let role = topicCheckRole {
            subscription.checkedSubscribers.insert(CheckedSubscriber(session: session, role: role))
        } else {
            subscription.subscribers.insert(session)
        }
        return (subscription, created)
    }

    /// Takes `session` off `subscription` and announces it (on_unsubscribe, and on_delete when
    /// it was the realm's last holder). True when a meta event was published.
    @discardableResult
    func unsubscribe(_ session: Session, from subscription: Subscription) -> Bool {
        subscription.subscribers.remove(ObjectIdentifier(session))
        subscription.checkedSubscribers.remove(ObjectIdentifier(session))
        var deleted = false
        if subscription.subscribers.isEmpty && subscription.checkedSubscribers.isEmpty {
            index.remove(subscription)
            byKey[subscription.key] = nil
            deleted = realm.subscriptionIDs.release(subscription.key)
            if let fingerprint = subscription.key.filterFingerprint { filterMemo.releaseSlot(fingerprint) }
            realm.subscriptionsPerLoop[loopIndex].increment(by: -1)
        }
        return announceUnsubscribe(session, from: subscription, deleted: deleted)
    }

    /// Lets go of cached topics nobody looked up since the previous call (LoopContext's timer).
    func sweepIdleCaches() {
        index.sweepIdle()
        topicPermissions.sweepIfIdle()
    }

    /// Leaves `subscriptions` for `session`, which has closed, then announces its on_leave: at
    /// once when few, else over the next loop turns, at most `teardownSliceNanoseconds` each
    /// (issue 10: one session with 10,000 subscriptions must not stall its loop); the meta
    /// events of each unsubscribe go out in the same slices. Until its turn a subscription
    /// keeps the closed session, whose connection refuses events, so nothing more reaches it.
    func unsubscribeClosed(_ session: Session, from subscriptions: [Subscription]) {
        if departing.isEmpty && subscriptions.count <= Self.teardownBatch {
            for subscription in subscriptions { unsubscribe(session, from: subscription) }
            announceLeave(session)
            return
        }
        let wasIdle = departing.isEmpty
        departing.reserveCapacity(departing.count + subscriptions.count + 1)
        // Taken from the end, so the on_leave, queued first, follows all of this session's.
        departing.append((session, nil))
        departingLeaves += 1
        for subscription in subscriptions { departing.append((session, subscription)) }
        if wasIdle { context.continueTeardownLater(self) }
    }

    /// Leaves departing subscriptions for one time slice; true when some remain.
    func continueTeardown() -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        var done = 0
        while let next = departing.popLast() {
            var announced = true
            if let subscription = next.subscription {
                announced = unsubscribe(next.session, from: subscription)
            } else {
                departingLeaves -= 1
                announceLeave(next.session)
            }
            done += 1
            // A meta event fans out to its listeners: check the clock after each one.
            if (announced || done % 64 == 0) && (clock.now - start) > .nanoseconds(Self.teardownSliceNanoseconds) { break }
        }
        if departing.isEmpty { departing = [] }   // give the storage back
        return !departing.isEmpty
    }

    /// Subscriptions of closed sessions not yet left on this loop.
    var departingCount: Int { departing.count - departingLeaves }

    /// A publication a session on this loop made: fans it out to everyone it reaches (see the
    /// header). Returns the number of EVENTs queued on this loop.
    func publish(_ publication: Publication) -> Int {
        var copy: RemotePublication? = nil
        // The pool is a `let` of this router's loop context, which the router holds for its
        // whole life (set once at start-up): the call needs no retain of it.
        let pool = Unmanaged.passUnretained(context.bufferPool)
        let delivered = pool._withUnsafeGuaranteedRef { deliverHere(publication, pool: $0, copy: &copy) }
        #if DEBUG
        precondition(pool.toOpaque() == Unmanaged.passUnretained(context.bufferPool).toOpaque(), "a router's loop context and pool are never replaced")
        #endif
        if hasOtherLoops { context.forwardToOtherLoops(in: realm) { sharedCopy(of: publication, &copy) } }
        clusterForwarding?.forward(publication, in: realm) { sharedCopy(of: publication, &copy) }
        return delivered
    }

    /// A publication another loop forwarded (`remote`, its shared copy), or one a test injects:
    /// this loop's subscribers and groups only. Returns the number of EVENTs queued.
    @discardableResult
    func publish(_ publication: Publication, pool: MessageBufferPool, remote: RemotePublication? = nil) -> Int {
        var copy = remote
        return deliverHere(publication, pool: pool, copy: &copy)
    }

    /// The publication's one copy for everything that keeps it past this call (groups, other
    /// loops, the cluster): made on first need, with a transcoding already made here handed on.
    func sharedCopy(of publication: Publication, _ copy: inout RemotePublication?) -> RemotePublication {
        if let copy { return copy }
        let made = RemotePublication.make(realm: realm, publication,
                                          transcoded: transcodingPublication == publication.id ? transcoding : nil)
        copy = made
        return made
    }

    /// Steps 1 and 2 of the fan-out: every matching subscriber and group on this loop.
    private func deliverHere(_ publication: Publication, pool: MessageBufferPool, copy: inout RemotePublication?) -> Int {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
        var delivered = 0
        filterMemo.startEvent()
        index.forEachMatch(publication.topic, hash: publication.knownTopicHash) { subscription in
            if let group = subscription.group {
                dispatch(publication, to: group, copy: &copy)
                return
            }
            if let filter = subscription.filter, !filterMemo.passes(filter, slot: subscription.filterSlot, publication) {
                return
            }
            // One encoded EVENT per subscription and subscriber format, shared by its subscribers.
            var events = EncodedEvents()
            // The sessions are read in place, without a retain of the array or of each session:
            // delivery never changes a subscription's lists (a slow consumer is only disconnected
            // from the next flush; leaving and teardown run outside publish), so the array the
            // subscription holds stays put and holds every session until the loop ends. Debug
            // builds check that after each delivery.
            let (sessions, count) = subscription.subscribers.elements.withUnsafeBufferPointer {
                (UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: Unmanaged<Session>.self), $0.count)
            }
            // Index loops, not for-in: an unspecialized (debug) IndexingIterator allocates.
            var i = 0
            if count == 1 && subscription.checkedSubscribers.elements.isEmpty {
                // A lone subscriber: its EVENT may be written straight into its outbound queue.
                if sessions.unsafelyUnwrapped[0]._withUnsafeGuaranteedRef({ subscriber in
                    deliverAlone(publication, of: subscription, to: subscriber, events: &events, pool: pool, copy: &copy)
                }) { delivered += 1 }
                events.finish()
                return
            }
            while i < count {
                let reached = sessions.unsafelyUnwrapped[i]._withUnsafeGuaranteedRef { subscriber in
                    deliver(publication, of: subscription, to: subscriber, events: &events, pool: pool, copy: &copy)
                }
                #if DEBUG
                subscription.subscribers.elements.withUnsafeBufferPointer {
                    precondition(UnsafeRawPointer($0.baseAddress) == UnsafeRawPointer(sessions) && $0.count == count,
                                 "a subscription's subscribers changed while an event was delivered to them")
                }
                #endif
                if reached { delivered += 1 }
                i += 1
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
                if deliver(publication, of: subscription, to: entry.session, events: &events, pool: pool, copy: &copy) {
                    delivered += 1
                }
            }
            events.finish()
        }
        return delivered
    }

    /// Queues the EVENT for one subscriber unless the publication's options exclude it; the
    /// encoded EVENT is made on first need per format and shared through `events`. `copy` is
    /// passed in place (inout), not by value: a value would be retained around each subscriber.
    @inline(__always)
    private func deliver(_ publication: Publication, of subscription: Subscription, to subscriber: Session,
                         events: inout EncodedEvents, pool: MessageBufferPool, copy: inout RemotePublication?) -> Bool {
        if excludes(publication, subscriber) { return false }
        // The EVENT in the subscriber's format: encoded on first need, then shared.
        let format = subscriber.format
        let event = events[format] ?? events.keep(encodeEvent(publication, of: subscription, in: format, pool: pool, copy: &copy), for: format)
        return event._withUnsafeGuaranteedRef { subscriber.deliver($0) }
    }

    /// `deliver` for a subscription's only subscriber: its plain EVENT (no details: all a
    /// queue's coalescing chunk would receive anyway) is written straight into its outbound
    /// queue when it can be (`Connection.enqueuePlainEvent`), else it is queued as by `deliver`.
    @inline(__always)
    private func deliverAlone(_ publication: Publication, of subscription: Subscription, to subscriber: Session,
                              events: inout EncodedEvents, pool: MessageBufferPool, copy: inout RemotePublication?) -> Bool {
        if excludes(publication, subscriber) { return false }
        let format = subscriber.format
        if subscription.key.match == .exact && publication.disclosedPublisher == nil {
            let payload = format == publication.format ? publication.payload : self.payload(publication, in: format, copy: &copy)
            let queued = subscriber.connection.enqueuePlainEvent(maxBytes: WampEncoder.plainEventMaxBytes(payload, format: format)) {
                WampEncoder.writePlainEvent(subscription: subscription.decimalID, publication: publication.id, payload: payload,
                                            format: format, to: $0)
            }
            if let queued { return queued }
        }
        return deliver(publication, of: subscription, to: subscriber, events: &events, pool: pool, copy: &copy)
    }

    /// The publication's options keep it from `subscriber` (exclude_me, black/white lists).
    @inline(__always)
    private func excludes(_ publication: Publication, _ subscriber: Session) -> Bool {
        if subscriber.id == publication.excludedSession { return true }
        if let rules = publication.rules,
           !rules.admits(session: subscriber.id, authid: subscriber.identity.authid, authrole: subscriber.identity.authrole) {
            return true
        }
        return false
    }

    /// The subscription's EVENT for `publication` in `format`, in a pooled buffer.
    private func encodeEvent(_ publication: Publication, of subscription: Subscription, in format: WireFormat,
                             pool: MessageBufferPool, copy: inout RemotePublication?) -> MessageBuffer {
        WampEncoder.event(subscription: subscription.decimalID, publication: publication,
                          // The payload as it arrived, without a call, in the common case.
                          payload: format == publication.format ? publication.payload : payload(publication, in: format, copy: &copy),
                          includeTopic: subscription.key.match != .exact, format: format, pool: pool)
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
    /// publication — by the shared copy once there is one (every loop uses its transcoding),
    /// else here, and handed on if a copy is made later (`sharedCopy`).
    private func payload(_ publication: Publication, in format: WireFormat, copy: inout RemotePublication?) -> Payload {
        if format == publication.format { return publication.payload }
        if let copy { return copy.payload(in: format) }
        if transcodingPublication != publication.id {
            transcoding = nil
            transcodingPublication = publication.id
        }
        if transcoding?.inFormat(format) == nil {
            transcoding = TranscodedPayload(publication.payload, from: publication.format, to: format, next: transcoding) ?? transcoding
        }
        return transcoding?.inFormat(format)?.payload ?? Payload(args: UnsafeRawBufferPointer(start: nil, count: 0), kwargs: UnsafeRawBufferPointer(start: nil, count: 0))
    }
}

/// The EVENTs of one subscription for the current publication, one per subscriber format, each
/// held +1 (from the pool) from its encoding until `finish`: subscribers are handed it without a
/// retain each. Lives on the stack of one `deliverHere` step.
private struct EncodedEvents {
    private var json: Unmanaged<MessageBuffer>?
    private var msgpack: Unmanaged<MessageBuffer>?
    private var cbor: Unmanaged<MessageBuffer>?

    subscript(format: WireFormat) -> Unmanaged<MessageBuffer>? {
        switch format {
        case .json: json
        case .msgpack: msgpack
        case .cbor: cbor
        }
    }

    /// Keeps `buffer` (its +1 moves here) as the EVENT in `format`.
    mutating func keep(_ buffer: __owned MessageBuffer, for format: WireFormat) -> Unmanaged<MessageBuffer> {
        let held = Unmanaged.passRetained(buffer)
        switch format {
        case .json: json = held
        case .msgpack: msgpack = held
        case .cbor: cbor = held
        }
        return held
    }

    /// Lets go of the EVENTs: a buffer no subscriber queued goes back to the pool.
    @inline(__always)
    mutating func finish() {
        if let json { MessageBuffer.releaseOrRecycle(json) }
        if let msgpack { MessageBuffer.releaseOrRecycle(msgpack) }
        if let cbor { MessageBuffer.releaseOrRecycle(cbor) }
    }
}

/// Where a publication goes beyond this process: the extension point for cluster forwarding
/// (issue 11). A router calls it once for each publication a session on its loop made, after
/// its own subscribers; `copy` yields the publication's one shared copy (made on the first
/// call), which the forwarder may keep. Called on the router's loop thread.
protocol PublicationForwarding: AnyObject {
    func forward(_ publication: Publication, in realm: Realm, copy: () -> RemotePublication)
}
