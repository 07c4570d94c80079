// ClusterBridge: plugs the cluster component (BrokerCluster's ClusterNode) into this broker.
//
//   out       each router's `clusterForwarding` (step 4 of Router.publish, on the publisher's
//             loop thread): the publication becomes an envelope and one NATS publish.
//   in        ClusterDelivery, on the cluster's delivery thread: the envelope becomes a
//             RemotePublication pushed into the inbox (lock-free MPSC) of every loop with
//             subscriptions in the realm, with a wake-up;
//             each loop runs steps 1–2 only (its own subscribers and groups), never re-forwards.
//             An inbox that is full drops the event and counts it (reason "inbox_full").
//   interest  each realm's SubscriptionRegistry reports a subscription key's first and last
//             holder; the node keeps one NATS subscription per subject, reference-counted.
//
// Session ids are random per session (WAMP), so exclude/eligible lists and exclude_me carried
// from another node name the same sessions here. Consumer groups stay per node for now (issue 11
// item 4: leases via ClusterLeaseStore).

import BrokerCluster
import BrokerConfig
import BrokerSerialization
import Logging
import BrokerSync
import Synchronization

final class ClusterBridge: PublicationForwarding, ClusterDelivery, SubscriptionInterestObserver, @unchecked Sendable {
    let node: ClusterNode
    /// Fixed after init; read on the delivery thread.
    private let realmsByName: [String: Realm]
    private let contexts: [LoopContext]
    private let lostInboxFull = Atomic<UInt64>(0)
    private let lostUnknownRealm = Atomic<UInt64>(0)
    private let lostMalformed = Atomic<UInt64>(0)
    /// Set by `stop`; held around each hand-over, so once `stop` returns no inbox is signalled
    /// (BrokerServer closes the inboxes' wake-ups right after).
    private let stopped = PThreadLock(false)

    init(server: BrokerServer, config: ClusterConfig, log: Logger) throws {
        let logger = log
        node = ClusterNode(nodeName: config.node, log: { logger.info("\($0)") })
        var byName: [String: Realm] = [:]
        for realm in server.realms.values { byName[realm.name] = realm }
        realmsByName = byName
        contexts = server.contexts
        try node.start(servers: config.servers, delivery: self)
        for realm in server.realms.values {
            realm.subscriptionIDs.setInterestObserver(self, realm: realm.name)
            for router in realm.routers { router.clusterForwarding = self }
        }
        log.info("cluster: node \(config.node) joining NATS at \(config.servers.joined(separator: ", "))")
    }

    func stop() {
        stopped.withLock { $0 = true }
        node.stop()
    }

    // MARK: - Out (publisher's loop thread)

    func forward(_ publication: Publication, in realm: Realm, copy: () -> RemotePublication) {
        let publisher = publication.disclosedPublisher
        node.publish(ClusterPublication(
            realm: realm.name, topic: String(decoding: publication.topic, as: UTF8.self), publicationID: publication.id,
            publisherSession: publisher?.session ?? publication.excludedSession,
            authid: publisher?.authid ?? "", authrole: publisher?.authrole ?? "", discloseMe: publisher != nil,
            excludeMe: publication.excludedSession != 0, format: publication.format.rawValue,
            options: ClusterRules.encode(publication.rules), args: Array(publication.args), kwargs: Array(publication.kwargs)))
    }

    // MARK: - In (the cluster's delivery thread)

    func deliver(_ incoming: ClusterPublication) {
        guard let realm = realmsByName[incoming.realm] else {
            lostUnknownRealm.wrappingAdd(1, ordering: .relaxed)
            return
        }
        guard let format = WireFormat(rawValue: incoming.format), let rules = ClusterRules.decode(incoming.options) else {
            lostMalformed.wrappingAdd(1, ordering: .relaxed)
            return
        }
        // Only loops with subscriptions in the realm (the same test local cross-loop fan-out uses).
        let destinations = contexts.filter { realm.subscriptionsPerLoop[$0.index].current > 0 }
        if destinations.isEmpty { return }
        var topicText = incoming.topic
        let remote = topicText.withUTF8 { topic in
            incoming.args.withUnsafeBytes { args in
                incoming.kwargs.withUnsafeBytes { kwargs in
                    RemotePublication(realm: realm, Publication(
                        id: incoming.publicationID, topic: UnsafeRawBufferPointer(topic), format: format, args: args, kwargs: kwargs,
                        excludedSession: incoming.excludeMe ? incoming.publisherSession : 0,
                        disclosedPublisher: incoming.discloseMe
                            ? PublisherInfo(session: incoming.publisherSession, authid: incoming.authid, authrole: incoming.authrole) : nil,
                        rules: rules))
                }
            }
        }
        stopped.withLock { stopped in
            guard !stopped else { return }
            for context in destinations {
                if context.inbox.enqueue(.publication(remote)) {
                    context.inboxWakeup.signal()
                } else {
                    lostInboxFull.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
    }

    // MARK: - Interest (subscribing loop thread, under the registry's lock)

    func interestAdded(realm: String, key: SubscriptionKey) {
        node.addInterest(realm: realm, pattern: key.topic.string, match: key.match)
    }

    func interestRemoved(realm: String, key: SubscriptionKey) {
        node.removeInterest(realm: realm, pattern: key.topic.string, match: key.match)
    }

    /// Lines for the metrics endpoint.
    var prometheusText: String {
        node.metrics.prometheusText(moreLost: [
            ("inbox_full", lostInboxFull.load(ordering: .relaxed)), ("unknown_realm", lostUnknownRealm.load(ordering: .relaxed)),
            ("malformed_options", lostMalformed.load(ordering: .relaxed)),
        ])
    }
}
