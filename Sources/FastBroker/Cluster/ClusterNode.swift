// ClusterNode: this broker's membership in the cluster (SPEC §7). It owns the node's NATS
// connection for publications (publishing and broadcast subscriptions; one connection so one
// publisher's events stay in order), the NATS subscriptions that carry interest, the hand-off of
// received publications to the loops through ClusterDelivery, and — through
// ClusterGroupConsumers — the group link and lease keeper. Loop threads call `publish`,
// `add/removeInterest` and `join/leaveGroup`; none of those waits on the network: `publish` only
// appends to the node's ClusterPublishQueue, whose publisher thread makes the NATS call (which
// can block when NATS stalls). Blocking work (flush, KV leases) belongs on the control queue
// (`control`), never on a loop thread.
//
// Exactly once per node: a publication matching several of this node's subscriptions arrives once
// per subscription; the receiver keeps, per origin node, the last (epoch, sequence) it handed over
// and drops anything not newer. That relies on NATS delivering one origin's messages to us in
// publish order (one origin connection, one route, one delivery thread here), so every copy of
// publication n arrives before any copy of n + 1.
//
// Silent losses: publications NATS dropped without telling anyone (no route between nats-servers)
// show as holes in a per-(origin, subject) sequence, counted as reason "gap" (ClusterSequenceGaps).

import BrokerConfig
import CNats
import Dispatch
import BrokerSync
import Synchronization

public final class ClusterNode: NatsConnectionEvents, @unchecked Sendable {
    public struct PendingLimits: Sendable {
        public var messages: Int
        public var bytes: Int
        public init(messages: Int, bytes: Int) {
            self.messages = messages
            self.bytes = bytes
        }
        /// Per interest subscription; beyond it libnats drops (counted as slow_consumer losses).
        public static let standard = PendingLimits(messages: 65_536, bytes: 64 << 20)
    }

    public let nodeName: String
    /// Random per start: lets receivers tell a restarted node's fresh sequence from a replay.
    public let epoch: UInt64
    /// Set by `start` before any libnats thread exists; weak so a delivery that owns this node
    /// (the broker's bridge) forms no cycle.
    private weak var delivery: (any ClusterDelivery)?
    private let pendingLimits: PendingLimits
    /// Publications NATS holds for us while reconnecting; beyond it they are lost (counted).
    private let reconnectBufferBytes: Int
    /// Group consumers: the group link and the lease keeper (ClusterGroupConsumers).
    private let groups: ClusterGroupConsumers
    /// Loop threads → publisher thread; full → the publication is lost (counted). Set once in
    /// init (it needs `self` for its send closure), never replaced; the queue locks itself.
    private var publishQueue: ClusterPublishQueue!
    // Internal (not private) from here on where ClusterNode+Publisher uses them.
    let log: @Sendable (String) -> Void
    let counters = ClusterCounters()
    /// Serial queue for blocking cluster work (flushes, KV lease calls): the "control thread".
    public let control = DispatchQueue(label: "fastbroker.cluster.control")

    /// The connection (set by `start`, closed and cleared by `stop`) and the publish sequence.
    /// Every use of the connection's handle holds this lock, so none runs after `stop` destroyed
    /// it; a publish takes its sequence number and goes on the wire under it, so sequence order
    /// is wire order (receivers rely on it to drop duplicates). Lock order: link, interest, sequenceGaps.
    let link = PThreadLock<(connection: NatsConnection?, sequence: UInt64)>((nil, 0))
    /// Interest: one NATS subscription per subject, reference-counted. Locked by this mutex.
    private let interest = PThreadLock<[String: InterestSubscription]>([:])
    /// Drops of subscriptions already removed (their counters die with them).
    private let retiredDrops = Atomic<UInt64>(0)
    /// Set once by `stop`: the publisher thread then hands nothing more to NATS (what is left is
    /// counted lost), so stop waits for one NATS call at most, not for a backlog.
    let stopping = Atomic<Bool>(false)
    /// Both links, set once by `start`; read by `closeConnections(after:)` without the link lock
    /// (which a publish blocked on a stalled server holds). Locked by this mutex.
    private let openedConnections = PThreadLock<[NatsConnection]>([])
    /// Receive side, per origin node: the newest (epoch, sequence) handed over. Touched only by
    /// the delivery thread; the mutex makes that safe even if libnats used several.
    private let lastDelivered = PThreadLock<[String: (epoch: UInt64, sequence: UInt64)]>([:])
    /// Per-subject sequence for outgoing publications: publisher thread, under the link lock.
    var subjectSequencer = SubjectSequencer()
    /// The last subject worked out and the envelope buffer: publisher thread, under the link lock.
    var publisherScratch = PublisherScratch()
    /// Receive side gap counting: the delivery thread and interest changes, under this mutex
    /// (taken last: after link and interest, never while holding lastDelivered).
    private let sequenceGaps = PThreadLock(SequenceGapDetector())

    private struct InterestSubscription {
        var subscription: OpaquePointer
        var references: Int
    }

    public init(
        nodeName: String, pendingLimits: PendingLimits = .standard, reconnectBufferBytes: Int = 8 << 20,
        publishQueueLimits: PendingLimits = .standard, groupLeaseTTLMs: Int = ClusterConfig.defaultLeaseTTLMs,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.nodeName = nodeName
        self.epoch = UInt64.random(in: 1...UInt64.max)
        self.pendingLimits = pendingLimits
        self.reconnectBufferBytes = reconnectBufferBytes
        self.log = log
        groups = ClusterGroupConsumers(
            nodeName: nodeName, leaseTTLMs: groupLeaseTTLMs, pendingLimits: pendingLimits, control: control, counters: counters, log: log)
        // Weak: the node owns the queue; a drain still running after the node is gone drops.
        publishQueue = ClusterPublishQueue(
            maxEntries: publishQueueLimits.messages, maxBytes: publishQueueLimits.bytes, label: "fastbroker.cluster.publisher"
        ) { [weak self] in self?.send($0) }
    }

    /// Connects to `servers` (an array: libnats fails over between them) and hands received
    /// publications to `delivery`. When no server answers yet it keeps retrying in the background
    /// and logs it; publishes meanwhile are buffered up to the reconnect buffer, then counted as lost.
    public func start(servers: [String], delivery: any ClusterDelivery) throws(NatsError) {
        self.delivery = delivery
        let settings = NatsConnection.Settings(name: "fastbroker-" + nodeName, servers: servers, reconnectBufferBytes: reconnectBufferBytes)
        let opened = try NatsConnection(settings, events: self)
        link.withLock { $0.connection = opened }
        try groups.start(servers: servers, delivery: delivery)
        openedConnections.withLock { $0 = [opened] + (groups.natsConnection.map { [$0] } ?? []) }
        if !opened.isConnected { log("cluster: NATS not reachable yet at \(servers.joined(separator: ", ")); retrying") }
    }

    /// Closes the connection and forgets every interest subscription.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        groups.stop()
        link.withLock { link in
            interest.withLock { table in
                for entry in table.values {
                    sequenceGaps.withLock { $0.unsubscribed(UInt(bitPattern: entry.subscription)) }
                    retiredDrops.wrappingAdd(NatsConnection.dropped(entry.subscription), ordering: .relaxed)
                    NatsConnection.unsubscribe(entry.subscription)
                }
                table.removeAll()
            }
            link.connection?.close()
            link.connection = nil
        }
        openedConnections.withLock { $0.removeAll() }
    }

    /// Shutdown's bound when NATS stopped answering: every JetStream call waits up to 5 s for
    /// its reply and stopping makes several (the retained bucket's watcher, each lease release),
    /// and a publish can wait out the write deadline. Unless cancelled first, after `milliseconds`
    /// this closes both links under whatever still waits, so each such call fails at once (what
    /// it was for — a lease release, a queued write — is lost and the lease expires by its TTL).
    public func closeConnections(after milliseconds: Int) -> DispatchWorkItem {
        let connections = openedConnections.withLock { $0 }
        let log = log
        let watchdog = DispatchWorkItem { [self] in
            stopping.store(true, ordering: .relaxed)
            log("cluster: NATS did not let the node stop within \(milliseconds) ms; closing its connections")
            for connection in connections { connection.close() }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds), execute: watchdog)
        return watchdog
    }

    // MARK: - Publishing (loop threads)

    /// Queues one local publication for the nodes that have interest in its topic; never waits.
    /// Returns false when it was lost at once (publish queue full; counted); a topic too long
    /// for a subject (`subject_too_long`) or NATS refusing it (`publish_failed`) is counted
    /// later on the publisher thread. The caller's local delivery is unaffected either way.
    @discardableResult
    public func publish(_ publication: ClusterPublication) -> Bool {
        guard publishQueue.enqueue(publication) else {
            let lost = counters.publishQueueFull.wrappingAdd(1, ordering: .relaxed).newValue
            if lost & (lost - 1) == 0 {
                log("cluster: publish queue full (NATS slow or stalled); publication \(publication.publicationID) on \(publication.topic) lost (\(lost) so far)")
            }
            return false
        }
        return true
    }

    /// Waits until every publication queued before the call has been handed to NATS (or
    /// counted lost). Tests and the control queue only: it can wait on the network.
    public func waitUntilPublished() { publishQueue.waitUntilSent() }

    // MARK: - Groups (loop threads)

    /// This node has members of `group` now: consume it (shared: a queue subscription; exclusive
    /// and failover: once this node holds the group's lease). Never waits.
    public func joinGroup(_ group: ClusterGroup) { groups.join(group) }

    /// This node's last member of `group` left: stop consuming it (releasing its lease).
    public func leaveGroup(_ group: ClusterGroup) { groups.leave(group) }

    /// Asks the cluster whether a member may join `group` (ClusterGroupRegistry); `answer` runs
    /// on the control queue. Never waits.
    public func admitToGroup(_ group: ClusterGroup, first: Bool, answer: @escaping @Sendable (ClusterGroupAdmission) -> Void) {
        groups.admit(group, first: first, answer: answer)
    }

    /// Failover: this node's longest-standing member of `group` now has join order `order`.
    public func setGroupStanding(_ group: ClusterGroup, order: UInt64) { groups.setStanding(group, order: order) }

    /// Shared: no local member of `group` accepts `publication`: pass it to the next member node
    /// not in `tried` (ClusterGroupForward). False (counted) when no member node is left to try.
    public func forwardGroupEvent(_ publication: ClusterPublication, group: ClusterGroup, tried: [String]) -> Bool {
        groups.forward(publication, group: group, tried: tried)
    }

    // MARK: - Interest (loop threads)

    /// Subscribes this node to publications matching (realm, pattern, match) anywhere in the
    /// cluster; reference-counted per NATS subject. Returns false when the pattern cannot be a
    /// subject (too long) or NATS refused it (logged).
    @discardableResult
    public func addInterest(realm: String, pattern: String, match: MatchPolicy) -> Bool {
        guard let subject = ClusterSubject.interest(realm: realm, pattern: pattern, match: match)?.subject else { return false }
        let limits = pendingLimits
        return link.withLock { link in
            guard let connection = link.connection else { return false }
            return interest.withLock { table in
                if var entry = table[subject] {
                    entry.references += 1
                    table[subject] = entry
                    return true
                }
                do throws(NatsError) {
                    let subscription = try connection.subscribe(subject: subject, pendingMessages: limits.messages, pendingBytes: limits.bytes)
                    table[subject] = InterestSubscription(subscription: subscription, references: 1)
                    sequenceGaps.withLock { $0.subscribed(UInt(bitPattern: subscription)) }
                    return true
                } catch {
                    log("cluster: cannot subscribe to \(subject): \(error)")
                    return false
                }
            }
        }
    }

    /// Drops one reference taken by `addInterest`; the last one unsubscribes.
    public func removeInterest(realm: String, pattern: String, match: MatchPolicy) {
        guard let subject = ClusterSubject.interest(realm: realm, pattern: pattern, match: match)?.subject else { return }
        link.withLock { _ in
            interest.withLock { table in
                guard var entry = table[subject] else { return }
                entry.references -= 1
                if entry.references > 0 {
                    table[subject] = entry
                    return
                }
                table[subject] = nil
                sequenceGaps.withLock { $0.unsubscribed(UInt(bitPattern: entry.subscription)) }
                retiredDrops.wrappingAdd(NatsConnection.dropped(entry.subscription), ordering: .relaxed)
                NatsConnection.unsubscribe(entry.subscription)
            }
        }
    }

    /// Blocks until the NATS server has seen everything sent so far (interest included). Holds
    /// the link meanwhile, so publishers wait too: for tests and the control queue, never loops.
    public func flush(timeoutMs: Int = 2_000) throws(NatsError) {
        publishQueue.waitUntilSent()
        let failure: NatsError? = link.withLock { link in
            guard let connection = link.connection else { return NatsError(NATS_CONNECTION_CLOSED, "flush") }
            do throws(NatsError) { try connection.flush(timeoutMs: timeoutMs) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    public var metrics: ClusterMetrics {
        let (subscriptionCount, liveDrops) = interest.withLock { table in
            (table.count, table.values.reduce(UInt64(0)) { $0 + NatsConnection.dropped($1.subscription) })
        }
        let c = counters
        return ClusterMetrics(
            published: c.published.load(ordering: .relaxed), publishFailed: c.publishFailed.load(ordering: .relaxed),
            publishQueueFull: c.publishQueueFull.load(ordering: .relaxed),
            subjectTooLong: c.subjectTooLong.load(ordering: .relaxed), received: c.received.load(ordering: .relaxed),
            delivered: c.delivered.load(ordering: .relaxed), duplicatesSkipped: c.duplicatesSkipped.load(ordering: .relaxed),
            ownEchoesSkipped: c.ownEchoesSkipped.load(ordering: .relaxed), malformed: c.malformed.load(ordering: .relaxed),
            slowConsumerDropped: retiredDrops.load(ordering: .relaxed) + liveDrops + c.groupDropped.load(ordering: .relaxed),
            disconnects: c.disconnects.load(ordering: .relaxed), reconnects: c.reconnects.load(ordering: .relaxed),
            groupReceived: c.groupReceived.load(ordering: .relaxed), groupGone: c.groupGone.load(ordering: .relaxed),
            sequenceGapLost: c.sequenceGapLost.load(ordering: .relaxed), interestSubscriptions: subscriptionCount,
            groupForwarded: c.groupForwarded.load(ordering: .relaxed), groupUnaccepted: c.groupUnaccepted.load(ordering: .relaxed),
            groupForwardFailed: c.groupForwardFailed.load(ordering: .relaxed), natsMessagesPublished: c.natsMessagesPublished.load(ordering: .relaxed))
    }

    /// The connection, for the lease store (same connection: one node, one link to NATS). A lease
    /// store must be released before `stop`: its JetStream context refers to the connection.
    var natsConnection: NatsConnection? { link.withLock { $0.connection } }

    // MARK: - NatsConnectionEvents (libnats threads)

    func natsMessage(_ bytes: UnsafeRawBufferPointer, subscription: OpaquePointer?) {
        do throws(ClusterBatch.BatchError) {
            try ClusterBatch.forEachEnvelope(bytes) { receive($0, subscription: subscription) }
        } catch {
            counters.received.bump()
            countMalformed("a batch with broken framing (\(error)), none of it delivered")
        }
    }

    private func countMalformed(_ what: String) {
        let dropped = counters.malformed.wrappingAdd(1, ordering: .relaxed).newValue
        if dropped & (dropped - 1) == 0 { log("cluster: dropped \(what); \(dropped) so far") }
    }

    /// One envelope, from its own NATS message or out of a batch: echo and duplicate skipping,
    /// gap counting, delivery.
    private func receive(_ bytes: UnsafeRawBufferPointer, subscription: OpaquePointer?) {
        counters.received.bump()
        let publication: ClusterPublication
        do throws(ClusterEnvelope.EnvelopeError) {
            publication = try ClusterEnvelope.decode(bytes)
        } catch {
            return countMalformed("a message that is not a publication envelope (\(error))")
        }
        if publication.originNode == nodeName {
            counters.ownEchoesSkipped.bump()
            return
        }
        let isNew = lastDelivered.withLock { last in
            // Modified in place: one hash of the origin per publication, not a lookup and a store.
            // Epochs are never 0 (random in 1...max), so the default is older than anything.
            Self.advance(&last[publication.originNode, default: (epoch: 0, sequence: 0)], to: publication)
        }
        guard isNew else {
            counters.duplicatesSkipped.bump()
            return
        }
        let gap = sequenceGaps.withLock { gaps in
            gaps.received(
                origin: publication.originNode, realm: publication.realm, topic: publication.topic, originEpoch: publication.originEpoch,
                stamp: SubjectStamp(stream: publication.subjectStream, sequence: publication.subjectSequence),
                subscription: UInt(bitPattern: subscription)
            ) { live in OpaquePointer(bitPattern: live).map(NatsConnection.dropped) ?? 0 }
        }
        if let gap { countGap(gap, publication) }
        counters.delivered.bump()
        delivery?.deliver(publication)
    }

    /// Records `publication` as the newest from its origin unless it is not newer than `seen`.
    private static func advance(_ seen: inout (epoch: UInt64, sequence: UInt64), to publication: ClusterPublication) -> Bool {
        if seen.epoch == publication.originEpoch, publication.originSequence <= seen.sequence { return false }
        seen = (publication.originEpoch, publication.originSequence)
        return true
    }

    /// Counts a hole in an origin's subject sequence; logs the 1st, 2nd, 4th, 8th… gap.
    private func countGap(_ gap: SequenceGapDetector.Gap, _ publication: ClusterPublication) {
        let total = counters.sequenceGapLost.wrappingAdd(gap.lost, ordering: .relaxed).newValue
        let gaps = counters.sequenceGaps.wrappingAdd(1, ordering: .relaxed).newValue
        guard gaps & (gaps - 1) == 0 else { return }
        log("cluster: \(gap.lost) publication(s) from node \(publication.originNode) on \(publication.topic) (realm \(publication.realm)) never arrived "
            + "(sequence \(gap.after) then \(gap.sequence); a NATS route was down?); \(total) lost in \(gaps) gap(s) so far")
    }

    func natsConnectionChanged(_ change: NatsConnectionChange) {
        switch change {
        case .connected: log("cluster: node \(nodeName) connected to NATS")
        case .disconnected:
            counters.disconnects.bump()
            log("cluster: node \(nodeName) lost its NATS connection; publications may be lost until it reconnects")
        case .reconnected:
            counters.reconnects.bump()
            log("cluster: node \(nodeName) reconnected to NATS")
        case .closed: log("cluster: node \(nodeName) closed its NATS connection")
        }
    }

    func natsAsyncError(_ error: NatsError, subscriptionDropped: Bool) {
        // Drops themselves are read from libnats' per-subscription counters (see `metrics`).
        log(subscriptionDropped ? "cluster: slow consumer, NATS messages dropped at the pending limit" : "cluster: NATS error \(error)")
    }
}
