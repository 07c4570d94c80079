// One WAMP session: the SPEC §4 state machine (HELLO → [CHALLENGE → AUTHENTICATE] → WELCOME →
// pub/sub → GOODBYE) over messages the connection has already framed and scanned. Owned by its
// connection's loop thread for its whole life. Output goes back through the connection; pub/sub
// goes to the realm's router on this loop.
//
// Ownership: the session holds its connection strongly (the connection drops the session when
// its socket is closed, which ends the cycle), so a session reference is never dangling: after
// the close, the session is `.closed` and the connection refuses output. Nothing outside this
// loop holds a Session: other loops name it by SessionRef, which this loop resolves only while
// the session is established (LoopContext.session(_:)).

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import FilterVM
import Logging

final class Session {
    enum State {
        case awaitingHello
        case challenged(AuthChallenge)
        /// The AUTHENTICATE's verdict is held back by the auth throttle; input is ignored.
        case awaitingVerdict
        case established
        /// The broker sent GOODBYE (shutdown) and waits for the client's reply.
        case closing
        case closed
    }

    /// Session id, chosen at HELLO (the CHALLENGE already carries it).
    private(set) var id: UInt64 = 0
    // All fields below: owned by the connection's loop thread.
    let connection: Connection
    /// How other loops name this session; set while established (registered with the loop).
    private(set) var ref: SessionRef?
    private(set) var state = State.awaitingHello
    private(set) var realm: Realm?
    private var router: Router?
    private(set) var identity = SessionIdentity(authid: "", authrole: "", authmethod: "", authprovider: "")
    private var subscriptions: [UInt64: Subscription] = [:]
    /// Consumer-group memberships by subscription id, and by member for deliveries.
    private var memberships: [UInt64: GroupMembership] = [:]
    private var membershipsByMember: [ObjectIdentifier: GroupMembership] = [:]
    /// Group SUBSCRIBEs sent to a group's home loop and not yet answered (they count against
    /// `max_subscriptions_per_session` like the memberships they may become).
    private var pendingGroupJoins = 0
    /// Publish permission per topic, so the per-PUBLISH check is one hash lookup on the topic's
    /// bytes. 8 KiB per session (~64 short topics, at least 7 of limits.max_uri_bytes): a
    /// publisher uses a few topics, and this is paid by every connection. Freed at detach.
    private var publishPermissions = TopicPermissionCache(entryLimit: 128, byteLimit: 8 * 1024)
    /// Holds back the WELCOME or ABORT after an AUTHENTICATE (`deliverVerdict`).
    private var verdictTimer: LoopTimer?

    init(connection: Connection) {
        self.connection = connection
        publishPermissions.gauge = connection.context.metrics.cacheBytes
    }

    var context: LoopContext { connection.context }
    /// The connection's queued-bytes gauge, which consumer-group homes on other loops read.
    var outboundBytes: Counter { connection.outboundBytes }
    /// The serializer this session speaks (negotiated by the transport).
    var format: WireFormat { connection.format }
    var isEstablished: Bool { if case .established = state { true } else { false } }

    // MARK: - Receiving

    /// Handles one message; the view's bytes are valid only during this call.
    func receive(_ message: WampMessageView) {
        context.loop.assertInLoopThread()
        guard message.count >= 1, let code = message.unsignedInteger(0) else {
            return protocolViolation("a WAMP message must be an array starting with an integer message type")
        }
        switch state {
        case .awaitingHello:
            guard code == WampCode.hello else {
                return protocolViolation("\(WampCode.name(code)) before WELCOME: the first message must be HELLO")
            }
            handleHello(message)
        case .challenged(let challenge):
            guard code == WampCode.authenticate else {
                return protocolViolation("\(WampCode.name(code)) while authenticating: expected AUTHENTICATE")
            }
            handleAuthenticate(message, challenge)
        case .awaitingVerdict:
            break   // the verdict is decided; nothing the client sends now changes it
        case .established:
            switch code {
            case WampCode.publish: handlePublish(message)
            case WampCode.subscribe: handleSubscribe(message)
            case WampCode.unsubscribe: handleUnsubscribe(message)
            case WampCode.goodbye: handleGoodbye(message)
            case WampCode.hello: protocolViolation("HELLO on an established session")
            default:
                protocolViolation("\(WampCode.name(code)) is not a message a client sends to a broker")
            }
        case .closing:
            if code == WampCode.goodbye { finish(reason: "goodbye after shutdown") }
        case .closed:
            break
        }
    }

    // MARK: - Opening

    private func handleHello(_ m: WampMessageView) {
        guard m.count == 3, m.kind(1) == .string, let details = m.object(2) else {
            return protocolViolation("HELLO must be [1, Realm|uri, Details|dict]")
        }
        let realmName = m.string(1)!
        id = context.ids.next()
        guard let realm = context.server.realms[BytewiseString(realmName)] else {
            return abort(message: "The realm does not exist.", reason: WampURI.noSuchRealm)
        }
        self.realm = realm
        switch realm.authenticator.decide(hello: details, session: id) {
        case .malformed(let problem):
            protocolViolation(problem)
        case .refuse(let message):
            abort(message: message, reason: WampURI.notAuthorized)
        case .challenge(let challenge):
            state = .challenged(challenge)
            identity = SessionIdentity(authid: challenge.authid, authrole: challenge.authrole, authmethod: challenge.method,
                                       authprovider: "userdb")
            connection.send { out in WampEncoder.challenge(method: challenge.method, extra: challenge.extra, format: format, into: &out) }
        case .anonymous(let authid):
            identity = SessionIdentity(authid: anonymousAuthid(requested: authid, realm: realm), authrole: realm.config.anonymousRole!,
                                       authmethod: "anonymous", authprovider: "static")
            welcome()
        }
    }

    /// SPEC §3: the broker picks an anonymous session's authid; the HELLO's is kept only where the
    /// realm allows it and it names no userdb user (else anyone could act as that user in
    /// eligible_authid/exclude_authid and publisher_authid). An empty authid counts as none.
    private func anonymousAuthid(requested: String?, realm: Realm) -> String {
        if let requested, !requested.isEmpty, realm.config.anonymousKeepsAuthid,
           !realm.authenticator.knowsUser(requested) {
            return requested
        }
        return Self.anonymousAuthid()
    }

    private func handleAuthenticate(_ m: WampMessageView, _ challenge: AuthChallenge) {
        guard m.count == 3, m.kind(1) == .string, m.object(2) != nil else {
            return protocolViolation("AUTHENTICATE must be [5, Signature|string, Extra|dict]")
        }
        // Unknown authids and wrong secrets take the same path: the same throttle, delay and ABORT.
        let verified = challenge.verify(m.string(1)!)
        let throttle = realm!.authThrottle
        if verified {
            deliverVerdict(after: throttle.recordSuccess(authid: challenge.throttleKey)) { $0.welcome() }
        } else {
            let delay = throttle.recordFailure(peer: connection.peer, authid: challenge.throttleKey)
            context.log.info("session \(id) authentication failed", metadata: ["authid": "\(LogText.escaped(identity.authid))"])
            deliverVerdict(after: delay) {
                $0.abort(message: challenge.failureMessage, reason: WampURI.notAuthorized)
            }
        }
    }

    /// Sends the verdict after `milliseconds` (at once for 0). Meanwhile the session is inert; if
    /// the transport goes first, the timer is closed with the session (`stopVerdictTimer`).
    private func deliverVerdict(after milliseconds: UInt64, _ verdict: @escaping (Session) -> Void) {
        guard milliseconds > 0 else { return verdict(self) }
        state = .awaitingVerdict
        let timer = LoopTimer(loop: context.loop)
        timer.start(milliseconds: milliseconds) { [weak self] in
            guard let self, case .awaitingVerdict = self.state else { return }
            self.stopVerdictTimer()
            verdict(self)
        }
        verdictTimer = timer
    }

    private func stopVerdictTimer() {
        verdictTimer?.close()
        verdictTimer = nil
    }

    private func welcome() {
        guard let realm else { return }
        router = realm.routers[context.index]
        state = .established
        ref = context.registerSession(self)
        connection.didEstablishSession()
        context.metrics.sessionsOpened.increment()
        context.log.info("session \(id) opened", metadata: [
            "realm": "\(realm.name)", "authid": "\(LogText.escaped(identity.authid))", "authrole": "\(identity.authrole)",
            "authmethod": "\(identity.authmethod)", "peer": "\(connection.peer)",
        ])
        let (id, identity) = (self.id, self.identity)
        connection.send { out in WampEncoder.welcome(session: id, identity: identity, format: format, into: &out) }
    }

    /// A random authid for an anonymous session that gave none, in Crossbar's style
    /// ("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"), so exclude_authid/eligible_authid can tell them apart.
    private static func anonymousAuthid() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789".utf8)   // no 0/O, 1/I
        let random = Crypto.randomBytes(24)
        var text = [UInt8]()
        for (i, byte) in random.enumerated() {
            if i > 0 && i % 4 == 0 { text.append(UInt8(ascii: "-")) }
            text.append(alphabet[Int(byte) % alphabet.count])
        }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: - Pub/sub

    private func handleSubscribe(_ m: WampMessageView) {
        guard m.count == 4, let request = requestID(m), let options = m.object(2), m.kind(3) == .string else {
            return protocolViolation("SUBSCRIBE must be [32, Request|id, Options|dict, Topic|uri]")
        }
        let topic = m.string(3)!
        var match = MatchPolicy.exact
        if options.value(forKey: "match") != nil {
            guard let text = options.string(forKey: "match"), let policy = MatchPolicy(rawValue: text) else {
                return sendError(WampCode.subscribe, request, "options.match must be \"exact\", \"prefix\" or \"wildcard\"", WampURI.invalidArgument)
            }
            match = policy
        }
        var groupType: GroupType? = nil
        if let typeSpan = options.value(forKey: "type") ?? options.value(forKey: "_type") {
            guard typeSpan.kind == .string, let type = GroupType(rawValue: JSONScanner.decodeString(options.buffer, typeSpan)) else {
                return sendError(WampCode.subscribe, request, "options.type must be \"exclusive\", \"shared\" or \"failover\"", WampURI.invalidArgument)
            }
            groupType = type
        }
        var groupName = ""
        if let groupSpan = options.value(forKey: "group") ?? options.value(forKey: "_group") {
            guard groupSpan.kind == .string else {
                return sendError(WampCode.subscribe, request, "options.group must be a string", WampURI.invalidArgument)
            }
            guard groupType != nil else {
                return sendError(WampCode.subscribe, request, "options.group needs options.type (exclusive, shared or failover)", WampURI.invalidArgument)
            }
            groupName = JSONScanner.decodeString(options.buffer, groupSpan)
        }
        var filter: FilterProgram? = nil
        switch SubscriptionFilter.compile(from: options) {
        case .failure(let refusal)?:
            return sendError(WampCode.subscribe, request, refusal.message, refusal.uri)
        case .success(let program)?:
            filter = program
        case nil:
            break
        }
        if let tooLong = uriLengthProblem(topic.utf8.count) {
            return sendError(WampCode.subscribe, request, tooLong, WampURI.invalidURI)
        }
        var topicText = topic
        guard topicText.withUTF8({ URIPattern.isValidPattern(UnsafeRawBufferPointer($0), policy: match) }) else {
            return sendError(WampCode.subscribe, request, "invalid topic URI \"\(topic)\" for match \(match.rawValue)", WampURI.invalidURI)
        }
        // Which topics of the pattern the role may receive (Config/PatternPermission.swift).
        let verdict = realm!.config.subscribeVerdict(role: identity.authrole, pattern: topic, match: match)
        guard verdict != .denied else {
            let what = match == .exact ? topic : "any topic matching \(match.rawValue) pattern \"\(topic)\""
            return sendError(WampCode.subscribe, request, "role \(identity.authrole) may not subscribe to \(what)", WampURI.notAuthorized)
        }
        let topicCheckRole = verdict == .perTopic ? realm!.config.roleIndex(named: identity.authrole) : nil
        if let groupType {
            let key = SubscriptionKey(topic: topic, match: match, filterFingerprint: filter?.fingerprint, groupType: groupType, group: groupName)
            guard !isAtSubscriptionLimit(unlessHolding: key) else { return refuseSubscriptionOverLimit(request) }
            pendingGroupJoins += 1
            let group = GroupKey(topic: topic, match: match, group: groupName)
            let member = GroupMember(session: self, owner: ref!, realm: realm!, key: key, group: group, filter: filter,
                                     topicCheckRole: topicCheckRole)
            context.send(GroupJoin(type: groupType, member: member, request: request), to: member.home)
            return   // SUBSCRIBED or ERROR when the group's home loop answers (groupJoinCompleted)
        }
        let key = SubscriptionKey(topic: topic, match: match, filterFingerprint: filter?.fingerprint)
        guard !isAtSubscriptionLimit(unlessHolding: key) else { return refuseSubscriptionOverLimit(request) }
        let subscription = router!.subscribe(self, key: key, filter: filter, topicCheckRole: topicCheckRole)
        subscriptions[subscription.id] = subscription
        connection.send { out in WampEncoder.acknowledgement(code: WampCode.subscribed, request: request, id: subscription.id, format: format, into: &out) }
    }

    /// Whether a new subscription would exceed `max_subscriptions_per_session` (subscriptions,
    /// group memberships and pending group joins); an identical re-subscribe, which returns the
    /// id it already has, does not count (a hash lookup; for groups a scan of the memberships,
    /// only at the limit).
    private func isAtSubscriptionLimit(unlessHolding key: SubscriptionKey) -> Bool {
        let limit = context.server.configuration.limits.maxSubscriptionsPerSession
        guard subscriptions.count + memberships.count + pendingGroupJoins >= limit else { return false }
        if key.groupType != nil { return !memberships.values.contains { $0.member.key == key } }
        guard let existing = router!.existingSubscription(key) else { return true }
        return subscriptions[existing.id] !== existing
    }

    private func refuseSubscriptionOverLimit(_ request: UInt64) {
        let limit = context.server.configuration.limits.maxSubscriptionsPerSession
        context.metrics.limitRefusals[.maxSubscriptionsPerSession].increment()
        sendError(WampCode.subscribe, request, "this session already holds \(limit) subscriptions (max_subscriptions_per_session)", WampURI.limitExceeded)
    }

    private func handleUnsubscribe(_ m: WampMessageView) {
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
        router!.unsubscribe(self, from: subscription)
        connection.send { out in WampEncoder.unsubscribed(request: request, format: format, into: &out) }
    }

    private func handlePublish(_ m: WampMessageView) {
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
        withStringBytes(m, 3) { topic in publish(m, request: request, options: options, topic: topic) }
    }

    private func publish(_ m: WampMessageView, request: UInt64, options: JSONObjectView, topic: UnsafeRawBufferPointer) {
        let parsed: PublishOptions
        switch PublishOptions.parse(options, maxListEntries: context.server.configuration.limits.maxListOptionEntries) {
        case .success(let p):
            parsed = p
        case .failure(let refusal):
            // Silent unless the publisher asked for an acknowledgement; counted either way.
            if let limit = refusal.limit { context.metrics.limitRefusals[limit].increment() }
            return refusePublish(refusal.acknowledge, request, refusal.message, refusal.uri)
        }
        if let tooLong = uriLengthProblem(topic.count) {
            return refusePublish(parsed.acknowledge, request, tooLong, WampURI.invalidURI)
        }
        guard URIPattern.isValidTopic(topic) else {
            return refusePublish(parsed.acknowledge, request, "invalid topic URI \"\(String(decoding: topic, as: UTF8.self))\"", WampURI.invalidURI)
        }
        guard mayPublish(topic) else {
            return refusePublish(parsed.acknowledge, request, "role \(identity.authrole) may not publish to \(String(decoding: topic, as: UTF8.self))", WampURI.notAuthorized)
        }
        let publication = Publication(
            id: context.ids.next(), topic: topic, format: m.format,
            args: m.count >= 5 ? m.bytes(4) : UnsafeRawBufferPointer(start: nil, count: 0),
            kwargs: m.count == 6 ? m.bytes(5) : UnsafeRawBufferPointer(start: nil, count: 0),
            excludedSession: parsed.excludeMe ? id : 0,
            disclosedPublisher: parsed.discloseMe ? PublisherInfo(session: id, authid: identity.authid, authrole: identity.authrole) : nil,
            rules: parsed.rules)
        let delivered = router!.publish(publication, pool: context.bufferPool)
        context.metrics.eventsDelivered.increment(by: delivered)
        context.forwardToOtherLoops(publication, realm: realm!, transcoded: router!.transcoding(for: publication.id))
        if parsed.acknowledge {
            connection.send { out in WampEncoder.acknowledgement(code: WampCode.published, request: request, id: publication.id, format: format, into: &out) }
        }
    }

    /// Why a topic or pattern of `length` UTF-8 bytes is refused, or nil when it is within
    /// limits.max_uri_bytes (which also bounds what the index and the caches copy per URI).
    private func uriLengthProblem(_ length: Int) -> String? {
        let limit = context.server.configuration.limits.maxURIBytes
        return length > limit ? "URI of \(length) bytes is longer than limits.max_uri_bytes (\(limit))" : nil
    }

    /// One hash lookup per PUBLISH; the permission rules run once per distinct topic.
    private func mayPublish(_ topic: UnsafeRawBufferPointer) -> Bool {
        if let allowed = publishPermissions.verdict(role: 0, topic: topic) { return allowed }
        let allowed = realm!.isAllowed(role: identity.authrole, action: .publish, uri: String(decoding: topic, as: UTF8.self))
        publishPermissions.record(allowed, role: 0, topic: topic)   // one role per session
        return allowed
    }

    /// Calls `body` with the decoded UTF-8 of string element `index`: the message's own bytes when
    /// the string has no escapes (the common case, no allocation), else a decoded copy.
    private func withStringBytes(_ m: WampMessageView, _ index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        if let inner = m.rawString(index) {
            body(inner)
        } else {
            var decoded = m.string(index)!
            decoded.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }

    private func refusePublish(_ acknowledge: Bool, _ request: UInt64, _ message: String, _ uri: String) {
        context.metrics.publicationsRefused.increment()
        if acknowledge { sendError(WampCode.publish, request, message, uri) }
    }

    /// Queues an EVENT; false when the connection refused it (slow consumer).
    func deliver(_ message: MessageBuffer) -> Bool {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
        return connection.enqueueEvent(message)
    }

    // MARK: - Consumer groups (member side)

    /// The group's home loop answered a SUBSCRIBE with a type (LoopContext resolved the session).
    func groupJoinCompleted(_ result: GroupJoinResult) {
        context.loop.assertInLoopThread()
        pendingGroupJoins -= 1
        guard isEstablished else { return context.dropUnclaimed(result) }
        switch result.outcome {
        case .refused(let message, let uri):
            sendError(WampCode.subscribe, result.request, message, uri)
        case .joined(let member, let id):
            if membershipsByMember[ObjectIdentifier(member)] == nil {
                let membership = GroupMembership(member: member, subscriptionID: id)
                memberships[id] = membership
                membershipsByMember[ObjectIdentifier(member)] = membership
            }
            connection.send { out in WampEncoder.acknowledgement(code: WampCode.subscribed, request: result.request, id: id, format: format, into: &out) }
        }
    }

    /// An event the group's home chose this session for. Sent back if the membership is over.
    func receiveGroupDelivery(_ delivery: GroupDelivery) {
        context.loop.assertInLoopThread()
        let member = delivery.member
        guard isEstablished, let membership = membershipsByMember[ObjectIdentifier(member)] else {
            return context.returnUnclaimed(delivery)
        }
        membership.processed += 1
        membership.recordAccepted(delivery.event.publication.id)
        let message = context.bufferPool.take(capacity: 96 + delivery.event.publication.byteCount)
        let remote = delivery.event.publication
        WampEncoder.event(subscription: membership.subscriptionID, publication: remote.publication, payload: remote.payload(in: format),
                          includeTopic: member.includeTopic, format: format, into: &message.bytes)
        if connection.enqueueGroupEvent(message, delivery: delivery) {
            context.metrics.eventsDelivered.increment()
        } else {
            // Not queued (no room under `drop`, too large for the peer, closing): the home tries
            // the next member.
            context.send(GroupReturn(member: member, event: delivery.event, reason: .notQueued), to: member.home)
        }
        message.recycleIfUnused()
    }

    /// Ends a membership: events not yet handed to the kernel go back to the group's home with
    /// the leave, and later deliveries bounce (receiveGroupDelivery).
    private func leave(_ membership: GroupMembership, reason: String, connectionDying: Bool) {
        memberships[membership.subscriptionID] = nil
        membershipsByMember[ObjectIdentifier(membership.member)] = nil
        let unwritten = connection.takeBackGroupEvents(of: membership.member, connectionDying: connectionDying)
            .map(\.event).sorted { $0.sequence < $1.sequence }
        let member = membership.member
        var handed: [UInt64] = []
        if connectionDying {
            let returned = Set(unwritten.map(\.publication.id))
            handed = membership.recentlyAccepted.filter { !returned.contains($0) }
        }
        context.send(GroupLeave(member: member, processed: membership.processed, unwritten: unwritten,
                                handedToDeadSocket: handed, reason: reason), to: member.home)
    }

    // MARK: - Closing

    private func handleGoodbye(_ m: WampMessageView) {
        guard m.count == 3, m.object(1) != nil, m.kind(2) == .string else {
            return protocolViolation("GOODBYE must be [6, Details|dict, Reason|uri]")
        }
        connection.send { out in WampEncoder.goodbye(message: nil, reason: WampURI.goodbyeAndOut, format: format, into: &out) }
        finish(reason: "client goodbye (\(m.string(2)!))")
    }

    /// Broker shutdown: say GOODBYE and wait for the reply (the server bounds the wait).
    func shutdown() {
        switch state {
        case .established:
            detach()
            state = .closing
            connection.send { out in WampEncoder.goodbye(message: "Broker shutting down", reason: WampURI.systemShutdown, format: format, into: &out) }
        case .closing, .closed:
            break
        case .awaitingHello, .challenged, .awaitingVerdict:
            abort(message: "Broker shutting down", reason: WampURI.systemShutdown)
        }
    }

    func protocolViolation(_ message: String) {
        context.metrics.protocolViolations.increment()
        abort(message: message, reason: WampURI.protocolViolation)
    }

    /// Sends ABORT and closes the connection once it is written.
    func abort(message: String, reason: String) {
        if case .closed = state { return }
        let message = LogText.capped(message)   // it may quote client input
        connection.send { out in WampEncoder.abort(message: message, reason: reason, format: format, into: &out) }
        finish(reason: "\(reason): \(message)")
    }

    /// Ends the session: leaves the router, closes the connection after pending output.
    func finish(reason: String) {
        if case .closed = state { return }
        let wasOpen = router != nil
        detach()
        stopVerdictTimer()
        state = .closed
        if wasOpen || id != 0 {
            context.log.info("session \(id) closed", metadata: ["reason": "\(LogText.escaped(reason))", "peer": "\(connection.peer)"])
        }
        if wasOpen { context.metrics.sessionsClosed.increment() }
        connection.closeAfterFlush()
    }

    /// The transport went away under the session (disconnect, transport error).
    func transportClosed(reason: String) {
        context.loop.assertInLoopThread()
        if case .closed = state { return }
        let wasOpen = router != nil
        detach(connectionDying: true, reason: reason)
        stopVerdictTimer()
        state = .closed
        if wasOpen {
            context.metrics.sessionsClosed.increment()
            context.log.info("session \(id) closed", metadata: ["reason": "\(LogText.escaped(reason))", "peer": "\(connection.peer)"])
        }
    }

    /// Leaves every subscription and group; after this, no event reaches the session.
    private func detach(connectionDying: Bool = false, reason: String = "session closed") {
        guard let router else { return }
        // Many subscriptions are left over the next loop turns, a time-boxed batch each.
        router.unsubscribeClosed(self, from: Array(subscriptions.values))
        subscriptions.removeAll()
        publishPermissions.release()
        for membership in Array(memberships.values) { leave(membership, reason: reason, connectionDying: connectionDying) }
        self.router = nil
        // From here on, group traffic for this session no longer resolves: it bounces home.
        if let ref { context.unregisterSession(ref) }
        ref = nil
    }

    // MARK: - Helpers

    private func requestID(_ m: WampMessageView) -> UInt64? {
        guard let value = m.unsignedInteger(1), value >= 1, value <= maxWampID else { return nil }
        return value
    }

    private func sendError(_ type: UInt64, _ request: UInt64, _ message: String, _ uri: String) {
        let message = LogText.capped(message)   // it may quote client input (URIs)
        connection.send { out in WampEncoder.error(requestType: type, request: request, message: message, uri: uri, format: format, into: &out) }
    }
}
