// The pub/sub messages of an established session (SPEC §5): SUBSCRIBE, UNSUBSCRIBE and PUBLISH
// are parsed and checked here (shape, options, URI, limits, permissions) and answered with the
// exact ERROR; what passes goes to the realm's router on this loop, which owns the fan-out.
// Group SUBSCRIBEs continue in Session+Groups.swift. Runs on the connection's loop thread.

import BrokerConfig
import BrokerSerialization

extension Session {
    // MARK: - SUBSCRIBE / UNSUBSCRIBE

    func handleSubscribe(_ m: WampMessageView, _ established: Established) {
        guard m.count == 4, let request = requestID(m), let optionsView = m.object(2), m.kind(3) == .string else {
            return protocolViolation("SUBSCRIBE must be [32, Request|id, Options|dict, Topic|uri]")
        }
        let topic = m.string(3)!
        let options: SubscribeOptions
        switch SubscribeOptions.parse(optionsView) {
        case .success(let parsed): options = parsed
        case .failure(let refusal): return sendError(WampCode.subscribe, request, refusal.message, refusal.uri)
        }
        let match = options.match
        if let tooLong = uriLengthProblem(topic.utf8.count) {
            return sendError(WampCode.subscribe, request, tooLong, WampURI.invalidURI)
        }
        var topicText = topic
        guard topicText.withUTF8({ URIPattern.isValidPattern(UnsafeRawBufferPointer($0), policy: match) }) else {
            return sendError(WampCode.subscribe, request, "invalid topic URI \"\(topic)\" for match \(match.rawValue)", WampURI.invalidURI)
        }
        // Which topics of the pattern the role may receive (Config/PatternPermission.swift).
        let config = established.realm.config
        let verdict = config.subscribeVerdict(role: identity.authrole, pattern: topic, match: match)
        guard verdict != .denied else {
            let what = match == .exact ? topic : "any topic matching \(match.rawValue) pattern \"\(topic)\""
            return sendError(WampCode.subscribe, request, "role \(identity.authrole) may not subscribe to \(what)", WampURI.notAuthorized)
        }
        let topicCheckRole = verdict == .perTopic ? config.roleIndex(named: identity.authrole) : nil
        if let groupType = options.groupType {
            let key = SubscriptionKey(topic: topic, match: match, filterFingerprint: options.filter?.fingerprint,
                                      groupType: groupType, group: options.groupName)
            guard !isAtSubscriptionLimit(unlessHolding: key, established) else { return refuseSubscriptionOverLimit(request) }
            return joinGroup(key: key, type: groupType, options: options, topicCheckRole: topicCheckRole, request: request, established)
        }
        let key = SubscriptionKey(topic: topic, match: match, filterFingerprint: options.filter?.fingerprint)
        guard !isAtSubscriptionLimit(unlessHolding: key, established) else { return refuseSubscriptionOverLimit(request) }
        let (subscription, created) = established.router.subscribe(self, key: key, filter: options.filter, topicCheckRole: topicCheckRole)
        let isNewForSession = subscriptions.updateValue(subscription, forKey: subscription.id) == nil
        connection.send { out in WampEncoder.acknowledgement(code: WampCode.subscribed, request: request, id: subscription.id, format: format, into: &out) }
        if options.getRetained { sendRetained(of: subscription, topicCheckRole: topicCheckRole, established) }
        // After SUBSCRIBED, as Crossbar does; an identical re-subscribe announces nothing.
        if isNewForSession { established.router.announceSubscribe(self, to: subscription, created: created) }
    }

    /// Whether a new subscription would exceed `max_subscriptions_per_session` (subscriptions,
    /// group memberships and pending group joins); an identical re-subscribe, which returns the
    /// id it already has, does not count (a hash lookup; for groups a scan of the memberships,
    /// only at the limit).
    private func isAtSubscriptionLimit(unlessHolding key: SubscriptionKey, _ established: Established) -> Bool {
        let limit = context.limits.maxSubscriptionsPerSession
        guard subscriptions.count + memberships.count + pendingGroupJoins >= limit else { return false }
        if key.groupType != nil { return !memberships.values.contains { $0.member.key == key } }
        guard let existing = established.router.existingSubscription(key) else { return true }
        return subscriptions[existing.id] !== existing
    }

    private func refuseSubscriptionOverLimit(_ request: UInt64) {
        let limit = context.limits.maxSubscriptionsPerSession
        context.metrics.limitRefusals[.maxSubscriptionsPerSession].increment()
        sendError(WampCode.subscribe, request, "this session already holds \(limit) subscriptions (max_subscriptions_per_session)", WampURI.limitExceeded)
    }

    func handleUnsubscribe(_ m: WampMessageView, _ established: Established) {
        guard m.count == 3, let request = requestID(m), let subscriptionID = m.unsignedInteger(2) else {
            return protocolViolation("UNSUBSCRIBE must be [34, Request|id, SUBSCRIBED.Subscription|id]")
        }
        if let membership = memberships[subscriptionID] {
            leave(membership, reason: "unsubscribe", connectionDying: false)
            connection.send { out in WampEncoder.unsubscribed(request: request, format: format, into: &out) }
            return
        }
        guard let subscription = subscriptions.removeValue(forKey: subscriptionID) else {
            return sendError(WampCode.unsubscribe, request, "no subscription \(subscriptionID) on this session", WampURI.noSuchSubscription)
        }
        established.router.unsubscribe(self, from: subscription)
        connection.send { out in WampEncoder.unsubscribed(request: request, format: format, into: &out) }
    }

    // MARK: - PUBLISH

    // Inlined (one caller each), so the message view is not copied again per call.
    @inline(__always)
    func handlePublish(_ m: WampMessageView, _ established: Established) {
        guard (4...6).contains(m.count), let request = requestID(m), let options = m.object(2), m.kind(3) == .string else {
            return protocolViolation("PUBLISH must be [16, Request|id, Options|dict, Topic|uri, Arguments|list?, ArgumentsKw|dict?]")
        }
        if m.count >= 5 && m.kind(4) != .array {
            return protocolViolation("PUBLISH.Arguments must be a list")
        }
        if m.count == 6 && m.kind(5) != .object {
            return protocolViolation("PUBLISH.ArgumentsKw must be a dict")
        }
        context.metrics.publicationsReceived.increment()
        // The topic's own bytes when it has no escapes (no allocation); else a decoded copy. No
        // closure on the common path: capturing the view would copy it.
        if let topic = m.rawString(3) {
            publish(m, request: request, options: options, topic: topic, established)
        } else {
            var decoded = m.string(3)!
            decoded.withUTF8 { publish(m, request: request, options: options, topic: UnsafeRawBufferPointer($0), established) }
        }
    }

    @inline(__always)
    private func publish(_ m: WampMessageView, request: UInt64, options: JSONObjectView, topic: UnsafeRawBufferPointer,
                         _ established: Established) {
        let parsed: PublishOptions
        switch PublishOptions.parse(options, maxListEntries: context.limits.maxListOptionEntries) {
        case .success(let p):
            parsed = p
        case .failure(let refusal):
            // Silent unless the publisher asked for an acknowledgement; counted either way.
            if let limit = refusal.limit { context.metrics.limitRefusals[limit].increment() }
            return refusePublish(refusal.acknowledge, request, refusal.message, refusal.uri)
        }
        // A topic with a remembered verdict passed the length and URI checks when it was
        // recorded (only checked topics are), so a hit skips them: one hash lookup in all.
        // The topic is hashed once, here, for this lookup and the router's (Publication.topicHash).
        let topicHash = TopicHash.value(topic, processSeed: topicHashSeed)
        let allowed: Bool
        if let known = publishPermissions.verdict(role: 0, topic: topic, hash: topicHash) {
            allowed = known
        } else {
            if let tooLong = uriLengthProblem(topic.count) {
                return refusePublish(parsed.acknowledge, request, tooLong, WampURI.invalidURI)
            }
            guard URIPattern.isValidTopic(topic) else {
                return refusePublish(parsed.acknowledge, request, "invalid topic URI \"\(String(decoding: topic, as: UTF8.self))\"", WampURI.invalidURI)
            }
            allowed = decidePublish(topic, in: established.realm)
        }
        guard allowed else {
            let uri = String(decoding: topic, as: UTF8.self)
            let why = topic.starts(with: "wamp.".utf8)
                ? "only the broker publishes to wamp.* topics (meta events), not to \(uri)"
                : "role \(identity.authrole) may not publish to \(uri)"
            return refusePublish(parsed.acknowledge, request, why, WampURI.notAuthorized)
        }
        // `ids` is a `let` of the loop context, a `let` of this session's connection: alive for
        // the call without a retain.
        let publicationID = Unmanaged.passUnretained(context.ids)._withUnsafeGuaranteedRef { $0.next() }
        let publication = Publication(
            id: publicationID, topic: topic, format: m.format,
            args: m.count >= 5 ? m.bytes(4) : UnsafeRawBufferPointer(start: nil, count: 0),
            kwargs: m.count == 6 ? m.bytes(5) : UnsafeRawBufferPointer(start: nil, count: 0),
            excludedSession: parsed.excludeMe ? id : 0,
            disclosedPublisher: parsed.discloseMe ? PublisherInfo(session: id, authid: identity.authid, authrole: identity.authrole) : nil,
            rules: parsed.rules, topicHash: topicHash)
        if parsed.retain {   // before the fan-out, so a subscriber on another loop never misses it
            guard admitsRetained(publication, acknowledge: parsed.acknowledge, request: request) else { return }
            keepRetained(publication, m, established)
        }
        let delivered = established.router.publish(publication)
        context.metrics.eventsDelivered.increment(by: delivered)
        if parsed.acknowledge {
            connection.send { out in WampEncoder.acknowledgement(code: WampCode.published, request: request, id: publication.id, format: format, into: &out) }
        }
    }

    /// Why a topic or pattern of `length` UTF-8 bytes is refused, or nil when it is within
    /// limits.max_uri_bytes (which also bounds what the index and the caches copy per URI).
    private func uriLengthProblem(_ length: Int) -> String? {
        let limit = context.limits.maxURIBytes
        return length > limit ? "URI of \(length) bytes is longer than limits.max_uri_bytes (\(limit))" : nil
    }

    /// The permission rules for a checked topic with no remembered verdict (once per distinct
    /// topic); the verdict is remembered for the next PUBLISH. wamp.* is the broker's own
    /// (SPEC §5), whatever the role's permissions say.
    private func decidePublish(_ topic: UnsafeRawBufferPointer, in realm: Realm) -> Bool {
        let allowed = !topic.starts(with: "wamp.".utf8)
            && realm.isAllowed(role: identity.authrole, action: .publish, uri: String(decoding: topic, as: UTF8.self))
        publishPermissions.record(allowed, role: 0, topic: topic)   // one role per session
        return allowed
    }

    private func refusePublish(_ acknowledge: Bool, _ request: UInt64, _ message: String, _ uri: String) {
        context.metrics.publicationsRefused.increment()
        if acknowledge { sendError(WampCode.publish, request, message, uri) }
    }

    // MARK: - Events

    /// Queues an EVENT the router encoded; false when the connection refused it (slow consumer).
    func deliver(_ message: MessageBuffer) -> Bool {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
        return connection.enqueueEvent(message)
    }
}
