// Per-loop broker state: the loop, its listeners, connections, metrics, message-buffer pool and
// id source; the inbox through which other loops hand it publications (lock-free MPSC queue +
// coalescing uv_async wake-up); and the list of connections with output waiting, flushed once
// per loop iteration from a prepare hook.

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
    var listeners: [TCPListener] = []
    private var dirty: [Connection] = []
    private var flushing: [Connection] = []
    private var flushHook: PrepareHook?
    /// Messages for other loops whose inbox was full, per destination loop, in order.
    private var overflow: [[LoopMessage]] = []
    /// Connections whose reading is paused until the overflow drains (publisher backpressure).
    private var pausedReaders: [Connection] = []
    private var shutdownTimer: LoopTimer?
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
        overflow = Array(repeating: [], count: loopCount)
        flushHook = PrepareHook(loop: loop) { [unowned self] in self.beforeBlocking() }
        inboxWakeup = AsyncWakeup(loop: loop) { [unowned self] in self.drainInbox() }
        connectionTimeouts = ConnectionTimeouts(context: self, limits: server.configuration.limits)
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
                result.session.groupJoinCompleted(result)
            case .groupLeave:
                let leave = unsafeDowncast(message, to: GroupLeave.self)
                leave.member.realm.routers[index].handleLeave(leave)
            case .groupDelivery:
                let delivery = unsafeDowncast(message, to: GroupDelivery.self)
                delivery.member.session.receiveGroupDelivery(delivery)
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
        let started = loop.now
        let timer = LoopTimer(loop: loop)
        timer.start(milliseconds: 10, repeatMilliseconds: 10) { [unowned self] in
            if self.connections.isEmpty || self.loop.now - started >= graceMilliseconds {
                for connection in self.connections.values { connection.closeNow() }
                self.shutdownTimer?.close()
                self.shutdownTimer = nil
                self.close()
                self.loop.stop()
            }
        }
        shutdownTimer = timer
    }

    private func close() {
        flushHook?.close()
        flushHook = nil
        connectionTimeouts?.close()
        connectionTimeouts = nil
        // The inbox wake-up stays open: other loops may still signal it until they stop too.
        // BrokerServer closes it once every loop thread has finished (closeInbox).
    }

    /// After every loop has stopped: nobody can signal the inbox any more.
    func closeInbox() {
        inboxWakeup.close()
    }
}
