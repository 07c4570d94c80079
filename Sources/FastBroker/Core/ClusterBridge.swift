// ClusterBridge: plugs the cluster component (BrokerCluster's ClusterNode) into this broker.
//
//   out       each router's `clusterForwarding` (step 4 of Router.publish, on the publisher's
//             loop thread): the publication becomes an envelope and one NATS publish.
//   in        ClusterDelivery, on the cluster's delivery thread: the envelope becomes a
//             RemotePublication pushed into the inbox (lock-free MPSC) of every loop with
//             subscriptions in the realm, with a wake-up;
//             each loop runs step 1 only (its own subscribers), never re-forwards.
//             An inbox that is full drops the event and counts it (reason "inbox_full").
//   groups    a clustered broker never dispatches group events from the broadcast path (not even
//             its own publications): a group's home loop reports the group's start and end here
//             and the node consumes the group from NATS (ClusterGroup: a queue subscription for
//             shared groups, the KV lease holder for exclusive/failover). What such a
//             subscription receives goes, as a ClusterGroupPublication, to the group's home loop
//             only, which hands it to one member (Router+Groups).
//   interest  each realm's SubscriptionRegistry reports a subscription key's first and last
//             holder; the node keeps one NATS subscription per subject, reference-counted.
//
// Session ids are random per session (WAMP), so exclude/eligible lists and exclude_me carried
// from another node name the same sessions here. Not yet cluster-wide: the exclusive refusal and
// the type-mismatch check (each node checks its own members; its lease decides who consumes).

import BrokerCluster
import BrokerConfig
import BrokerSerialization
import Logging
import BrokerSync
import Synchronization

final class ClusterBridge: PublicationForwarding, ClusterDelivery, SubscriptionInterestObserver, @unchecked Sendable {
    let node: ClusterNode
    /// Retained events across nodes (ClusterRetainedMirror.swift); set once in init, after the
    /// node started (its bucket needs the node's connection).
    private(set) var retained: ClusterRetainedMirror?
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
        node = ClusterNode(nodeName: config.node, groupLeaseTTLMs: config.leaseTTLMs, log: { logger.info("\($0)") })
        var byName: [String: Realm] = [:]
        for realm in server.realms.values { byName[realm.name] = realm }
        realmsByName = byName
        contexts = server.contexts
        try node.start(servers: config.servers, delivery: self)
        retained = ClusterRetainedMirror(node: node, realmsByName: byName,
                                         maxRetainedBytes: server.configuration.limits.maxRetainedBytes, log: { logger.info("\($0)") })
        for realm in server.realms.values {
            realm.subscriptionIDs.setInterestObserver(self, realm: realm.name)
            for router in realm.routers { router.clusterForwarding = self }
        }
        log.info("cluster: node \(config.node) joining NATS at \(config.servers.joined(separator: ", "))")
    }

    func stop() {
        stopped.withLock { $0 = true }
        retained?.retention.stop()   // its JetStream context uses the node's connection
        node.stop()
    }

    // MARK: - Out (publisher's loop thread)

    func forward(_ publication: Publication, in realm: Realm, copy: () -> RemotePublication) {
        node.publish(ClusterPublication(publication, realm: realm.name))
    }

    // MARK: - In (the cluster's delivery thread)

    func deliver(_ incoming: ClusterPublication) {
        guard let (realm, remote) = remotePublication(incoming) else { return }
        // Only loops with subscriptions in the realm (the same test local cross-loop fan-out uses).
        let destinations = contexts.filter { realm.subscriptionsPerLoop[$0.index].current > 0 }
        if destinations.isEmpty { return }
        stopped.withLock { stopped in
            guard !stopped else { return }
            for context in destinations { hand(.publication(remote), to: context) }
        }
    }

    func deliverToGroup(_ incoming: ClusterPublication, group: ClusterGroup) {
        // NATS' '>' is token-wise, a WAMP prefix a string prefix: re-check the topic.
        guard group.match.matches(pattern: group.pattern.utf8, uri: incoming.topic.utf8),
            let (realm, remote) = remotePublication(incoming)
        else { return }
        let key = GroupKey(topic: group.pattern, match: group.match, group: group.name)
        let home = contexts[key.homeLoop(loopCount: realm.routers.count)]
        stopped.withLock { stopped in
            guard !stopped else { return }
            hand(.clusterGroupPublication(ClusterGroupPublication(remote: remote, group: key)), to: home)
        }
    }

    /// The envelope as a loop message; nil (counted) when its realm or options are not ours.
    private func remotePublication(_ incoming: ClusterPublication) -> (Realm, RemotePublication)? {
        guard let realm = realmsByName[incoming.realm] else {
            lostUnknownRealm.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        guard let remote = incoming.withPublication({ RemotePublication(realm: realm, $0) }) else {
            lostMalformed.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        return (realm, remote)
    }

    /// Under `stopped`'s lock: into the loop's inbox with a wake-up, or counted as lost.
    private func hand(_ message: InboxMessage, to context: LoopContext) {
        if context.inbox.enqueue(message) {
            context.inboxWakeup.signal()
        } else {
            lostInboxFull.wrappingAdd(1, ordering: .relaxed)
        }
    }

    // MARK: - Groups (the group's home loop thread)

    func groupStarted(_ group: ConsumerGroup, in realm: Realm) {
        node.joinGroup(clusterGroup(group, in: realm))
    }

    func groupEnded(_ group: ConsumerGroup, in realm: Realm) {
        node.leaveGroup(clusterGroup(group, in: realm))
    }

    private func clusterGroup(_ group: ConsumerGroup, in realm: Realm) -> ClusterGroup {
        let kind: ClusterGroup.Kind = switch group.type {
        case .shared: .shared
        case .exclusive: .exclusive
        case .failover: .failover
        }
        return ClusterGroup(realm: realm.name, pattern: group.key.topic.string, match: group.key.match, name: group.key.group.string, kind: kind)
    }

    // MARK: - Interest (subscribing loop thread, under the registry's lock)

    // Group members' keys are skipped: groups take their events from group subscriptions only,
    // so a node with nothing but group members asks NATS for no broadcast copies.
    func interestAdded(realm: String, key: SubscriptionKey) {
        guard key.groupType == nil else { return }
        node.addInterest(realm: realm, pattern: key.topic.string, match: key.match)
    }

    func interestRemoved(realm: String, key: SubscriptionKey) {
        guard key.groupType == nil else { return }
        node.removeInterest(realm: realm, pattern: key.topic.string, match: key.match)
    }

    /// Lines for the metrics endpoint.
    var prometheusText: String {
        node.metrics.prometheusText(moreLost: [
            ("inbox_full", lostInboxFull.load(ordering: .relaxed)), ("unknown_realm", lostUnknownRealm.load(ordering: .relaxed)),
            ("malformed_options", lostMalformed.load(ordering: .relaxed)),
        ] + (retained?.lostByReason ?? [])) + (retained?.prometheusText ?? "")
    }
}

/// A publication one of the node's group subscriptions received, for that group's home loop.
final class ClusterGroupPublication: LoopMessage, @unchecked Sendable {   // immutable; RemotePublication owns its bytes
    let remote: RemotePublication
    let group: GroupKey
    init(remote: RemotePublication, group: GroupKey) {
        self.remote = remote
        self.group = group
    }
    var inboxMessage: InboxMessage { .clusterGroupPublication(self) }
}
