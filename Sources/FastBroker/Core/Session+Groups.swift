// The member side of consumer groups (ConsumerGroup.swift has the protocol): a group SUBSCRIBE
// becomes a GroupJoin sent to the group's home loop, answered later (SUBSCRIBED or ERROR); events
// the home chose this session for are queued like any EVENT (encoded by WampEncoder.event) or
// sent back when they cannot be; leaving hands unwritten events back to the home. Runs on the
// connection's loop thread.

import BrokerConfig

extension Session {
    /// Asks the group's home loop to add this session; SUBSCRIBED or ERROR follows when the home
    /// answers (groupJoinCompleted).
    func joinGroup(key: SubscriptionKey, type: GroupType, options: SubscribeOptions, topicCheckRole: Int?,
                   request: UInt64, _ established: Established) {
        pendingGroupJoins += 1
        let group = GroupKey(topic: key.topic, match: key.match, group: BytewiseString(options.groupName))
        let member = GroupMember(session: self, owner: established.ref, realm: established.realm, key: key, group: group,
                                 filter: options.filter, topicCheckRole: topicCheckRole)
        context.send(GroupJoin(type: type, member: member, request: request), to: member.home)
    }

    /// The group's home loop answered a SUBSCRIBE with a type (LoopContext resolved the session).
    func groupJoinCompleted(_ result: GroupJoinResult) {
        context.loop.assertInLoopThread()
        pendingGroupJoins -= 1
        guard isEstablished else { return context.dropUnclaimed(result) }
        switch result.outcome {
        case .refused(let message, let uri):
            sendError(WampCode.subscribe, result.request, message, uri)
        case .joined(let member, let id):
            if member.membership == nil {
                let membership = GroupMembership(member: member, session: self, subscriptionID: id)
                memberships[id] = membership
                member.membership = membership
            }
            connection.send { out in WampEncoder.acknowledgement(code: WampCode.subscribed, request: result.request, id: id, format: format, into: &out) }
        }
    }

    /// An event the group's home chose this session for, through its `membership` (LoopContext
    /// found it on the member). Sent back if the session is no longer established.
    func receiveGroupDelivery(_ delivery: GroupDelivery, _ membership: GroupMembership) {
        #if DEBUG   // per-event path
        context.loop.assertInLoopThread()
        #endif
        let member = delivery.member
        guard isEstablished else { return context.returnUnclaimed(delivery) }
        membership.processed += 1
        let copy = delivery.event.publication
        let publication = copy.publication
        membership.recordAccepted(publication.id)
        let message = WampEncoder.event(subscription: membership.decimalID, publication: publication,
                                        payload: copy.payload(in: format), includeTopic: member.includeTopic,
                                        format: format, pool: context.bufferPool)
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
    /// the leave, and later deliveries bounce (LoopContext.drainInbox finds no membership).
    func leave(_ membership: GroupMembership, reason: String, connectionDying: Bool) {
        memberships[membership.subscriptionID] = nil
        membership.member.membership = nil
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
}
