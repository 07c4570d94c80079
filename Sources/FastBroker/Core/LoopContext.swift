// Per-loop broker state: the loop, its listeners, connections, metrics, message-buffer pool and
// id source; the inbox through which other loops hand it publications (lock-free MPSC queue +
// coalescing uv_async wake-up); and the list of connections with output waiting, flushed once
// per loop iteration from a prepare hook.
//
// It also resolves the SessionRefs that consumer-group messages carry: other loops never hold a
// Session (or anything else this loop frees), only a ref, which resolves here while the session
// is established. Debug builds check that loop-owned state is reached only on this loop's thread
// (EventLoop.assertInLoopThread) at the entry points other loops' messages lead to.

import BrokerLoop
import Logging

final class LoopContext: @unchecked Sendable {
    let loop: EventLoop
    var index: Int { loop.index }
    unowned let server: BrokerServer
    let metrics = LoopMetrics()
    let log: Logger
    /// Messages from other loops (publications, consumer-group traffic). Any loop enqueues;
    /// only this loop dequeues.
    let inbox = MPSCQueue<LoopMessage>(capacity: 8192)
    private(set) var inboxWakeup: AsyncWakeup!
    // All fields below: owned by the loop thread.
    let bufferPool = MessageBufferPool()
    let ids = IDSource()
    private(set) var connections: [ObjectIdentifier: Connection] = [:]
    /// Established sessions by serial (SessionRef.serial); a session leaves when it detaches.
    private var sessions: [UInt64: Session] = [:]
    private var nextSessionSerial: UInt64 = 0
    var listeners: [TCPListener] = []
    private var dirty: [Connection] = []
    private var flushing: [Connection] = []
    private var flushHook: PrepareHook?
    /// Messages for other loops whose inbox was full, per destination loop, in order.
    private var overflow: [[LoopMessage]] = []
    /// Connections whose reading is paused until the overflow drains (publisher backpressure).
    private var pausedReaders: [Connection] = []
    private var shutdownTimer: LoopTimer?
    /// Loop time at which shutdown stops waiting and closes what is left. Owned by the loop thread.
    private var shutdownDeadline: UInt64 = 0
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
        overflow = Array(repeating: [], count: loopCount)
        flushHook = PrepareHook(loop: loop) { [unowned self] in self.beforeBlocking() }
        inboxWakeup = AsyncWakeup(loop: loop) { [unowned self] in self.drainInbox() }
    }

    func register(_ connection: Connection) {
        connections[ObjectIdentifier(connection)] = connection
        metrics.connectionsAccepted.increment()
    }

    func unregister(_ connection: Connection) {
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
        dirty.append(connection)
    }

    private func beforeBlocking() {
        retryOverflow()
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

    // MARK: - Cross-loop fan-out

    /// Hands a publication received on this loop to every other loop that has subscriptions in
    /// its realm. The bytes are copied once, shared by all destinations.
    func forwardToOtherLoops(_ publication: Publication, realm: Realm, transcoded: TranscodedPayload?) {
        let loops = server.contexts
        guard loops.count > 1 else { return }
        var shared: RemotePublication? = nil
        for destination in loops where destination !== self
            && realm.subscriptionsPerLoop[destination.index].current > 0 {
            if shared == nil { shared = RemotePublication(realm: realm, publication, transcoded: transcoded) }
            send(shared!, to: destination.index)
        }
    }

    /// Queues `message` for loop `index` (which may be this loop: then it is queued too, so the
    /// order of messages is the same whether or not the destination is local). Keeps the message
    /// and retries later if that loop's inbox is full.
    func send(_ message: LoopMessage, to index: Int) {
        loop.assertInLoopThread()
        let destination = server.contexts[index]
        if overflow[index].isEmpty && destination.inbox.enqueue(message) {
            destination.inboxWakeup.signal()
        } else {
            // Full: keep it (in order) and retry before this loop next blocks; meanwhile
            // publishers on this loop stop being read so the backlog stays bounded.
            overflow[index].append(message)
            metrics.crossLoopOverflows.increment()
        }
    }

    var hasOverflow: Bool {
        var i = 0
        while i < overflow.count { if !overflow[i].isEmpty { return true }; i += 1 }
        return false
    }

    /// A connection that just published while other loops' inboxes were full stops reading until
    /// they drain, so the backlog stays bounded.
    func pauseReadingIfBackedUp(_ connection: Connection) {
        guard hasOverflow else { return }
        connection.pauseReading()
        pausedReaders.append(connection)
    }

    private func retryOverflow() {
        guard hasOverflow else { return }
        let loops = server.contexts
        for destination in loops where !overflow[destination.index].isEmpty {
            var sent = 0
            for message in overflow[destination.index] {
                guard destination.inbox.enqueue(message) else { break }
                sent += 1
            }
            if sent > 0 {
                overflow[destination.index].removeFirst(sent)
                destination.inboxWakeup.signal()
            }
        }
        if hasOverflow {
            // Try again on the next iteration even if no I/O arrives.
            loop.execute { [unowned self] in self.retryOverflow() }
        } else if !pausedReaders.isEmpty {
            for connection in pausedReaders { connection.resumeReading() }
            pausedReaders.removeAll(keepingCapacity: true)
        }
    }

    /// Runs what other loops handed to this one. One wake-up drains everything queued.
    private func drainInbox() {
        loop.assertInLoopThread()
        while let message = inbox.dequeue() {
            switch message.kind {
            case .publication:
                let remote = unsafeDowncast(message, to: RemotePublication.self)
                let router = remote.realm.routers[index]
                let delivered = router.publish(remote.publication, pool: bufferPool, remote: remote)
                metrics.eventsDelivered.increment(by: delivered)
            case .groupJoin:
                let join = unsafeDowncast(message, to: GroupJoin.self)
                join.member.realm.routers[index].handleJoin(join)
            case .groupJoinResult:
                let result = unsafeDowncast(message, to: GroupJoinResult.self)
                if let session = session(result.session) { session.groupJoinCompleted(result) } else { dropUnclaimed(result) }
            case .groupLeave:
                let leave = unsafeDowncast(message, to: GroupLeave.self)
                leave.member.realm.routers[index].handleLeave(leave)
            case .groupDelivery:
                let delivery = unsafeDowncast(message, to: GroupDelivery.self)
                if let session = session(delivery.member.owner) { session.receiveGroupDelivery(delivery) } else { returnUnclaimed(delivery) }
            case .groupReturn:
                let returned = unsafeDowncast(message, to: GroupReturn.self)
                returned.member.realm.routers[index].handleReturn(returned)
            }
        }
    }

    // MARK: - Shutdown

    /// Stops accepting, says GOODBYE to every session, and stops the loop once every connection
    /// is closed or the grace period is over.
    func beginShutdown(graceMilliseconds: UInt64) {
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
        // The inbox wake-up stays open: other loops may still signal it until they stop too.
        // BrokerServer closes it once every loop thread has finished (closeInbox).
    }

    /// After every loop has stopped: nobody can signal the inbox any more.
    func closeInbox() {
        inboxWakeup.close()
    }
}
