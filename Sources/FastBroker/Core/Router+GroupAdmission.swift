// Consumer-group joins in a cluster (SPEC §7), on the group's home loop: a join the node cannot
// decide alone waits for the cluster's verdict before its SUBSCRIBED or ERROR — the node's first
// member of a group (the kind must match the cluster's; an exclusive group must be free on every
// node) and every failover member (its cluster-wide join order, which picks the active member).
// The verdict comes from the cluster's control thread through this loop's inbox (ClusterBridge),
// so no loop thread waits on NATS. Joins for the same group that arrive meanwhile wait behind
// it, in order, and are handled as if they arrived after the verdict.

extension Router {
    var clusterBridge: ClusterBridge? { clusterForwarding as? ClusterBridge }

    func askCluster(_ join: GroupJoin, group: ConsumerGroup, first: Bool, _ bridge: ClusterBridge) {
        group.awaitingCluster = [join]
        bridge.admit(group.key, join.type, first: first, in: realm, home: loopIndex)
    }

    func handleAdmission(_ message: ClusterGroupVerdict) {
        guard let group = groups[message.group], var waiting = group.awaitingCluster, !waiting.isEmpty else { return }
        let join = waiting.removeFirst()
        group.awaitingCluster = nil
        let member = join.member
        let outcome: GroupJoinResult.Outcome
        switch message.verdict {
        case .admitted(let order):
            if !group.started { start(group) }
            addMember(member, to: group)
            if let order {
                group.clusterOrders[ObjectIdentifier(member)] = order
                if group.members.count == 1 { reportStanding(group) }
            }
            outcome = .joined(member, subscriptionID: member.subscriptionID)
        case .typeMismatch(let existing):
            outcome = Self.typeMismatch(group.key, existing: existing.rawValue, requested: join.type)
        case .exclusiveTaken:
            outcome = Self.exclusiveTaken(group.key)
        }
        post(GroupJoinResult(session: member.owner, request: join.request, outcome: outcome), to: member.loop)
        if !group.started {
            // Refused as the node's first member: nothing to keep.
            groups[group.key] = nil
            group.entry.group = nil
        }
        for queued in waiting { handleJoin(queued) }
        if group.started { removeIfIdle(group) }   // its members may have left meanwhile
    }

    /// Failover: tells the cluster the join order of this node's longest-standing member (the
    /// node with the smallest one holds the group's lease).
    func reportStanding(_ group: ConsumerGroup) {
        guard group.type == .failover, let bridge = clusterBridge, let first = group.members.first,
            let order = group.clusterOrders[ObjectIdentifier(first)]
        else { return }
        bridge.setStanding(group, order: order, in: realm)
    }
}
