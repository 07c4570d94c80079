// Per-loop broker state: the loop, its metrics and connections, and the list of connections
// with output waiting, flushed once per loop iteration from a prepare hook.

import BrokerLoop
import Logging

final class LoopContext {
    let loop: EventLoop
    var index: Int { loop.index }
    unowned let server: BrokerServer
    let metrics = LoopMetrics()
    let log: Logger
    // Owned by the loop thread.
    private(set) var connections: [ObjectIdentifier: Connection] = [:]
    private var dirty: [Connection] = []
    private var flushing: [Connection] = []
    private var flushHook: PrepareHook?

    init(loop: EventLoop, server: BrokerServer, log: Logger) {
        self.loop = loop
        self.server = server
        self.log = log
        flushHook = PrepareHook(loop: loop) { [unowned self] in self.flushDirty() }
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

    func flushDirty() {
        // Flushing can mark connections again; swap the two lists (no allocation once grown).
        while !dirty.isEmpty {
            swap(&dirty, &flushing)
            for connection in flushing { connection.flush() }
            flushing.removeAll(keepingCapacity: true)
        }
    }

    func close() {
        flushHook?.close()
        flushHook = nil
    }
}
