// ClusterBridge: plugs the cluster component (BrokerCluster's ClusterNode) into this broker.
//
//   out       each router's `clusterForwarding` (step 4 of Router.publish, on the publisher's
//             loop thread): the publication becomes an envelope and one NATS publish.
//   in        ClusterDelivery, on the cluster's delivery thread: the envelope becomes a
//             RemotePublication pushed into the inbox (lock-free MPSC) of every loop with
//             subscriptions in the realm, with a wake-up;
//             each loop runs step 1 only (its own subscribers), never re-forwards.
//             Every hand-over goes through CrossLoopOverflow.send, as between loops: a full inbox
//             keeps the message waiting (bounded); past the bound an event is dropped and
//             counted (reason "inbox_full").
//   groups    a clustered broker never dispatches group events from the broadcast path (not even
//             its own publications): a group's home loop reports the group's start and end here
//             and the node consumes the group from NATS (ClusterGroup: a queue subscription for
//             shared groups, the KV lease holder for exclusive/failover). What such a
//             subscription receives goes, as a ClusterGroupPublication, to the group's home loop
//             only, which hands it to one member (Router+Groups). When no member of a shared
//             group accepts it there, the home loop hands it back (`forwardGroupEvent`) and the
//             node passes it to the next member node (ClusterGroupForward).
//   interest  each realm's SubscriptionRegistry reports a subscription key's first and last
//             holder; the node keeps one NATS subscription per subject, reference-counted.
//
//             A join the node cannot decide alone (its first member of a group; a failover
//             member's join order) is asked of the cluster first; the verdict returns to the
//             home loop's inbox before the SUBSCRIBE is answered (Router+GroupAdmission).
//
// Session ids are random per session (WAMP), so exclude/eligible lists and exclude_me carried
// from another node name the same sessions here.

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
    /// `stopped`: set by `stop`; the lock is held around each hand-over, so once `stop` returns no
    /// inbox is signalled (BrokerServer closes the inboxes' wake-ups right after). `overflow`:
    /// what waits for a full inbox — the same bounded hand-off as between loops (LoopContext.send),
    /// in the destinations' `outsideSender` slot. Delivery and control threads both hand over.
    private let handoff: PThreadLock<(stopped: Bool, overflow: CrossLoopOverflow)>

    init(server: BrokerServer, config: ClusterConfig, log: Logger) throws {
        let logger = log
        node = ClusterNode(nodeName: config.node, groupLeaseTTLMs: config.leaseTTLMs, log: { logger.info("\($0)") })
        var byName: [String: Realm] = [:]
        for realm in server.realms.values { byName[realm.name] = realm }
        realmsByName = byName
        contexts = server.contexts
        handoff = PThreadLock((false, CrossLoopOverflow(loopCount: server.contexts.count)))
        for context in contexts {
            context.outsideSenderWakeup.withLock { $0 = { [weak self] in self?.retryOverflow() } }
        }
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
        handoff.withLock { $0.stopped = true }
        let watchdog = node.closeConnections(after: Self.stopGraceMs)
        retained?.retention.stop()   // its JetStream context uses the node's connection
        node.stop()
        watchdog.cancel()
    }

    /// How long stopping may wait on NATS (lease releases, the retained bucket, queued
    /// publications) before the node's connections are closed under it (SIGTERM ends in bounded time).
    static let stopGraceMs = 3_000

    // MARK: - Out (publisher's loop thread)

    func forward(_ publication: Publication, in realm: Realm, copy: () -> RemotePublication) {
        node.publish(ClusterPublication(publication, realm: realm.name))
    }

    // MARK: - In (the cluster's delivery thread)

    func deliver(_ incoming: ClusterPublication) {
        guard let (realm, remote) = remotePublication(incoming) else { return }
        // Only loops with subscriptions in the realm (the same test local cross-loop fan-out uses);
        // no array of them per publication.
        for context in contexts where realm.subscriptionsPerLoop[context.index].current > 0 {
            hand(.publication(remote), to: context)
        }
    }

    func deliverToGroup(_ incoming: ClusterPublication, group: ClusterGroup, tried: [String]) {
        // NATS' '>' is token-wise, a WAMP prefix a string prefix: re-check the topic.
        guard group.match.matches(pattern: group.pattern.utf8, uri: incoming.topic.utf8),
            let (realm, remote) = remotePublication(incoming)
        else { return }
        let key = GroupKey(topic: group.pattern, match: group.match, group: group.name)
        let home = contexts[key.homeLoop(loopCount: realm.routers.count)]
        hand(.clusterGroupPublication(ClusterGroupPublication(remote: remote, group: key, kind: group.kind, tried: tried)), to: home)
    }

    /// The envelope as a loop message; nil (counted) when its realm or options are not ours.
    private func remotePublication(_ incoming: ClusterPublication) -> (Realm, RemotePublication)? {
        guard let realm = realmsByName[incoming.realm] else {
            lostUnknownRealm.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        guard let remote = incoming.withPublication({ RemotePublication.make(realm: realm, $0) }) else {
            lostMalformed.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        return (realm, remote)
    }

    /// Into the loop's inbox (or behind what waits for it); a publication past the overflow's
    /// bound is lost, counted as "inbox_full" (NATS cannot be paused like a local publisher).
    /// Verdicts cost nothing against the bound and are never dropped.
    private func hand(_ message: InboxMessage, to context: LoopContext) {
        let outcome = handoff.withLock { handoff -> CrossLoopOverflow.Handoff? in
            guard !handoff.stopped else { return nil }
            return handoff.overflow.send(message, to: context, requester: context.outsideSender)
        }
        if outcome == .dropped { lostInboxFull.wrappingAdd(1, ordering: .relaxed) }
    }

    /// A destination drained its inbox (on its loop thread): move what now fits.
    private func retryOverflow() {
        handoff.withLock { handoff in
            guard !handoff.stopped else { return }
            for context in contexts where !handoff.overflow.isEmpty(to: context.index) {
                handoff.overflow.moveWaiting(to: context, requester: context.outsideSender)
            }
        }
    }

    // MARK: - Groups (the group's home loop thread)

    func groupStarted(_ group: ConsumerGroup, in realm: Realm) {
        node.joinGroup(clusterGroup(group.key, group.type, in: realm))
    }

    func groupEnded(_ group: ConsumerGroup, in realm: Realm) {
        node.leaveGroup(clusterGroup(group.key, group.type, in: realm))
    }

    /// Asks the cluster about a join (ClusterGroupRegistry); the verdict comes back to the
    /// group's home loop `home` through its inbox (Router.handleAdmission). Never waits.
    func admit(_ key: GroupKey, _ type: GroupType, first: Bool, in realm: Realm, home: Int) {
        node.admitToGroup(clusterGroup(key, type, in: realm), first: first) { [weak self] verdict in
            guard let self else { return }
            hand(.clusterGroupVerdict(ClusterGroupVerdict(realm: realm, group: key, verdict: verdict)), to: contexts[home])
        }
    }

    /// Shared: no member of group `key` on this node accepts `event` (on the group's home loop):
    /// the next member node gets it. False when every member node has been tried (counted by
    /// the node as unaccepted) or it could not be sent (counted lost).
    func forwardGroupEvent(_ event: RemotePublication, key: GroupKey, tried: [String]) -> Bool {
        node.forwardGroupEvent(ClusterPublication(event.publication, realm: event.realm.name),
                               group: clusterGroup(key, .shared, in: event.realm), tried: tried)
    }

    /// Failover: the group's longest-standing member on this node has cluster join order `order`.
    func setStanding(_ group: ConsumerGroup, order: UInt64, in realm: Realm) {
        node.setGroupStanding(clusterGroup(group.key, group.type, in: realm), order: order)
    }

    private func clusterGroup(_ key: GroupKey, _ type: GroupType, in realm: Realm) -> ClusterGroup {
        let kind: ClusterGroup.Kind = switch type {
        case .shared: .shared
        case .exclusive: .exclusive
        case .failover: .failover
        }
        return ClusterGroup(realm: realm.name, pattern: key.topic.string, match: key.match, name: key.group.string, kind: kind)
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
    let kind: ClusterGroup.Kind
    /// Shared: nodes that found no accepting member before this one (ClusterGroupForward).
    let tried: [String]
    init(remote: RemotePublication, group: GroupKey, kind: ClusterGroup.Kind, tried: [String]) {
        self.remote = remote
        self.group = group
        self.kind = kind
        self.tried = tried
    }
    var inboxMessage: InboxMessage { .clusterGroupPublication(self) }
}

/// The cluster's answer to a group join, for the group's home loop (Router.handleAdmission).
final class ClusterGroupVerdict: LoopMessage, @unchecked Sendable {   // immutable; Realm is shared by every loop
    let realm: Realm
    let group: GroupKey
    let verdict: ClusterGroupAdmission
    init(realm: Realm, group: GroupKey, verdict: ClusterGroupAdmission) {
        self.realm = realm
        self.group = group
        self.verdict = verdict
    }
    var inboxMessage: InboxMessage { .clusterGroupVerdict(self) }
}
