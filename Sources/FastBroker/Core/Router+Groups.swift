// The home-loop side of consumer groups: joins (in a cluster, first decided cluster-wide:
// Router+GroupAdmission), leaves, returned events, and choosing the member for each event (exclusive: the holder; shared: round-robin over accepting members with
// room; failover: the longest-standing accepting member). See ConsumerGroup.swift.

import BrokerConfig
import FilterVM
import Logging

extension Router {
    // MARK: - Membership

    func handleJoin(_ join: GroupJoin) {
        let member = join.member
        let outcome: GroupJoinResult.Outcome
        if let group = groups[member.group], group.awaitingCluster != nil {
            group.awaitingCluster?.append(join)   // decided once the cluster answered the join before it
            return
        } else if let group = groups[member.group] {
            if group.type != join.type {
                outcome = Self.typeMismatch(group.key, existing: group.type.rawValue, requested: join.type)
            } else if group.type == .exclusive, let holder = group.members.first, holder.sessionID != member.sessionID {
                outcome = Self.exclusiveTaken(group.key)
            } else if let existing = group.members.first(where: { $0.sessionID == member.sessionID && $0.key == member.key }) {
                outcome = .joined(existing, subscriptionID: existing.subscriptionID)   // the same SUBSCRIBE again: same subscription
            } else if group.type == .failover, let bridge = clusterBridge {
                return askCluster(join, group: group, first: false, bridge)   // its cluster-wide join order
            } else {
                addMember(member, to: group)
                outcome = .joined(member, subscriptionID: member.subscriptionID)
            }
        } else {
            let entry = Subscription(id: 0, key: SubscriptionKey(topic: member.group.topic, match: member.group.match), filter: nil, filterSlot: -1)
            let group = ConsumerGroup(key: member.group, type: join.type, entry: entry,
                                      memberSoftBound: OutboundBudget(limits: context.server.configuration.limits).softBound)
            entry.group = group
            groups[member.group] = group
            if let bridge = clusterBridge { return askCluster(join, group: group, first: true, bridge) }
            start(group)
            addMember(member, to: group)
            outcome = .joined(member, subscriptionID: member.subscriptionID)
        }
        post(GroupJoinResult(session: member.owner, request: join.request, outcome: outcome), to: member.loop)
    }

    /// The group takes events from now on (indexed; in a cluster, consumed from NATS).
    func start(_ group: ConsumerGroup) {
        group.started = true
        index.insert(group.entry)
        realm.subscriptionsPerLoop[loopIndex].increment()
        clusterBridge?.groupStarted(group, in: realm)
    }

    /// The one wording of each refusal, on one node and across nodes.
    static func typeMismatch(_ key: GroupKey, existing: String, requested: GroupType) -> GroupJoinResult.Outcome {
        .refused(message: "group \"\(key.group)\" on \(key.topic) is \(existing), not \(requested.rawValue)", uri: WampURI.subscriptionTypeMismatch)
    }

    static func exclusiveTaken(_ key: GroupKey) -> GroupJoinResult.Outcome {
        .refused(message: "exclusive group \"\(key.group)\" on \(key.topic) is held by another session", uri: WampURI.exclusiveSubscriptionTaken)
    }

    func addMember(_ member: GroupMember, to group: ConsumerGroup) {
        member.subscriptionID = realm.subscriptionIDs.acquire(member.key)
        if member.filter != nil, let fingerprint = member.key.filterFingerprint {
            member.filterSlot = filterMemo.acquireSlot(fingerprint)
        }
        group.members.append(member)
    }

    func handleLeave(_ leave: GroupLeave) {
        guard let group = groups[leave.member.group], let position = group.members.firstIndex(where: { $0 === leave.member }) else {
            // Never joined here (refused) or already gone: re-dispatch what it carried, if anyone is left.
            if let group = groups[leave.member.group] { for event in leave.unwritten { route(event, in: group) } }
            return
        }
        let member = leave.member
        group.members.remove(at: position)
        if position < group.cursor { group.cursor -= 1 }
        if group.clusterOrders.removeValue(forKey: ObjectIdentifier(member)) != nil, position == 0 { reportStanding(group) }
        realm.subscriptionIDs.release(member.key)
        if let fingerprint = member.key.filterFingerprint { filterMemo.releaseSlot(fingerprint) }
        let inFlight = member.sent - leave.processed
        context.metrics.groupEventsRedispatched.increment(by: leave.unwritten.count)
        var metadata: Logger.Metadata = [
            "group": "\(LogText.escaped("\(group.key.group)"))", "topic": "\(LogText.escaped("\(group.key.topic)"))", "type": "\(group.type.rawValue)",
            "session": "\(member.sessionID)", "reason": "\(leave.reason)",
            "redispatched": "\(leave.unwritten.count)", "returning": "\(inFlight)",
            "members_left": "\(group.members.count)",
        ]
        if !leave.handedToDeadSocket.isEmpty {
            // These reached the kernel for a socket that then died: the client may not have read them.
            metadata["handed_to_dead_socket"] = "\(leave.handedToDeadSocket.map(String.init).joined(separator: ","))"
        }
        context.log.info("group member left", metadata: metadata)
        if group.type == .failover && inFlight > 0 {
            // Hold new events until the ones still travelling to the departed member are back,
            // so the next member gets everything in sequence order.
            group.awaiting[ObjectIdentifier(member)] = inFlight
            group.recovered.append(contentsOf: leave.unwritten)
        } else {
            for event in leave.unwritten { route(event, in: group) }
        }
        removeIfIdle(group)
    }

    func handleReturn(_ returned: GroupReturn) {
        guard let group = groups[returned.member.group] else {
            context.metrics.groupEventsDropped.increment()   // nobody left to take it
            return
        }
        context.metrics.groupEventsRedispatched.increment()
        let id = ObjectIdentifier(returned.member)
        if returned.reason == .notQueued {
            // The member could not take it: the next member that has not refused it gets it
            // (after a failover recovery under way, in sequence order).
            var event = returned.event
            event.refusedBy.append(returned.member.sessionID)
            if group.awaiting.isEmpty { route(event, in: group) } else { group.recovered.append(event) }
        } else if let expected = group.awaiting[id] {
            group.recovered.append(returned.event)
            group.awaiting[id] = expected > 1 ? expected - 1 : nil
            if group.awaiting.isEmpty { releaseHeld(group) }
        } else {
            route(returned.event, in: group)
        }
        removeIfIdle(group)
    }

    private func releaseHeld(_ group: ConsumerGroup) {
        let recovered = group.recovered.sorted { $0.sequence < $1.sequence }
        let held = group.held
        group.recovered.removeAll()
        group.held.removeAll()
        for event in recovered { route(event, in: group) }
        for event in held { route(event, in: group) }
    }

    func removeIfIdle(_ group: ConsumerGroup) {
        guard group.members.isEmpty, group.awaiting.isEmpty, group.awaitingCluster == nil else { return }
        context.metrics.groupEventsDropped.increment(by: group.held.count + group.recovered.count)
        groups[group.key] = nil
        index.remove(group.entry)
        group.entry.group = nil   // the entry and the group refer to each other: break the cycle
        realm.subscriptionsPerLoop[loopIndex].increment(by: -1)
        clusterBridge?.groupEnded(group, in: realm)
    }

    // MARK: - Dispatch

    /// A publication matched the group's topic pattern: give it a sequence number and route it
    /// (or hold it while a failover recovery is under way). The event keeps the publication's
    /// shared copy (Router.sharedCopy), the same one other loops get.
    /// In a cluster, groups take their events from NATS only (dispatchFromCluster), so that each
    /// event reaches one member cluster-wide: the broadcast path skips them. (Another forwarder,
    /// one that leaves groups alone, keeps local dispatch.)
    func dispatch(_ publication: Publication, to group: ConsumerGroup, copy: inout RemotePublication?) {
        if clusterForwarding is ClusterBridge { return }
        enqueue(sharedCopy(of: publication, &copy), publication, in: group)
    }

    /// One of this node's group subscriptions received a publication (ClusterBridge); the group
    /// may have ended meanwhile (then it is dropped, counted — a shared group's event goes on to
    /// the next member node instead).
    func dispatchFromCluster(_ message: ClusterGroupPublication) {
        guard let group = groups[message.group] else {
            if message.kind != .shared || clusterBridge?.forwardGroupEvent(message.remote, key: message.group, tried: message.tried) != true {
                context.metrics.groupEventsDropped.increment()
            }
            return
        }
        enqueue(message.remote, message.remote.publication, in: group, clusterTried: message.tried)
    }

    /// `publication`: the event's publication (its bytes, or the copy's), read to choose the member.
    private func enqueue(_ copy: RemotePublication, _ publication: Publication, in group: ConsumerGroup, clusterTried: [String]? = nil) {
        var event = GroupEvent(publication: copy, sequence: group.nextSequence)
        if let clusterTried { event.clusterTried = clusterTried }
        group.nextSequence += 1
        if !group.awaiting.isEmpty {
            group.held.append(event)
        } else {
            route(event, publication, in: group)
        }
    }

    /// Sends `event` to the member that should get it; counts a drop when no member accepts it.
    /// In a cluster, a shared group's event no member here accepts goes to the next member node
    /// first (ClusterGroupForward); it is dropped only when every member node has been tried.
    /// Only undelivered events go on (never one a member here took), so each stays exactly once.
    private func route(_ event: GroupEvent, in group: ConsumerGroup) {
        route(event, event.publication.publication, in: group)
    }

    /// `route` with the event's publication at hand (its bytes or the copy's: the same values).
    private func route(_ event: consuming GroupEvent, _ publication: Publication, in group: ConsumerGroup) {   // consuming: moved into the delivery
        filterMemo.startEvent()   // a routed event may be another publication (returned, held)
        guard let member = choose(in: group, publication, refusedBy: event.refusals) else {
            if group.type == .shared, let tried = event.clusterTried,
                clusterBridge?.forwardGroupEvent(event.publication, key: group.key, tried: tried) == true
            {
                return
            }
            context.metrics.groupEventsDropped.increment()
            return
        }
        member.sent += 1
        // As `post` does, but a member on this loop may get it at once (LoopContext.deliver).
        context.deliver(context.groupDeliveryPool.take(member: member, event: event), to: member.loopContext)
    }

    /// The member that gets an event, or nil when none accepts it. Members are read without a
    /// retain each (as Router.deliverHere reads subscribers): the local `members`, held +1 for
    /// the whole search, keeps every one alive, and nothing here changes the group's list.
    private func choose(in group: ConsumerGroup, _ publication: Publication, refusedBy: [UInt64]?) -> GroupMember? {
        let members = group.members
        let chosen: Int? = withExtendedLifetime(members) {
            members.withUnsafeBufferPointer { buffer in
                // An empty array may still have a base address: check the count (a returned or
                // held event can reach a group whose members have all left).
                guard buffer.count > 0, let base = UnsafeRawPointer(buffer.baseAddress) else { return nil }
                let unretained = base.assumingMemoryBound(to: Unmanaged<GroupMember>.self)
                func accepts(_ m: GroupMember) -> Bool {
                    if m.sessionID == publication.excludedSession { return false }
                    if let refusedBy, refusedBy.contains(m.sessionID) { return false }
                    if let rules = publication.rules, !rules.admits(session: m.sessionID, authid: m.authid, authrole: m.authrole) { return false }
                    if let filter = m.filter, !filterMemo.passes(filter, slot: m.filterSlot, publication) { return false }
                    // A member whose role is granted only some topics of the pattern: check this one.
                    if let role = m.topicCheckRole, !mayReceive(publication.topic, role: role) { return false }
                    return true
                }
                let count = buffer.count
                switch group.type {
                case .exclusive, .failover:
                    var i = 0
                    while i < count {
                        if unretained[i]._withUnsafeGuaranteedRef(accepts) { return i }
                        i += 1
                    }
                    return nil
                case .shared:
                    let limit = group.memberSoftBound
                    var fallback: Int? = nil
                    var i = group.cursor % count
                    var step = 0
                    while step < count {
                        let (accepted, hasRoom) = unretained[i]._withUnsafeGuaranteedRef { m in
                            accepts(m) ? (true, m.outboundBytes.current < limit) : (false, false)
                        }
                        if accepted {
                            if hasRoom { return i }
                            if fallback == nil { fallback = i }   // full: use only if nobody has room
                        }
                        i = i + 1 == count ? 0 : i + 1
                        step += 1
                    }
                    return fallback
                }
            }
        }
        guard let i = chosen else { return nil }
        if group.type == .shared { group.cursor = i + 1 }
        return members[i]
    }

    /// Sends a group message to loop `index` through its inbox — even to this loop, so handlers
    /// never re-enter each other and the order is the same whatever the loop.
    func post(_ message: some LoopMessage, to index: Int) {
        context.send(message, to: index)
    }
}
