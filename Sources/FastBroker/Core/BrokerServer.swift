// The broker process: builds realms, loops and listeners from the configuration, runs the loops,
// handles signals (SIGTERM/SIGINT: graceful shutdown; SIGHUP: reload user databases) and serves
// the metrics text.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
import Glibc
import Logging

public final class BrokerServer: @unchecked Sendable {
    public let configuration: BrokerConfiguration
    let realms: [String: Realm]
    let log: Logger
    // Owned by loop 0's thread (the process's main thread).
    private var contexts: [LoopContext] = []
    private var listeners: [TCPListener] = []
    private var signalWatchers: [SignalWatcher] = []
    private var shuttingDown = false
    private var shutdownTimer: LoopTimer?
    private let mainLoop: EventLoop

    /// How long shutdown waits for sessions to answer GOODBYE and for output to drain.
    static let shutdownGraceMilliseconds: UInt64 = 3_000

    public init(configuration: BrokerConfiguration, log: Logger) throws {
        self.configuration = configuration
        self.log = log
        // One loop for now; the throughput work adds one per core (configuration.loops).
        let loopCount = 1
        var realms: [String: Realm] = [:]
        for realmConfig in configuration.realms {
            realms[realmConfig.name] = try Realm(config: realmConfig, loopCount: loopCount)
        }
        self.realms = realms
        mainLoop = try EventLoop(index: 0)
    }

    /// Binds every listener; throws (naming the address) when one cannot be bound.
    public func start() throws {
        signal(SIGPIPE, SIG_IGN)
        let context = LoopContext(loop: mainLoop, server: self, log: log)
        contexts = [context]
        for listenerConfig in configuration.listeners {
            let listener = try TCPListener(loop: mainLoop, host: listenerConfig.host, port: listenerConfig.port,
                                           reusePort: true) { stream in
                Connection(context: context, stream: stream, listener: listenerConfig).start()
            }
            listeners.append(listener)
            let url = listenerConfig.transport == .websocket
                ? "ws://\(listenerConfig.host):\(listener.boundPort)\(listenerConfig.path)"
                : "rs://\(listenerConfig.host):\(listener.boundPort)"
            log.info("listening", metadata: ["transport": "\(listenerConfig.transport.rawValue)", "url": "\(url)"])
        }
        signalWatchers.append(SignalWatcher(loop: mainLoop, signal: SIGTERM) { [unowned self] in self.beginShutdown(signal: "SIGTERM") })
        signalWatchers.append(SignalWatcher(loop: mainLoop, signal: SIGINT) { [unowned self] in self.beginShutdown(signal: "SIGINT") })
        signalWatchers.append(SignalWatcher(loop: mainLoop, signal: SIGHUP) { [unowned self] in self.reloadUserDatabases() })
    }

    /// Ports actually bound, in listener order (for tests that bind port 0).
    public var boundPorts: [Int] { listeners.map(\.boundPort) }

    /// Runs until shutdown completes.
    public func run() {
        mainLoop.run()
        for context in contexts { context.close() }
        mainLoop.close()
        log.info("broker stopped")
    }

    func newSessionID() -> UInt64 { Crypto.randomID() }

    func metricsText() -> String {
        PrometheusText.render(loops: contexts.map(\.metrics))
    }

    private func reloadUserDatabases() {
        for realm in realms.values {
            guard let database = realm.userDatabase else { continue }
            do {
                try database.reload()
                log.info("user database reloaded", metadata: ["realm": "\(realm.name)", "path": "\(database.path)"])
            } catch {
                log.error("user database reload failed; keeping the previous users", metadata: ["realm": "\(realm.name)", "error": "\(error)"])
            }
        }
    }

    /// GOODBYE to every session, stop accepting, wait (bounded) for replies and flushes, stop.
    public func beginShutdown(signal: String) {
        guard !shuttingDown else { return }
        shuttingDown = true
        log.info("shutting down", metadata: ["signal": "\(signal)"])
        for listener in listeners { listener.close() }
        listeners.removeAll()
        for watcher in signalWatchers { watcher.close() }
        signalWatchers.removeAll()
        for context in contexts {
            for connection in context.connections.values { connection.shutdown() }
        }
        let started = mainLoop.now
        let timer = LoopTimer(loop: mainLoop)
        timer.start(milliseconds: 10, repeatMilliseconds: 10) { [unowned self] in
            let open = self.contexts.reduce(0) { $0 + $1.connections.count }
            if open == 0 || self.mainLoop.now - started >= Self.shutdownGraceMilliseconds {
                for context in self.contexts {
                    for connection in context.connections.values { connection.closeNow() }
                }
                self.shutdownTimer?.close()
                self.shutdownTimer = nil
                self.mainLoop.stop()
            }
        }
        shutdownTimer = timer
    }
}
