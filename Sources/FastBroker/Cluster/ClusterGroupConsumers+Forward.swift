// ClusterGroupConsumers' side of the shared-group fallback (ClusterGroupForward, ClusterGroup.swift
// has the scheme): the member-node cache refresh (control queue), sending a publication no local
// member accepted to the next member node (loop threads, the delivery thread), receiving forwards
// (delivery thread) and NATS' "no responders" answers (ClusterForwardsInFlight).

import CNats
import Dispatch

extension ClusterGroupConsumers {
    /// On `control`: re-reads every shared group's member nodes while this node has shared groups
    /// (without them it forwards only in a race with its last member's leave: the last list serves).
    func refreshMemberNodes() {
        guard let registry, state.withLock({ $0.local.keys.contains { $0.kind == .shared } }) else { return }
        do throws(NatsError) {
            let nodes = try registry.memberNodes()
            state.withLock { $0.memberNodes = nodes }
        } catch {
            log("cluster: cannot read shared groups' member nodes (\(error)); forwarding with the last list")
        }
    }

    /// No member of `group` on this node accepts `publication` (the group's home loop found none):
    /// passes it to the next member node not in `tried`. False when there is none (every member
    /// node tried: no member anywhere accepts; counted) or it could not be sent (counted lost).
    /// Called on loop threads and the delivery thread; never waits on the network.
    func forward(_ publication: ClusterPublication, group: ClusterGroup, tried: [String]) -> Bool {
        guard let envelope = try? ClusterEnvelope.encode(publication) else {
            counters.groupForwardFailed.bump()
            return false
        }
        return passOn(ClusterGroupForward(group: group, tried: tried, envelope: envelope))
    }

    /// Sends `received` (plus this node in its tried list) to the next member node, as a
    /// request-style publish so that NATS says when nobody is there (`noResponder`). Under the
    /// state lock: libnats buffers the publish, it never waits on the network here.
    private func passOn(_ received: ClusterGroupForward) -> Bool {
        var next = received
        if !next.tried.contains(nodeName) { next.tried.append(nodeName) }
        let now = DispatchTime.now().uptimeNanoseconds
        let outcome: (target: String, failure: NatsError?)? = state.withLock { state in
            state.unreachable = state.unreachable.filter { $0.value > now }
            let members = state.memberNodes[received.group.memberKeyPrefix] ?? []
            guard let target = ClusterGroupForward.nextNode(after: nodeName, members: members, tried: next.tried + state.unreachable.keys) else {
                return nil
            }
            guard let connection = state.connection, let bytes = try? next.encode() else {
                return (target, NatsError(NATS_INVALID_ARG, "group forward"))
            }
            let token = state.inFlight.add(next, target: target)
            let reply = ClusterForwardsInFlight.replyRoot(node: nodeName) + ".\(token)"
            let status = bytes.withUnsafeBytes {
                natsConnection_PublishRequest(connection.handle, ClusterGroupForward.subject(node: target), reply, $0.baseAddress, Int32($0.count))
            }
            guard status == NATS_OK else {
                state.inFlight.cancel(token)
                return (target, NatsError(status, "group forward"))
            }
            return (target, nil)
        }
        guard let outcome else {
            counters.groupUnaccepted.bump()
            return false
        }
        if let failure = outcome.failure {
            let lost = counters.groupForwardFailed.wrappingAdd(1, ordering: .relaxed).newValue
            if lost & (lost - 1) == 0 { log("cluster: cannot forward a group event to node \(outcome.target) (\(lost) lost so far): \(failure)") }
            return false
        }
        counters.groupForwarded.bump()
        return true
    }

    /// libnats thread: nobody subscribes the forward subject of the node a forward went to (it
    /// died; its member key has not expired yet). Skip that node for a lease TTL and try the next.
    func noResponder(token: UInt64) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(leaseTTLMs) * 1_000_000
        guard let (entry, newly) = state.withLock({ state -> (ClusterForwardsInFlight.Entry, Bool)? in
            guard let entry = state.inFlight.take(token) else { return nil }
            let newly = state.unreachable.updateValue(deadline, forKey: entry.target) == nil
            return (entry, newly)
        }) else {
            counters.groupForwardFailed.bump()   // forgotten already: it cannot be sent on
            return
        }
        if newly { log("cluster: node \(entry.target) no longer takes group forwards; trying the next member node") }
        var next = entry.forward
        next.tried.append(entry.target)
        _ = passOn(next)
    }

    /// Delivery thread: a forward for this node — to the group's local members, or on.
    func receiveForward(_ bytes: UnsafeRawBufferPointer) {
        guard let forward = try? ClusterGroupForward.decode(bytes) else {
            counters.malformed.bump()
            return
        }
        guard state.withLock({ $0.local[forward.group] != nil }) else {
            _ = passOn(forward)   // its last member left meanwhile
            return
        }
        guard let publication = try? forward.envelope.withUnsafeBytes({ try ClusterEnvelope.decode($0) }) else {
            counters.malformed.bump()
            return
        }
        counters.groupReceived.bump()
        delivery?.deliverToGroup(publication, group: forward.group, tried: forward.tried)
    }
}
