// Per-loop broker state: the loop, its listeners, connections, metrics, message-buffer pool and
// id source; the inbox through which other loops hand it publications (lock-free MPSC queue +
// coalescing uv_async wake-up); and the list of connections with output waiting, flushed once
// per loop iteration from a prepare hook.
//
// Cross-loop backlog (issue 10 item 5): a message whose destination inbox is full waits in
// this loop's per-destination overflow (CrossLoopOverflow.swift), in order. The overflow is
// bounded: publications and group deliveries count against its byte and message limits (cost =
// payload bytes + a fixed overhead per message); past either, a publication is dropped for that
// destination and a delivery goes through the group's drop accounting, both counted in
// fastbroker_cross_loop_drops_total{kind}. Before that, publishers on this loop stop being read
// while anything waits (pauseReadingIfBackedUp), so drops happen only when one read's worth of
// publications overshoots. Membership traffic (joins, results, leaves, returns) is never
// dropped and does not count against the bound: it is small and bounded by sessions and
// subscriptions, and losing it would corrupt group state. No polling: a loop with overflow
// raises its flag in the destination's `spaceWanted`; the destination, after draining its
// inbox, wakes every loop that asked (`spaceWakeup`), which then moves what fits. The cluster
// bridge hands messages from NATS over the same way (CrossLoopOverflow.send), with the last
// `spaceWanted` slot and `outsideSenderWakeup` as its wake-up.
//
// It also resolves the SessionRefs that consumer-group messages carry: other loops never hold a
// Session (or anything else this loop frees), only a ref, which resolves here while the session
// is established. Debug builds check that loop-owned state is reached only on this loop's thread
// (EventLoop.assertInLoopThread) at the entry points other loops' messages lead to.

import BrokerConfig
import BrokerLoop
import BrokerSync
import Logging
import Synchronization

/// @unchecked Sendable: other loops reach only `inbox`, `inboxWakeup`, `spaceWanted`,
/// `spaceWakeup` (thread-safe by construction), `index`/`loop`/`server` (immutable) and the
/// metrics counters (atomic); every other field is owned by this loop's thread, and the methods
/// that change them check it in debug builds (loop.assertInLoopThread).
final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    var index: Int { loop.index }
    unowned let server: BrokerServer
    let metrics = LoopMetrics()
    let log: Logger
    /// The configured limits, copied here (they are immutable): per-message paths read them
    /// without the unowned `server` load and strong check.
    let limits: LimitsConfig
    /// Messages from other loops (publications, consumer-group traffic). Any loop enqueues;
    /// only this loop dequeues.
    let inbox = MPSCQueue<InboxMessage>(capacity: 8192)
    private(set) var inboxWakeup: AsyncWakeup!
    // All fields below: owned by the loop thread.
    let bufferPool = MessageBufferPool()
    let ids = IDSource()
    /// This loop's share of the thread pool, for ticket checks (Session+Handshake.swift).
    lazy var authVerifications = LoopWork(loop: loop, capacity: Session.maxPendingAuthentications)
    private(set) var connections: [ObjectIdentifier: Connection] = [:]
    /// Established sessions by serial (SessionRef.serial); a session leaves when it detaches.
    private var sessions: [UInt64: Session] = [:]
    private var nextSessionSerial: UInt64 = 0
    var listeners: [TCPListener] = []
    private var dirty: [Connection] = []
    private var flushing: [Connection] = []
    private var flushHook: PrepareHook?
    /// Spare group deliveries (Router+Groups takes, OutboundQueue gives back).
    var groupDeliveryPool = GroupDeliveryPool()
    /// Messages for other loops whose inbox was full, per destination loop, in order.
    private var overflow: CrossLoopOverflow
    /// The overflow's byte bound (tests lower it).
    var overflowByteLimit: Int {
        get { overflow.byteLimit }
        set { overflow.byteLimit = newValue }
    }
    /// Set by another loop (index = its loop) that has overflow waiting for this loop's inbox;
    /// this loop clears it and wakes that loop after draining its inbox. Any thread. The last
    /// slot (`outsideSender`) is the cluster bridge's, woken through `outsideSenderWakeup`.
    let spaceWanted: [SpaceRequest]
    var outsideSender: Int { spaceWanted.count - 1 }
    /// What wakes the outside sender (set once by ClusterBridge); run on this loop's thread.
    let outsideSenderWakeup = PThreadLock<(@Sendable () -> Void)?>(nil)
    /// Wakes this loop when a destination it waits for has drained (retries its overflow).
    private(set) var spaceWakeup: AsyncWakeup!
    /// Loop iterations (prepare-hook runs): read by tests to prove the loop does not spin.
    let iterations = Counter()
    /// Connections whose reading is paused until the overflow drains (publisher backpressure).
    private(set) var pausedReaders: [Connection] = []
    private var shutdownTimer: LoopTimer?
    /// Loop time at which shutdown stops waiting and closes what is left. Owned by the loop thread.
    private var shutdownDeadline: UInt64 = 0
    /// Routers with closed sessions' subscriptions still to leave (Router.continueTeardown).
    private var teardowns: [Router] = []
    /// Ages out idle cache entries of this loop's routers (Router.sweepIdleCaches): an entry
    /// goes after 10–20 s without a lookup.
    private var cacheSweepTimer: LoopTimer?
    static let cacheSweepMilliseconds: UInt64 = 10_000
    /// The frame/idle timeout sweep (ConnectionTimeouts.swift).
    private var connectionTimeouts: ConnectionTimeouts?
    /// When set (tests), the loop thread's jemalloc allocation counter is sampled into
    /// `allocatedBytesSample` once per iteration.
    var samplesAllocations = false {
        didSet { allocatedCounter = Allocator.threadAllocatedCounter() }
    }
    private var allocatedCounter: UnsafePointer<UInt64>?
    let allocatedBytesSample = Counter()

    init(loop: EventLoop, server: BrokerServer, log: Logger, loopCount: Int) {
        self.loop = loop
        self.server = server
        self.log = log
        limits = server.configuration.limits
        overflow = CrossLoopOverflow(loopCount: loopCount)
        spaceWanted = (0...loopCount).map { _ in SpaceRequest() }
        flushHook = PrepareHook(loop: loop) { [unowned self] in self.beforeBlocking() }
        inboxWakeup = AsyncWakeup(loop: loop) { [unowned self] in self.drainInbox() }
        spaceWakeup = AsyncWakeup(loop: loop) { [unowned self] in self.retryOverflow() }
        let sweep = LoopTimer(loop: loop)
        sweep.start(milliseconds: Self.cacheSweepMilliseconds, repeatMilliseconds: Self.cacheSweepMilliseconds) { [unowned self] in
            for realm in self.server.realms.values { realm.routers[self.index].sweepIdleCaches() }
        }
        cacheSweepTimer = sweep
        connectionTimeouts = ConnectionTimeouts(context: self, limits: server.configuration.limits)
    }

    func register(_ connection: Connection) {
        loop.assertInLoopThread()
        connections[ObjectIdentifier(connection)] = connection
        metrics.connectionsAccepted.increment()
    }

    func unregister(_ connection: Connection) {
        loop.assertInLoopThread()
        if connections.removeValue(forKey: ObjectIdentifier(connection)) != nil {
            metrics.connectionsClosed.increment()
        }
    }

    deinit {
        // Pooled buffers point back at the pool; let the pool go with this loop.
        bufferPool.retire()
    }

    // MARK: - Sessions other loops can name

    /// A session became established: other loops may now name it by the returned ref.
    func registerSession(_ session: Session) -> SessionRef {
        loop.assertInLoopThread()
        nextSessionSerial += 1
        sessions[nextSessionSerial] = session
        return SessionRef(loop: index, serial: nextSessionSerial)
    }

    func unregisterSession(_ ref: SessionRef) {
        loop.assertInLoopThread()
        sessions[ref.serial] = nil
    }

    /// The session `ref` names, while it is established; nil once it closed (refs are never reused).
    func session(_ ref: SessionRef) -> Session? {
        loop.assertInLoopThread()
        precondition(ref.loop == index, "session ref of loop \(ref.loop) resolved on loop \(index)")
        return sessions[ref.serial]
    }

    /// A group delivery whose session or membership is gone goes back home for re-dispatch.
    func returnUnclaimed(_ delivery: GroupDelivery) {
        send(GroupReturn(member: delivery.member, event: delivery.event), to: delivery.member.home)
    }

    /// A join result for a session that is no longer established: a membership made for it is
    /// left again at once; a refusal needs no answer.
    func dropUnclaimed(_ result: GroupJoinResult) {
        guard case .joined(let member, _) = result.outcome else { return }
        send(GroupLeave(member: member, processed: 0, unwritten: [], reason: "session closed before the join completed"),
             to: member.home)
    }

    /// Marks `connection` for a flush before the loop next blocks.
    func markDirty(_ connection: Connection) {
        loop.assertInLoopThread()
        dirty.append(connection)
    }

    private func beforeBlocking() {
        iterations.increment()
        if !pausedReaders.isEmpty { resumeReadersIfDrained() }
        flushDirty()
        if let allocatedCounter {
            allocatedBytesSample.set(Int(truncatingIfNeeded: allocatedCounter.pointee))
        }
    }

    func flushDirty() {
        // Flushing can mark connections again; swap the two lists (no allocation once grown).
        while !dirty.isEmpty {
            swap(&dirty, &flushing)
            var i = 0
            while i < flushing.count { flushing[i].flush(); i += 1 }
            flushing.removeAll(keepingCapacity: true)
        }
    }

    // MARK: - Teardown of closed sessions

    /// `router` has closed sessions' subscriptions to leave: one time slice per loop turn.
    func continueTeardownLater(_ router: Router) {
        loop.assertInLoopThread()
        teardowns.append(router)
        if teardowns.count == 1 { loop.execute { [unowned self] in self.runTeardowns() } }
    }

    private func runTeardowns() {
        let routers = teardowns
        teardowns.removeAll(keepingCapacity: true)
        for router in routers where router.continueTeardown() { teardowns.append(router) }
        if !teardowns.isEmpty { loop.execute { [unowned self] in self.runTeardowns() } }
    }

    // MARK: - Cross-loop fan-out

    /// Hands a publication made on this loop to every other loop that has subscriptions in its
    /// realm (step 3 of Router.publish's fan-out). `copy` yields the publication's one shared
    /// copy, which the router makes on first need: every destination gets the same one.
    func forwardToOtherLoops(in realm: Realm, _ copy: () -> RemotePublication) {
        let loops = server.contexts
        guard loops.count > 1 else { return }
        for destination in loops where destination !== self
            && realm.subscriptionsPerLoop[destination.index].current > 0 {
            send(copy(), to: destination)
        }
    }

    /// Queues `message` for loop `index` (which may be this loop: then it is queued too, so the
    /// order of messages is the same whether or not the destination is local). Keeps the message
    /// and retries when that loop has drained if its inbox is full; past the overflow bound a
    /// publication or delivery is dropped and counted (see the header).
    func send(_ message: some LoopMessage, to index: Int) {
        send(message.inboxMessage, to: server.contexts[index])
    }

    /// `send` to a destination at hand (a group member's loop): no lookup through the server.
    func send(_ message: some LoopMessage, to destination: LoopContext) {
        send(message.inboxMessage, to: destination)
    }

    /// The same with the inbox case already made (a group delivery, made per event).
    func send(_ message: InboxMessage, to destination: LoopContext) {
        #if DEBUG   // per-event path (group deliveries)
        loop.assertInLoopThread()
        #endif
        switch overflow.send(message, to: destination, requester: self.index) {
        case .sent: return
        // Full: kept (in order) until the destination drains; meanwhile publishers on this
        // loop stop being read so the backlog stays bounded.
        case .queued: metrics.crossLoopOverflows.increment()
        case .dropped: drop(message)
        }
    }

    /// A group delivery for a member on `destination`. On this loop, with nothing this loop queued
    /// for itself still waiting (inbox and overflow), it is handed to the member at once: the
    /// inbox would have run it next in the same order, so this skips only the queueing and the
    /// wake-up. Otherwise it goes through the destination's inbox like any message.
    func deliver(_ delivery: GroupDelivery, to destination: LoopContext) {
        if destination === self && inbox.isDrained && overflow.isEmpty(to: index) { return receive(delivery) }
        send(.groupDelivery(delivery), to: destination)
    }

    /// A group delivery reached the member's loop (this one).
    private func receive(_ delivery: GroupDelivery) {
        // The membership, while it lasts, leads to its session (no lookup); a session leaves
        // all of them before it goes.
        if let membership = delivery.member.membership {
            membership.session.receiveGroupDelivery(delivery, membership)
        } else {
            returnUnclaimed(delivery)
        }
    }

    /// A publication or group delivery that does not fit in the bounded overflow.
    private func drop(_ message: InboxMessage) {
        if case .groupDelivery(let delivery) = message {
            // Never reached the member, so it is not in flight: the group's accounting (failover
            // recovery counts deliveries in flight) must not wait for it.
            delivery.member.sent -= 1
            metrics.groupEventsDropped.increment()
            metrics.crossLoopDrops[.groupDelivery].increment()
        } else {
            metrics.crossLoopDrops[.publication].increment()
        }
    }

    /// What waits for loop `index`: all messages, and the cost of the droppable ones.
    func backlog(to index: Int) -> (messages: Int, bytes: Int) { overflow.size(to: index) }

    /// A connection that just published while other loops' inboxes were full stops reading until
    /// they drain, so the backlog stays bounded.
    func pauseReadingIfBackedUp(_ connection: Connection) {
        loop.assertInLoopThread()
        guard !overflow.isEmpty else { return }
        connection.pauseReading()
        pausedReaders.append(connection)
    }

    /// A destination drained its inbox (spaceWakeup): move what now fits; resume publishers
    /// once nothing waits.
    private func retryOverflow() {
        loop.assertInLoopThread()
        var i = 0
        while i < server.contexts.count {
            if !overflow.isEmpty(to: i) { moveOverflow(to: i) }
            i += 1
        }
        resumeReadersIfDrained()
    }

    /// Publishers paused for the backlog read again once nothing waits for any loop.
    private func resumeReadersIfDrained() {
        guard !pausedReaders.isEmpty, overflow.isEmpty else { return }
        for connection in pausedReaders { connection.resumeReading() }
        pausedReaders.removeAll(keepingCapacity: true)
    }

    private func moveOverflow(to index: Int) {
        overflow.moveWaiting(to: server.contexts[index], requester: self.index)
    }

    /// After draining the inbox: wakes every loop (and the outside sender) that waits for room in it.
    private func wakeWaitingSenders() {
        let loops = server.contexts
        var i = 0
        while i < spaceWanted.count {
            if spaceWanted[i].isRaised && spaceWanted[i].clear() {
                if i < loops.count { loops[i].spaceWakeup.signal() } else { outsideSenderWakeup.withLock { $0 }?() }
            }
            i += 1
        }
    }

    /// Runs what other loops handed to this one. One wake-up drains everything queued.
    private func drainInbox() {
        loop.assertInLoopThread()
        while let message = inbox.dequeue() {
            switch message {
            case .publication(let remote):
                let router = remote.realm.routers[index]
                let delivered = router.publish(remote.publication, pool: bufferPool, remote: remote)
                metrics.eventsDelivered.increment(by: delivered)
            case .groupJoin(let join):
                join.member.realm.routers[index].handleJoin(join)
            case .groupJoinResult(let result):
                if let session = session(result.session) { session.groupJoinCompleted(result) } else { dropUnclaimed(result) }
            case .groupLeave(let leave):
                leave.member.realm.routers[index].handleLeave(leave)
            case .groupDelivery(let delivery):
                receive(delivery)
            case .groupReturn(let returned):
                returned.member.realm.routers[index].handleReturn(returned)
            case .clusterGroupPublication(let message):
                message.remote.realm.routers[index].dispatchFromCluster(message)
            case .clusterGroupVerdict(let verdict):
                verdict.realm.routers[index].handleAdmission(verdict)
            }
        }
        wakeWaitingSenders()
    }

    // MARK: - Shutdown

    /// Stops accepting, says GOODBYE to every session, and stops the loop once every connection
    /// is closed or the grace period is over.
    func beginShutdown(graceMilliseconds: UInt64) {
        loop.assertInLoopThread()
        for listener in listeners { listener.close() }
        listeners.removeAll()
        for connection in connections.values { connection.shutdown() }
        shutdownDeadline = loop.now + graceMilliseconds
        let timer = LoopTimer(loop: loop)
        timer.start(milliseconds: 10, repeatMilliseconds: 10) { [unowned self] in
            if self.connections.isEmpty || self.loop.now >= self.shutdownDeadline {
                for connection in self.connections.values { connection.closeNow() }
                self.shutdownTimer?.close()
                self.shutdownTimer = nil
                self.close()
                self.loop.stop()
            }
        }
        shutdownTimer = timer
    }

    /// A second SIGTERM/SIGINT: stop waiting for GOODBYE replies; each connection closes once
    /// its queued output is written, and the loop stops within `flushMilliseconds` regardless.
    func endShutdownWait(flushMilliseconds: UInt64) {
        guard shutdownTimer != nil else { return }
        shutdownDeadline = min(shutdownDeadline, loop.now + flushMilliseconds)
        for connection in Array(connections.values) { connection.closeAfterFlush() }
    }

    private func close() {
        flushHook?.close()
        flushHook = nil
        cacheSweepTimer?.close()
        cacheSweepTimer = nil
        connectionTimeouts?.close()
        connectionTimeouts = nil
        // The inbox wake-up stays open: other loops may still signal it until they stop too.
        // BrokerServer closes it once every loop thread has finished (closeInbox).
    }

    /// After every loop has stopped: nobody can signal the inbox any more.
    func closeInbox() {
        inboxWakeup.close()
        spaceWakeup.close()
    }
}

/// One loop's request to be woken when another loop's inbox has room (LoopContext.spaceWanted).
final class SpaceRequest: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .acquiring) }
    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }
    /// Lowers the flag; true when it was raised (the caller then wakes the requester).
    func clear() -> Bool { raised.exchange(false, ordering: .sequentiallyConsistent) }
}
