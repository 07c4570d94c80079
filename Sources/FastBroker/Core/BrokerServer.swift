// The broker process: builds realms, one event loop per configured thread, and listeners on
// every loop (SO_REUSEPORT: the kernel spreads connections across loops); runs the loops,
// handles signals on loop 0 (SIGTERM/SIGINT: graceful shutdown, a second one ends the wait
// early; SIGHUP: reload user databases) and serves the metrics text.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import Logging
import Synchronization

/// @unchecked Sendable: tests and `requestShutdown` reach it from other threads. What they
/// touch is immutable after init (configuration, realms, contexts, loops) or atomic; the mutable
/// fields are owned by loop 0's thread (debug check: loop 0's assertInLoopThread where they change).
public final class BrokerServer: @unchecked Sendable {
    public let configuration: BrokerConfiguration
    /// By name, compared as UTF-8 bytes (realm names are URIs).
    let realms: [BytewiseString: Realm]
    let log: Logger
    /// The connection caps, shared by every loop's listeners.
    let admission: ConnectionAdmission
    /// One per loop; fixed after init, so any thread may read the array.
    private(set) var contexts: [LoopContext] = []
    private let loops: [EventLoop]
    /// This node's link to the cluster (SPEC §7); nil when the configuration has no `cluster`.
    private(set) var cluster: ClusterBridge?
    // Owned by loop 0's thread (the thread that calls `run`).
    private var signalWatchers: [SignalWatcher] = []
    private var shuttingDown = false
    /// A second SIGTERM/SIGINT arrived: shutdown no longer waits for GOODBYE replies.
    private var hurried = false
    /// Loop 0's own shutdown finished; it now runs only to serve signals (see `run`).
    private var mainLoopDrained = false
    private var threads: [LoopThread] = []
    /// Loops other than loop 0 still running; loop 0 keeps serving signals until it is 0.
    private let otherLoopsRunning = Atomic<Int>(0)

    /// How long shutdown waits for sessions to answer GOODBYE and for output to drain.
    static let shutdownGraceMilliseconds: UInt64 = 3_000
    /// After a second SIGTERM/SIGINT: how long queued output may still take to be written.
    static let hurriedFlushMilliseconds: UInt64 = 500

    public init(configuration: BrokerConfiguration, log: Logger) throws {
        self.configuration = configuration
        self.log = log
        admission = ConnectionAdmission(limits: configuration.limits)
        let loopCount = configuration.loops > 0 ? configuration.loops : max(1, LoopThread.availableParallelism)
        var realms: [BytewiseString: Realm] = [:]
        for realmConfig in configuration.realms {
            realms[BytewiseString(realmConfig.name)] = try Realm(config: realmConfig, loopCount: loopCount,
                                                                     retainedByteLimit: configuration.limits.maxRetainedBytes)
        }
        self.realms = realms
        loops = try (0..<loopCount).map { try EventLoop(index: $0) }
        contexts = loops.map { LoopContext(loop: $0, server: self, log: log, loopCount: loopCount) }
        for realm in realms.values {
            for (i, router) in realm.routers.enumerated() { router.context = contexts[i] }
        }
        if let clusterConfig = configuration.cluster { cluster = try ClusterBridge(server: self, config: clusterConfig, log: log) }
    }

    public var loopCount: Int { loops.count }

    /// Binds every listener on every loop; throws (naming the address) when one cannot be bound.
    public func start() throws {
        ProcessSignal.ignoreBrokenPipe()
        for listenerConfig in configuration.listeners {
            try TCPListener.ensurePortIsFree(host: listenerConfig.host, port: listenerConfig.port)
        }
        for listenerConfig in configuration.listeners {
            var port = listenerConfig.port
            let tlsContext: TLSServerContext?
            if let tls = listenerConfig.tls {
                do {
                    tlsContext = try TLSServerContext(certificatePath: tls.certificate, keyPath: tls.key, caPath: tls.ca,
                                                      requireClientCertificate: tls.clientAuth)
                } catch {
                    throw StartError("listener \(listenerConfig.address): \(error)")
                }
            } else {
                tlsContext = nil
            }
            for context in contexts {
                let listener = try TCPListener(loop: context.loop, host: listenerConfig.host, port: port,
                                               reusePort: true) { [unowned self, unowned context] stream in
                    self.accept(stream, on: context, listener: listenerConfig, tls: tlsContext)
                }
                port = listener.boundPort   // port 0: the other loops join the port loop 0 got
                context.listeners.append(listener)
            }
            let secure = tlsContext != nil
            let url = listenerConfig.transport == .websocket
                ? "\(secure ? "wss" : "ws")://\(listenerConfig.address.replacingPort(with: port))\(listenerConfig.path)"
                : "\(secure ? "rss" : "rs")://\(listenerConfig.address.replacingPort(with: port))"
            log.info("listening", metadata: ["transport": "\(listenerConfig.transport.rawValue)", "url": "\(url)", "loops": "\(loops.count)"])
        }
        let main = loops[0]
        signalWatchers.append(SignalWatcher(loop: main, signal: .terminate) { [unowned self] in self.beginShutdown(signal: ProcessSignal.terminate.name) })
        signalWatchers.append(SignalWatcher(loop: main, signal: .interrupt) { [unowned self] in self.beginShutdown(signal: ProcessSignal.interrupt.name) })
        signalWatchers.append(SignalWatcher(loop: main, signal: .hangup) { [unowned self] in self.reloadUserDatabases() })
    }

    /// Ports actually bound, in listener order (for tests that bind port 0).
    public var boundPorts: [Int] { contexts[0].listeners.map(\.boundPort) }

    /// Runs loop 0 on the calling thread and the others on their own threads, until shutdown
    /// completes on all of them. Afterwards SIGTERM, SIGINT and SIGHUP stay ignored (unless another
    /// broker in the process still watches them): the process is about to exit, and a late
    /// signal must not turn exit status 0 into death by signal.
    public func run() {
        otherLoopsRunning.store(loops.count - 1, ordering: .sequentiallyConsistent)
        let main = loops[0]
        for loop in loops.dropFirst() {
            threads.append(LoopThread { [self] in
                loop.run()
                // Wake loop 0 so it sees that this loop is done (see below).
                if otherLoopsRunning.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
                    main.execute { [self] in self.stopMainLoopIfOthersStopped() }
                }
            })
        }
        main.run()
        // Loop 0 has drained its own connections; the others may still be draining theirs.
        // Loop 0 keeps running (it owns the signal watchers: a second SIGTERM must still reach
        // them and end the wait) until every other loop has stopped.
        mainLoopDrained = true
        if otherLoopsRunning.load(ordering: .sequentiallyConsistent) > 0 { main.run() }
        for thread in threads { thread.join() }
        closeSignalWatchers()
        // Only now that no loop runs can the cross-loop wake-ups go (a late signal to a closed
        // uv_async_t would touch freed memory).
        cluster?.stop()  // before the inboxes close: it signals them from its own thread
        for context in contexts { context.closeInbox() }
        for loop in loops { loop.close() }
        log.info("broker stopped")
    }

    /// On loop 0: a wake-up from the last other loop to stop; ignored while loop 0 still drains
    /// (its first run then ends by itself and sees the count at 0).
    private func stopMainLoopIfOthersStopped() {
        loops[0].assertInLoopThread()
        if mainLoopDrained && otherLoopsRunning.load(ordering: .sequentiallyConsistent) == 0 { loops[0].stop() }
    }

    /// Closing the last watcher of a signal makes libuv restore SIG_DFL (death by signal);
    /// right after, such signals are set to be ignored instead.
    private func closeSignalWatchers() {
        for watcher in signalWatchers { watcher.close() }
        signalWatchers.removeAll()
        for signal in ProcessSignal.allCases { signal.ignoreIfDefault() }
    }

    func metricsText() -> String {
        PrometheusText.render(loops: contexts.map(\.metrics), inboxDepths: contexts.map(\.inbox.approximateCount),
                              subscriptions: contexts.indices.map { i in realms.values.reduce(0) { $0 + $1.subscriptionsPerLoop[i].current } },
                              retained: realms.values.map { ($0.name, $0.retainedEvents.byteCount, $0.retainedEvents.topicCount) })
            + (cluster?.prometheusText ?? "")
    }

    private func reloadUserDatabases() {
        for realm in realms.values {
            for database in realm.authenticator.databases {
                do {
                    try database.reload()
                    log.info("user database reloaded", metadata: ["realm": "\(realm.name)", "path": "\(database.path)"])
                } catch {
                    log.error("user database reload failed; keeping the previous users", metadata: ["realm": "\(realm.name)", "error": "\(error)"])
                }
            }
        }
    }

    /// GOODBYE to every session on every loop, stop accepting, wait (bounded) for replies and
    /// flushes, stop. A second call ends the wait for GOODBYE replies: every connection closes
    /// once its queued output is written (bounded by `hurriedFlushMilliseconds`). Callable from
    /// loop 0's thread. The signal watchers stay open until `run` returns, so a second signal
    /// lands here instead of killing the process.
    public func beginShutdown(signal: String) {
        loops[0].assertInLoopThread()
        guard !shuttingDown else { return hurryShutdown(signal: signal) }
        shuttingDown = true
        log.info("shutting down", metadata: ["signal": "\(signal)"])
        onEveryLoop { $0.beginShutdown(graceMilliseconds: Self.shutdownGraceMilliseconds) }
    }

    private func hurryShutdown(signal: String) {
        guard !hurried else { return }
        hurried = true
        log.info("shutting down now: no longer waiting for GOODBYE replies", metadata: ["signal": "\(signal)"])
        onEveryLoop { $0.endShutdownWait(flushMilliseconds: Self.hurriedFlushMilliseconds) }
    }

    /// Runs `work` on each loop's context: at once on loop 0 (the caller's), posted to the others.
    private func onEveryLoop(_ work: @escaping @Sendable (LoopContext) -> Void) {
        for context in contexts {
            if context.index == 0 {
                work(context)
            } else {
                context.loop.execute { work(context) }
            }
        }
    }

    /// Test hook: shut down from any thread.
    public func requestShutdown() {
        loops[0].execute { [self] in self.beginShutdown(signal: "request") }
    }

    /// Test hook: sample each loop thread's allocation counter once per loop iteration.
    public func sampleAllocations() {
        for context in contexts { context.loop.execute { context.samplesAllocations = true } }
    }

    /// Test hook: the latest allocation sample of loop `index` (bytes allocated by that thread).
    public func allocatedBytes(loop index: Int) -> Int { contexts[index].allocatedBytesSample.current }
}

/// A start-up failure with a message for the operator.
struct StartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private extension String {
    /// "127.0.0.1:0" → "127.0.0.1:54321".
    func replacingPort(with port: Int) -> String {
        guard let colon = lastIndex(of: ":") else { return self }
        return "\(self[..<colon]):\(port)"
    }
}
