// ClusterGroupConsumers: this node's side of consumer groups across the cluster (ClusterGroup.swift
// has the scheme). It owns the node's group link — a second NATS connection, with echo, carrying
// only group subscriptions, so the node's own publications reach its own group consumers the same
// way as everyone else's — and the JetStream KV lease keeper for exclusive/failover groups.
//
// Shared groups' fallback (ClusterGroupForward; ClusterGroupConsumers+Forward.swift): the node
// subscribes its own forward subject on the link; `forward` passes a publication no local member
// accepted to the next member node, read from a cache of the registry's member keys that the
// control queue refreshes every `memberRefreshMs` while the node has shared groups — never from
// the delivery thread or a loop.
//
// Before a group SUBSCRIBE is answered, `admit` asks the cluster (ClusterGroupRegistry, on the
// control queue): the kind must match the cluster's, an exclusive group's lease must be free.
// Threads: `admit`/`join`/`leave` run on loop threads (a group's home loop creates or removes it) and
// wait on nothing: subscribing is buffered by libnats, lease work is queued on the node's
// control queue. Lease changes arrive on the control queue; messages on the libnats delivery
// thread. The link and the subscription tables are under `state`'s lock; the lease store and
// keeper belong to the control queue.

import CNats
import Dispatch
import BrokerSync

final class ClusterGroupConsumers: NatsConnectionEvents, @unchecked Sendable {
    struct State {
        var connection: NatsConnection?
        /// Local groups (one per home loop that has it; counted in case several report it).
        var local: [ClusterGroup: Int] = [:]
        var subscriptions: [ClusterGroup: OpaquePointer] = [:]
        var bySubscription: [OpaquePointer: ClusterGroup] = [:]
        /// Exclusive/failover groups by lease key.
        var leased: [String: ClusterGroup] = [:]
        /// This node's forward subject (ClusterGroupForward.subject).
        var forwardSubscription: OpaquePointer?
        /// Shared groups' member nodes by `memberKeyPrefix`, as last read from KV.
        var memberNodes: [String: [String]] = [:]
        /// Where NATS answers "no responders" to forwards (ClusterForwardsInFlight).
        var replySubscription: OpaquePointer?
        var inFlight = ClusterForwardsInFlight()
        /// Nodes NATS found no forward subscription for (dead, key not expired): skipped until
        /// the deadline (uptime nanoseconds), one lease TTL later.
        var unreachable: [String: UInt64] = [:]
    }

    let nodeName: String
    let leaseTTLMs: Int
    private let pendingLimits: ClusterNode.PendingLimits
    private let control: DispatchQueue
    let counters: ClusterCounters
    let log: @Sendable (String) -> Void
    private(set) weak var delivery: (any ClusterDelivery)?
    /// Link and tables; locked by this mutex. It never calls out while holding it but into
    /// libnats (subscribe/unsubscribe, which do not wait on the network).
    let state = PThreadLock(State())
    /// Owned by `control`: created on first need (a JetStream request), retried while failing.
    private var keeper: ClusterLeaseKeeper?
    /// Owned by `control`: made with the keeper (same store).
    private(set) var registry: ClusterGroupRegistry?
    private var wantedLeases: Set<String> = []
    private var retryScheduled = false
    /// Refreshes `memberNodes` on `control`; made by `start`, cancelled by `stop`.
    private var memberRefresh: DispatchSourceTimer?
    static let memberRefreshMs = 500

    init(
        nodeName: String, leaseTTLMs: Int, pendingLimits: ClusterNode.PendingLimits, control: DispatchQueue,
        counters: ClusterCounters, log: @escaping @Sendable (String) -> Void
    ) {
        self.nodeName = nodeName
        self.leaseTTLMs = leaseTTLMs
        self.pendingLimits = pendingLimits
        self.control = control
        self.counters = counters
        self.log = log
    }

    /// The group link (set by `start`, cleared by `stop`).
    var natsConnection: NatsConnection? { state.withLock { $0.connection } }

    func start(servers: [String], delivery: any ClusterDelivery) throws(NatsError) {
        self.delivery = delivery
        var settings = NatsConnection.Settings(name: "fastbroker-\(nodeName)-groups", servers: servers)
        settings.echo = true
        let opened = try NatsConnection(settings, events: self)
        let forwardSubject = ClusterGroupForward.subject(node: nodeName)
        let forwards = try opened.subscribe(subject: forwardSubject, pendingMessages: pendingLimits.messages, pendingBytes: pendingLimits.bytes)
        var replies: OpaquePointer?
        let box = Unmanaged.passRetained(NoResponderBox(self)).toOpaque()   // never freed: see NoResponderBox
        try check(natsConnection_Subscribe(&replies, opened.handle, ClusterForwardsInFlight.replyRoot(node: nodeName) + ".*", noResponderCallback, box),
                  "subscribe forward replies")
        state.withLock { state in
            state.connection = opened
            state.forwardSubscription = forwards
            state.replySubscription = replies
        }
        let timer = DispatchSource.makeTimerSource(queue: control)
        timer.schedule(deadline: .now(), repeating: .milliseconds(Self.memberRefreshMs))
        timer.setEventHandler { [weak self] in self?.refreshMemberNodes() }
        timer.resume()
        memberRefresh = timer
    }

    /// Graceful: releases the leases (standbys take over at once), then closes the link.
    func stop() {
        control.sync {
            memberRefresh?.cancel()
            memberRefresh = nil
            registry?.stop()
            registry = nil
            keeper?.releaseAllOnQueue()
            keeper = nil
            wantedLeases.removeAll()
        }
        state.withLock { state in
            for subscription in state.subscriptions.values { NatsConnection.unsubscribe(subscription) }
            state.subscriptions.removeAll()
            state.bySubscription.removeAll()
            for subscription in [state.forwardSubscription, state.replySubscription].compactMap({ $0 }) { NatsConnection.unsubscribe(subscription) }
            state.forwardSubscription = nil
            state.replySubscription = nil
            state.connection?.close()
            state.connection = nil
        }
    }

    // MARK: - Admission (loop threads ask; the answer comes on the control queue)

    /// Decides a join before its SUBSCRIBED (ClusterGroupRegistry): `first` — the node's first
    /// member of `group`: its kind must match the cluster's, and an exclusive group's lease must be
    /// free (taken here, so the answer stands); failover members get their join order. `answer`
    /// runs on the control queue. A KV failure is retried (a JetStream request can time out under
    /// load); when KV still cannot answer, the node decides alone (admitted, logged) and its lease
    /// still decides who consumes.
    func admit(_ group: ClusterGroup, first: Bool, answer: @escaping @Sendable (ClusterGroupRegistry.Verdict) -> Void) {
        control.async { [self] in decide(group, first: first, attemptsLeft: Self.admissionAttempts, answer: answer) }
    }

    private static let admissionAttempts = 8   // 250 ms apart: about 2 s

    /// On `control`.
    private func decide(_ group: ClusterGroup, first: Bool, attemptsLeft: Int, answer: @escaping @Sendable (ClusterGroupRegistry.Verdict) -> Void) {
        let failure: String
        if let keeper = leaseKeeper(), let registry {
            do throws(NatsError) {
                if first {
                    let verdict = try registry.register(group)
                    guard verdict == .admitted(order: nil) else { return answer(verdict) }
                    if group.kind == .exclusive && !keeper.holdNow(group.identity) {
                        registry.forget(group)   // this node has no such group: nothing to renew
                        return answer(.exclusiveTaken)
                    }
                    if group.kind == .shared {
                        try registry.announceMember(group)
                        refreshMemberNodes()   // this node may forward at once: know its peers
                    }
                }
                guard group.kind == .failover else { return answer(.admitted(order: nil)) }
                return answer(.admitted(order: try registry.takeOrder(group, first: first)))
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = "no JetStream"
        }
        guard attemptsLeft > 1 else {
            log("cluster: group \"\(group.name)\" on \(group.pattern) decided on this node only: \(failure)")
            return answer(.admitted(order: nil))
        }
        control.asyncAfter(deadline: .now() + .milliseconds(250)) { [self] in
            decide(group, first: first, attemptsLeft: attemptsLeft - 1, answer: answer)
        }
    }

    /// Failover: the node's longest-standing member is now the one of join order `order`.
    func setStanding(_ group: ClusterGroup, order: UInt64) {
        control.async { [self] in
            do throws(NatsError) { try registry?.setStanding(group, order: order) } catch {
                log("cluster: cannot publish the standing of group \"\(group.name)\": \(error)")
            }
            keeper?.recheck(group.identity)
        }
    }

    // MARK: - Membership (loop threads)

    /// The node has members of `group` now (its first local member joined).
    func join(_ group: ClusterGroup) {
        let first = state.withLock { state in
            state.local[group, default: 0] += 1
            guard state.local[group] == 1 else { return false }
            if group.kind == .shared {
                subscribe(group, queue: group.identity, &state)
            } else {
                state.leased[group.identity] = group
            }
            return true
        }
        guard first, group.kind != .shared else { return }
        let key = group.identity
        control.async { [self] in
            wantedLeases.insert(key)
            leaseKeeper()?.hold(key)
        }
    }

    /// The node's last member of `group` left.
    func leave(_ group: ClusterGroup) {
        let last = state.withLock { state in
            guard let count = state.local[group] else { return false }
            state.local[group] = count > 1 ? count - 1 : nil
            guard count == 1 else { return false }
            if group.kind == .shared { unsubscribe(group, &state) }
            return true
        }
        guard last else { return }
        guard group.kind != .shared else { return control.async { [self] in registry?.forget(group) } }
        let key = group.identity
        control.async { [self] in
            registry?.forget(group)
            wantedLeases.remove(key)
            if let keeper { keeper.drop(key) } else { leaseChanged(key, owned: false) }
            // After the drop (queued on this same queue): forget a standby's entry too.
            control.async { [self] in
                state.withLock { state in
                    if state.local[group] == nil && state.subscriptions[group] == nil { state.leased[key] = nil }
                }
            }
        }
    }

    // MARK: - Leases (control queue)

    private func leaseKeeper() -> ClusterLeaseKeeper? {
        if let keeper { return keeper }
        guard let connection = state.withLock({ $0.connection }) else { return nil }
        do throws(NatsError) {
            let store = try ClusterLeaseStore(connection: connection, nodeName: nodeName, ttlMs: leaseTTLMs)
            let madeRegistry = ClusterGroupRegistry(store: store, nodeName: nodeName, queue: control, ttlMs: leaseTTLMs, log: log)
            let made = ClusterLeaseKeeper(
                store: store, queue: control, ttlMs: leaseTTLMs,
                precedence: { [weak self] key in self?.precedence(key) }
            ) { [weak self] key, owned in
                self?.leaseChanged(key, owned: owned)
            }
            registry = madeRegistry
            keeper = made
            return made
        } catch {
            // No JetStream (yet): exclusive/failover groups are consumed nowhere meanwhile. Retry.
            log("cluster: group leases unavailable (\(error)); exclusive/failover groups wait, retrying")
            if !retryScheduled {
                retryScheduled = true
                control.asyncAfter(deadline: .now() + .milliseconds(leaseTTLMs / 3)) { [weak self] in
                    guard let self else { return }
                    retryScheduled = false
                    guard !wantedLeases.isEmpty, let keeper = leaseKeeper() else { return }
                    for key in wantedLeases { keeper.hold(key) }
                }
            }
            return nil
        }
    }

    /// On `control`: failover leases go to the node with the longest-standing member.
    private func precedence(_ key: String) -> Bool? {
        guard let group = state.withLock({ $0.leased[key] }), group.kind == .failover else { return nil }
        return registry?.mayHold(group)
    }

    /// Owning the lease means consuming: subscribe the group; losing it means fencing at once.
    private func leaseChanged(_ key: String, owned: Bool) {
        state.withLock { state in
            guard let group = state.leased[key] else { return }
            if owned && state.local[group] != nil {
                if state.subscriptions[group] == nil { subscribe(group, queue: nil, &state) }
                log("cluster: node \(nodeName) consumes \(group.kind.rawValue) group \"\(group.name)\" on \(group.pattern)")
            } else {
                unsubscribe(group, &state)
                if state.local[group] == nil { state.leased[key] = nil }
            }
        }
    }

    // MARK: - Subscriptions (under `state`)

    private func subscribe(_ group: ClusterGroup, queue: String?, _ state: inout State) {
        guard let connection = state.connection, let subject = group.interest?.subject else {
            log("cluster: cannot consume group \"\(group.name)\" on \(group.pattern): no link or pattern too long")
            return
        }
        do throws(NatsError) {
            let subscription = try connection.subscribe(
                subject: subject, queue: queue, pendingMessages: pendingLimits.messages, pendingBytes: pendingLimits.bytes)
            state.subscriptions[group] = subscription
            state.bySubscription[subscription] = group
        } catch {
            log("cluster: cannot subscribe group \"\(group.name)\" on \(subject): \(error)")
        }
    }

    private func unsubscribe(_ group: ClusterGroup, _ state: inout State) {
        guard let subscription = state.subscriptions.removeValue(forKey: group) else { return }
        state.bySubscription[subscription] = nil
        counters.groupDropped.wrappingAdd(NatsConnection.dropped(subscription), ordering: .relaxed)
        NatsConnection.unsubscribe(subscription)
    }

    // MARK: - NatsConnectionEvents (libnats threads)

    func natsMessage(_ bytes: UnsafeRawBufferPointer, subscription: OpaquePointer?) {
        let (group, isForward) = state.withLock { state in
            (subscription.flatMap { state.bySubscription[$0] }, subscription != nil && subscription == state.forwardSubscription)
        }
        if isForward { return receiveForward(bytes) }
        // A batch (ClusterBatch) goes whole to one queue member: each of its envelopes is handled
        // as if it had come alone; broken framing drops the whole message.
        do throws(ClusterBatch.BatchError) {
            try ClusterBatch.forEachEnvelope(bytes) { envelope in
                // Unsubscribed meanwhile (lease lost, last member left): not ours to deliver any more.
                guard let group else { return counters.groupGone.bump() }
                guard let publication = try? ClusterEnvelope.decode(envelope) else { return counters.malformed.bump() }
                counters.groupReceived.bump()
                delivery?.deliverToGroup(publication, group: group, tried: [])
            }
        } catch {
            counters.malformed.bump()
        }
    }

    func natsConnectionChanged(_ change: NatsConnectionChange) {
        if change == .disconnected { log("cluster: node \(nodeName) lost its NATS group link; group events may be lost until it reconnects") }
    }

    func natsAsyncError(_ error: NatsError, subscriptionDropped: Bool) {
        log(subscriptionDropped ? "cluster: slow group consumer, NATS messages dropped at the pending limit" : "cluster: NATS group link error \(error)")
    }
}
