// The pub/sub core of one realm on one loop: subscriptions of this loop's sessions, shared by
// identical SUBSCRIBEs, and publication fan-out. Each subscription's EVENT is encoded once and
// the same MessageBuffer is queued on every subscriber's connection.

import BrokerConfig

final class Router {
    unowned(unsafe) var realm: Realm!
    // All fields: owned by this router's loop thread.
    private let index = SubscriptionIndex()
    private var byKey: [SubscriptionKey: Subscription] = [:]
    private(set) var byID: [UInt64: Subscription] = [:]
    private var nextSubscriptionID: UInt64 = 1

    /// Adds `session` to the subscription for `key`, creating it if needed. A session subscribing
    /// twice gets the same subscription back.
    func subscribe(_ session: Session, key: SubscriptionKey) -> Subscription {
        let subscription: Subscription
        if let existing = byKey[key] {
            subscription = existing
        } else {
            subscription = Subscription(id: nextSubscriptionID, key: key)
            nextSubscriptionID += 1
            byKey[key] = subscription
            byID[subscription.id] = subscription
            index.insert(subscription)
        }
        if !subscription.subscribers.contains(where: { $0 === session }) {
            subscription.subscribers.append(session)
        }
        return subscription
    }

    func unsubscribe(_ session: Session, from subscription: Subscription) {
        subscription.subscribers.removeAll { $0 === session }
        if subscription.subscribers.isEmpty {
            index.remove(subscription)
            byKey[subscription.key] = nil
            byID[subscription.id] = nil
        }
    }

    /// Delivers `publication` to every matching subscriber; returns the number of EVENTs queued.
    @discardableResult
    func publish(_ publication: Publication) -> Int {
        var delivered = 0
        index.forEachMatch(publication.topic) { subscription in
            var message: MessageBuffer? = nil
            for subscriber in subscription.subscribers {
                if subscriber === publication.excludedSession { continue }
                if let rules = publication.rules,
                   !rules.admits(session: subscriber.id, authid: subscriber.identity.authid, authrole: subscriber.identity.authrole) {
                    continue
                }
                if message == nil {
                    let buffer = MessageBuffer(capacity: 64 + publication.args.count + publication.kwargs.count)
                    WampEncoder.event(subscription: subscription.id, publication: publication,
                                      includeTopic: subscription.key.match != .exact, into: &buffer.bytes)
                    message = buffer
                }
                if subscriber.deliver(message!) { delivered += 1 }
            }
        }
        return delivered
    }
}
