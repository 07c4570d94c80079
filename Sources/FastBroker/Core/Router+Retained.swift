// Event retention on a router (SPEC §5): keeping a retained publication in the realm's store
// (RetainedEvents, shared by all loops) and sending a new subscription the retained events it
// matches. Neither is on the plain publish path: Session calls them only for PUBLISH with
// `retain` and SUBSCRIBE with `get_retained`. Runs on the router's loop thread.
//
// A retained event goes to a new subscriber when the subscriber would have received that
// publication live: its topic passes the role's permission check (for partly permitted
// patterns), the subscription's filter, and the exclude/eligible lists; `exclude_me` does not
// apply. The EVENTs are queued right after SUBSCRIBED, in the same loop turn, so they precede
// every live event the subscription gets later.
//
// Across nodes (a cluster), ClusterRetainedMirror keeps the event here and sends it to the
// other nodes, which mirror it into their own stores; `get_retained` reads only this node's.
//
// Across loops nothing is lost: the publishing loop stores the event before it fans out, and a
// subscribing loop counts its subscription (Realm.subscriptionsPerLoop, which the fan-out reads
// to skip loops) before it reads the store; the store's lock orders the two, so either the
// snapshot holds the event or the fan-out sees the subscription. Both may happen: a publication
// retained on another loop while the SUBSCRIBE is handled can arrive as retained and then live.

import BrokerConfig
import BrokerSerialization

extension Router {
    /// Keeps `publication` as its topic's retained event, evicting the oldest topics past the limit.
    /// In a cluster the event also goes to the other nodes (ClusterRetainedMirror).
    func retain(_ publication: Publication) {
        let outcome = if let cluster = (clusterForwarding as? ClusterBridge)?.retained {
            cluster.retain(publication, clear: false, in: realm)
        } else {
            realm.retainedEvents.retain(RetainedEvent(publication))
        }
        switch outcome {
        case .kept(let evicted): context.metrics.retainedEvictions.increment(by: evicted)
        case .tooLarge: context.metrics.limitRefusals[.maxRetainedBytes].increment()
        }
    }

    /// Clears the topic's retained event (a retained PUBLISH with neither args nor kwargs), on
    /// every node in a cluster.
    func clearRetained(_ publication: Publication) {
        if let cluster = (clusterForwarding as? ClusterBridge)?.retained {
            cluster.retain(publication, clear: true, in: realm)
        } else {
            realm.retainedEvents.clear(topic: publication.topic)
        }
    }

    /// Queues on `session` the retained events `subscription` matches, each with
    /// `"retained": true`; stops at the first the session's queue has no room for (it follows
    /// slow_consumer: dropped, or the session is being disconnected), so a full queue costs no
    /// more encoding. One too large for a RawSocket peer is skipped (counted as oversize).
    /// `topicCheckRole`: the role to check each topic for, as in `subscribe`. Returns how many
    /// were queued.
    @discardableResult
    func sendRetained(of subscription: Subscription, to session: Session, topicCheckRole: Int?) -> Int {
        context.loop.assertInLoopThread()
        let events = realm.retainedEvents.matching(subscription.key.topic.bytes, policy: subscription.key.match)
        var queued = 0
        for event in events {
            let outcome = event.withPublication { publication -> RetainedDelivery? in
                if let rules = publication.rules,
                   !rules.admits(session: session.id, authid: session.identity.authid, authrole: session.identity.authrole) {
                    return nil
                }
                if let role = topicCheckRole, !mayReceive(publication.topic, role: role) { return nil }
                if let filter = subscription.filter {
                    filterMemo.startEvent()   // a new event for the memo: no verdict carries over
                    guard filterMemo.passes(filter, slot: subscription.filterSlot, publication) else { return nil }
                }
                return queueRetained(publication, of: subscription, to: session)
            }
            switch outcome {
            case nil, .skipped?: continue
            case .queued?: queued += 1
            case .noRoom?: return queued
            }
        }
        return queued
    }

    /// What became of one retained EVENT: queued; skipped (too large for the peer); or the
    /// session's queue had no room.
    private enum RetainedDelivery { case queued, skipped, noRoom }

    /// Encodes one retained EVENT in the subscriber's format (transcoded for it when the
    /// publisher used another; not cached, so the store holds only what it charges) and queues it.

    private func queueRetained(_ publication: Publication, of subscription: Subscription, to session: Session) -> RetainedDelivery {
        let format = session.format
        var transcoded: TranscodedPayload? = nil
        if format != publication.format {
            // Validated on arrival, so this always transcodes; if not, nothing wrong is sent.
            guard let made = TranscodedPayload(publication.payload, from: publication.format, to: format) else { return .skipped }
            transcoded = made
        }
        let payload = transcoded?.payload ?? publication.payload
        let message = withExtendedLifetime(transcoded) {
            WampEncoder.event(subscription: subscription.id, publication: publication, payload: payload,
                              includeTopic: subscription.key.match != .exact, format: format,
                              pool: context.bufferPool, retained: true)
        }
        let accepted = session.deliver(message)
        let tooLarge = message.count > session.connection.peerMaxMessageBytes
        message.recycleIfUnused()
        return accepted ? .queued : tooLarge ? .skipped : .noRoom
    }
}
