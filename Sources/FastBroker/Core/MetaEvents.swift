// The broker's meta events (SPEC §5, WAMP advanced profile): wamp.session.on_join/on_leave and
// wamp.subscription.on_create/on_subscribe/on_unsubscribe/on_delete, with Crossbar's shapes.
// They are publications the broker makes into the realm: args written once as JSON, then the
// router's ordinary fan-out (this loop's subscribers, then the other loops through their
// inboxes; never other cluster nodes, whose sessions have their own broker), so permissions,
// filters and serializers apply as to any event, with no publisher disclosed.
//
// Cost when nobody listens: each announce first asks the realm's SubscriptionRegistry whether
// some subscription matches the meta topic (one atomic load) and builds nothing otherwise.
// Called on the router's loop thread. Subscriptions to wamp.* topics are not announced.

import BrokerSecurity
import BrokerSerialization

/// The meta topics; rawValue is a bit index in SubscriptionRegistry's listened mask.
enum MetaTopic: Int, CaseIterable {
    case sessionJoin, sessionLeave, subscriptionCreate, subscriptionSubscribe, subscriptionUnsubscribe, subscriptionDelete

    var uri: StaticString {
        switch self {
        case .sessionJoin: "wamp.session.on_join"
        case .sessionLeave: "wamp.session.on_leave"
        case .subscriptionCreate: "wamp.subscription.on_create"
        case .subscriptionSubscribe: "wamp.subscription.on_subscribe"
        case .subscriptionUnsubscribe: "wamp.subscription.on_unsubscribe"
        case .subscriptionDelete: "wamp.subscription.on_delete"
        }
    }

    /// The URI's UTF-8 (static storage).
    var uriBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: uri.utf8Start, count: uri.utf8CodeUnitCount) }

    /// The meta topics a subscription with `key` receives, as a bit mask (at subscription
    /// creation and deletion only: six pattern matches).
    static func matched(by key: SubscriptionKey) -> UInt8 {
        var mask: UInt8 = 0
        for topic in allCases {
            if key.match.matches(pattern: key.topic.bytes, uri: topic.uriBytes) { mask |= 1 << topic.rawValue }
        }
        return mask
    }
}

extension Router {
    /// wamp.session.on_join: `[{session, authid, authrole, authmethod, authprovider, transport}]`.
    func announceJoin(_ session: Session) {
        announce(.sessionJoin) {
            let connection = session.connection
            let transport = JSONValue.object([
                ("type", .string(connection.listener.transport == .rawsocket ? "rawsocket" : "websocket")),
                ("protocol", .string(connection.format.serializerKind.webSocketSubprotocol)),
                ("tls", .bool(connection.tls != nil)),
            ])
            return [.object([
                ("session", .number(JSONNumber(session.id))),
                ("authid", .string(session.identity.authid)), ("authrole", .string(session.identity.authrole)),
                ("authmethod", .string(session.identity.authmethod)), ("authprovider", .string(session.identity.authprovider)),
                ("transport", transport),
            ])]
        }
    }

    /// wamp.session.on_leave: `[session, authid, authrole]`, after the session's unsubscribes.
    func announceLeave(_ session: Session) {
        announce(.sessionLeave) {
            [.number(JSONNumber(session.id)), .string(session.identity.authid), .string(session.identity.authrole)]
        }
    }

    /// on_create (when `created`: the realm's first holder) then on_subscribe, for a session that
    /// was not yet on `subscription`.
    func announceSubscribe(_ session: Session, to subscription: Subscription, created: Bool) {
        guard !Self.isMetaTopic(subscription) else { return }
        if created {
            announce(.subscriptionCreate) {
                [.number(JSONNumber(session.id)), .object([
                    ("id", .number(JSONNumber(subscription.id))), ("created", .string(ISO8601Timestamp.now())),
                    ("uri", .string(subscription.topic.string)), ("match", .string(subscription.key.match.rawValue)),
                ])]
            }
        }
        announce(.subscriptionSubscribe) { [.number(JSONNumber(session.id)), .number(JSONNumber(subscription.id))] }
    }

    /// on_unsubscribe, then on_delete when `deleted` (the realm's last holder left). True when
    /// an event was published (the teardown then checks its time slice at once).
    @discardableResult
    func announceUnsubscribe(_ session: Session, from subscription: Subscription, deleted: Bool) -> Bool {
        guard !Self.isMetaTopic(subscription) else { return false }
        var published = announce(.subscriptionUnsubscribe) { [.number(JSONNumber(session.id)), .number(JSONNumber(subscription.id))] }
        if deleted {
            published = announce(.subscriptionDelete) { [.number(JSONNumber(session.id)), .number(JSONNumber(subscription.id))] } || published
        }
        return published
    }

    /// Subscriptions to the broker's own wamp.* topics are not announced (as in Crossbar).
    private static func isMetaTopic(_ subscription: Subscription) -> Bool {
        subscription.topic.bytes.starts(with: "wamp.".utf8)
    }

    /// Publishes `topic` with args `arguments()` when some subscription in the realm matches it;
    /// nothing is built otherwise. True when published.
    @discardableResult
    private func announce(_ topic: MetaTopic, _ arguments: () -> [JSONValue]) -> Bool {
        guard realm.subscriptionIDs.isListened(topic) else { return false }
        var args: [UInt8] = []
        JSONWriter.appendValue(.array(arguments()), to: &args)
        args.withUnsafeBytes { args in
            let publication = Publication(
                id: context.ids.next(), topic: topic.uriBytes,
                format: .json, args: args, kwargs: UnsafeRawBufferPointer(start: nil, count: 0),
                excludedSession: 0, disclosedPublisher: nil, rules: nil)
            var copy: RemotePublication? = nil
            context.metrics.eventsDelivered.increment(by: publish(publication, pool: context.bufferPool))
            context.forwardToOtherLoops(in: realm) { sharedCopy(of: publication, &copy) }
        }
        return true
    }
}
