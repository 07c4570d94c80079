// The pub/sub core of one realm on one loop: subscriptions of this loop's sessions (ids shared
// with other loops through the realm's registry) and publication fan-out. Each subscription's
// EVENT is encoded once per loop into a pooled MessageBuffer, and the same buffer is queued on
// every subscriber's connection.

import BrokerConfig

final class Router {
    unowned(unsafe) var realm: Realm!
    var loopIndex = 0
    // All fields below: owned by this router's loop thread.
    private let index = SubscriptionIndex()
    private var byKey: [SubscriptionKey: Subscription] = [:]

    /// Adds `session` to the subscription for `key`, creating it if needed. A session subscribing
    /// twice gets the same subscription back.
    func subscribe(_ session: Session, key: SubscriptionKey) -> Subscription {
        let subscription: Subscription
        if let existing = byKey[key] {
            subscription = existing
        } else {
            subscription = Subscription(id: realm.subscriptionIDs.acquire(key), key: key)
            byKey[key] = subscription
            index.insert(subscription)
            realm.subscriptionsPerLoop[loopIndex].increment()
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
            realm.subscriptionIDs.release(subscription.key)
            realm.subscriptionsPerLoop[loopIndex].increment(by: -1)
        }
    }

    /// Delivers `publication` to every matching subscriber on this loop; returns the number of
    /// EVENTs queued.
    @discardableResult
    func publish(_ publication: Publication, pool: MessageBufferPool) -> Int {
        var delivered = 0
        index.forEachMatch(publication.topic) { subscription in
            var message: MessageBuffer? = nil
            let subscribers = subscription.subscribers
            // Index loops, not for-in: an unspecialized (debug) IndexingIterator allocates.
            var i = 0
            while i < subscribers.count {
                let subscriber = subscribers[i]
                i += 1
                if subscriber.id == publication.excludedSession { continue }
                if let rules = publication.rules,
                   !rules.admits(session: subscriber.id, authid: subscriber.identity.authid, authrole: subscriber.identity.authrole) {
                    continue
                }
                if message == nil {
                    let buffer = pool.take(capacity: 96 + publication.topic.count + publication.args.count + publication.kwargs.count)
                    WampEncoder.event(subscription: subscription.id, publication: publication,
                                      includeTopic: subscription.key.match != .exact, into: &buffer.bytes)
                    message = buffer
                }
                if subscriber.deliver(message!) { delivered += 1 }
            }
            message?.recycleIfUnused()
        }
        return delivered
    }
}
