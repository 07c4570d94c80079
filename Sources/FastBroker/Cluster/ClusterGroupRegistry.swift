// ClusterGroupRegistry: what every node must agree on about a consumer group before it answers a
// group SUBSCRIBE (SPEC §7): the group's kind cluster-wide, and — for failover — which node has the
// longest-standing member. Plain keys in the lease bucket (ClusterLeaseStore; same TTL):
//
//   t.<group>          the kind ("shared" / "exclusive" / "failover"), created compare-and-set by
//                      the first node to join, so two racing first joins agree; every node with
//                      members renews it each third of the TTL; when the group has emptied
//                      everywhere nobody renews it and it expires after the TTL.
//   o.<group>          written once per failover member join: the write's revision (the bucket's
//                      sequence) is that member's cluster-wide join order.
//   n.<group>.<node>   failover: the join order of `node`'s longest-standing member, renewed like
//                      the kind; deleted when the node's last member leaves, expired when it dies.
//   m.<group>.<node>   shared: `node` has members (value: its name), renewed like the kind,
//                      deleted when its last member leaves, expired when it dies. Member nodes
//                      read them all (`memberNodes`) to know where to forward (ClusterGroupForward).
//
// The node whose standing is the smallest may hold the failover lease (`mayHold`); the others
// stand by. Every call here is a JetStream request: on the node's control queue only.

import Dispatch

/// The cluster's answer to a group join.
public enum ClusterGroupAdmission: Sendable, Equatable {
    /// `order`: the member's cluster-wide join order (failover), nil otherwise or unknown.
    case admitted(order: UInt64?)
    case typeMismatch(existing: ClusterGroup.Kind)
    case exclusiveTaken
}

final class ClusterGroupRegistry: @unchecked Sendable {
    typealias Verdict = ClusterGroupAdmission

    private let store: ClusterLeaseStore
    private let nodeName: String
    private let log: @Sendable (String) -> Void
    private let timer: DispatchSourceTimer
    // Owned by the control queue.
    /// Type keys this node renews (it has members of the group), with the kind.
    private var kinds: [String: ClusterGroup.Kind] = [:]
    /// Failover standing keys this node renews, with its longest-standing member's order.
    private var standings: [String: UInt64] = [:]
    /// Shared-group member keys this node renews.
    private var memberKeys: Set<String> = []

    init(store: ClusterLeaseStore, nodeName: String, queue: DispatchQueue, ttlMs: Int, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.nodeName = nodeName
        self.log = log
        timer = renewalTimer(ttlMs: ttlMs, queue: queue)
        timer.setEventHandler { [weak self] in self?.renew() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Stops renewing (a graceful stop deletes this node's standings first).
    func stop() {
        timer.cancel()
        for key in standings.keys { try? store.delete(key) }
        for key in memberKeys { try? store.delete(key) }
        standings.removeAll()
        memberKeys.removeAll()
        kinds.removeAll()
    }

    /// The group's kind as the cluster has it: this node's kind once registered (created, or
    /// found equal), or the other kind that is there. Throws when KV cannot answer.
    func register(_ group: ClusterGroup) throws(NatsError) -> Verdict {
        let key = group.typeKey
        for _ in 0..<2 {
            if try store.create(key, value: group.kind.rawValue) != nil {
                kinds[key] = group.kind
                return .admitted(order: nil)
            }
            // It exists, or existed a moment ago (expired between the two calls: once more).
            if let current = try store.entry(key) {
                guard current.value == group.kind.rawValue else {
                    return .typeMismatch(existing: ClusterGroup.Kind(rawValue: current.value) ?? group.kind)
                }
                kinds[key] = group.kind
                return .admitted(order: nil)
            }
        }
        return .admitted(order: nil)   // it keeps vanishing: nobody else holds the group
    }

    /// A failover member's cluster-wide join order; `first`: the node's first member, whose order
    /// becomes the node's standing at once (before the node asks for the lease).
    func takeOrder(_ group: ClusterGroup, first: Bool) throws(NatsError) -> UInt64 {
        let order = try store.put(group.orderKey, value: nodeName)
        if first { try setStanding(group, order: order) }
        return order
    }

    /// The node's longest-standing member changed (it left; the next one's order is `order`).
    func setStanding(_ group: ClusterGroup, order: UInt64) throws(NatsError) {
        let key = group.standingKey(node: nodeName)
        guard standings[key] != order else { return }
        standings[key] = order
        _ = try store.put(key, value: String(order))
    }

    /// Shared: this node has members of `group` (its first one was admitted).
    func announceMember(_ group: ClusterGroup) throws(NatsError) {
        let key = group.memberKey(node: nodeName)
        _ = try store.put(key, value: nodeName)
        memberKeys.insert(key)
    }

    /// Every shared group's member nodes, by the group's `memberKeyPrefix` (one KV listing
    /// whatever the number of groups).
    func memberNodes() throws(NatsError) -> [String: [String]] {
        var nodes: [String: [String]] = [:]
        for (key, node) in try store.entries(matching: ClusterGroup.memberKeysFilter) {
            guard let dot = key.utf8.lastIndex(of: UInt8(ascii: ".")) else { continue }
            nodes[String(key[...dot]), default: []].append(node)
        }
        return nodes
    }

    /// The node's last member left: stop renewing; its standing goes at once, so the next
    /// standby need not wait for the TTL (and its member key, so no forward is sent its way).
    func forget(_ group: ClusterGroup) {
        kinds[group.typeKey] = nil
        let memberKey = group.memberKey(node: nodeName)
        if memberKeys.remove(memberKey) != nil {
            do throws(NatsError) { try store.delete(memberKey) } catch { log("cluster: cannot withdraw \(memberKey): \(error)") }
        }
        let key = group.standingKey(node: nodeName)
        guard standings.removeValue(forKey: key) != nil else { return }
        do throws(NatsError) { try store.delete(key) } catch { log("cluster: cannot withdraw \(key): \(error)") }
    }

    /// Failover: whether this node may hold the group's lease now (no other node has a member
    /// standing longer); nil when KV cannot tell or the node has no standing (no opinion).
    func mayHold(_ group: ClusterGroup) -> Bool? {
        let mine = group.standingKey(node: nodeName)
        guard let order = standings[mine], let all = try? store.entries(matching: group.standingFilter) else { return nil }
        return ClusterGroup.standsLongest((mine, order), among: all.compactMap { entry in UInt64(entry.value).map { (entry.key, $0) } })
    }

    private func renew() {
        for (key, kind) in kinds {
            do throws(NatsError) {
                if let current = try store.entry(key) {
                    // A failed update means another node renewed it at the same moment: as good.
                    if current.value == kind.rawValue {
                        _ = try store.update(key, value: kind.rawValue, last: current.revision)
                    } else {
                        // Ours expired (NATS unreachable past the TTL) and another kind was created.
                        log("cluster: group kind conflict on \(key): this node has \(kind.rawValue) members, the cluster says \(current.value)")
                    }
                } else {
                    _ = try store.create(key, value: kind.rawValue)
                }
            } catch {
                log("cluster: cannot renew \(key): \(error)")
            }
        }
        for (key, order) in standings {
            do throws(NatsError) { _ = try store.put(key, value: String(order)) } catch { log("cluster: cannot renew \(key): \(error)") }
        }
        for key in memberKeys {
            do throws(NatsError) { _ = try store.put(key, value: nodeName) } catch { log("cluster: cannot renew \(key): \(error)") }
        }
    }
}
