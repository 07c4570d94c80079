// Broker counters and the Prometheus text for `GET <metrics.path>`. Each loop owns one set of
// counters and is their only writer, so an increment is a relaxed load + store (no locked RMW);
// the metrics handler on any loop reads them all with relaxed loads.

import Synchronization

final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    /// Only the owning loop thread calls this.
    @inline(__always)
    func increment(by n: Int = 1) {
        value.store(value.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    /// Only the owning loop thread calls this.
    func set(_ n: Int) { value.store(n, ordering: .relaxed) }

    var current: Int { value.load(ordering: .relaxed) }
}

final class LoopMetrics: Sendable {
    let sessionsOpened = Counter()
    let sessionsClosed = Counter()
    let connectionsAccepted = Counter()
    let connectionsClosed = Counter()
    let publicationsReceived = Counter()
    let publicationsRefused = Counter()
    let eventsDelivered = Counter()
    let dropsSlowConsumer = Counter()
    let dropsOversize = Counter()
    let slowConsumerDisconnects = Counter()
    let protocolViolations = Counter()
    let handshakeTimeouts = Counter()
    let crossLoopOverflows = Counter()
    let tlsFailures = Counter()
    let groupEventsRedispatched = Counter()
    let groupEventsDropped = Counter()
    let bytesIn = Counter()
    let bytesOut = Counter()
    /// Bytes queued on this loop's connections and not yet written (a gauge).
    let outboundQueuedBytes = Counter()
}

enum PrometheusText {
    static func render(loops: [LoopMetrics], inboxDepths: [Int]) -> String {
        func sum(_ key: KeyPath<LoopMetrics, Counter>) -> Int { loops.reduce(0) { $0 + $1[keyPath: key].current } }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Int, labels: String = "") {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name)\(labels) \(value)\n"
        }
        metric("fastbroker_sessions", "gauge", "Open WAMP sessions.", sum(\.sessionsOpened) - sum(\.sessionsClosed))
        metric("fastbroker_sessions_opened_total", "counter", "WAMP sessions opened.", sum(\.sessionsOpened))
        metric("fastbroker_connections", "gauge", "Open transport connections.", sum(\.connectionsAccepted) - sum(\.connectionsClosed))
        metric("fastbroker_publications_total", "counter", "PUBLISH messages received.", sum(\.publicationsReceived))
        metric("fastbroker_publications_refused_total", "counter", "PUBLISH messages refused (URI or authorization).", sum(\.publicationsRefused))
        metric("fastbroker_events_delivered_total", "counter", "EVENT messages queued to subscribers.", sum(\.eventsDelivered))
        out += "# HELP fastbroker_drops_total Events dropped, by reason.\n# TYPE fastbroker_drops_total counter\n"
        out += "fastbroker_drops_total{reason=\"slow_consumer\"} \(sum(\.dropsSlowConsumer))\n"
        out += "fastbroker_drops_total{reason=\"oversize\"} \(sum(\.dropsOversize))\n"
        metric("fastbroker_slow_consumer_disconnects_total", "counter", "Sessions closed for exceeding their outbound limit.", sum(\.slowConsumerDisconnects))
        metric("fastbroker_protocol_violations_total", "counter", "Sessions aborted for protocol violations.", sum(\.protocolViolations))
        metric("fastbroker_handshake_timeouts_total", "counter", "Connections closed for not completing the handshake in time.", sum(\.handshakeTimeouts))
        metric("fastbroker_bytes_in_total", "counter", "Bytes read from clients.", sum(\.bytesIn))
        metric("fastbroker_bytes_out_total", "counter", "Bytes written to clients.", sum(\.bytesOut))
        out += "# HELP fastbroker_loop_outbound_queued_bytes Bytes queued for writing, per loop.\n# TYPE fastbroker_loop_outbound_queued_bytes gauge\n"
        for (i, loop) in loops.enumerated() {
            out += "fastbroker_loop_outbound_queued_bytes{loop=\"\(i)\"} \(loop.outboundQueuedBytes.current)\n"
        }
        out += "# HELP fastbroker_loop_sessions Open WAMP sessions, per loop.\n# TYPE fastbroker_loop_sessions gauge\n"
        for (i, loop) in loops.enumerated() {
            out += "fastbroker_loop_sessions{loop=\"\(i)\"} \(loop.sessionsOpened.current - loop.sessionsClosed.current)\n"
        }
        out += "# HELP fastbroker_loop_inbox_depth Publications queued for a loop by other loops.\n# TYPE fastbroker_loop_inbox_depth gauge\n"
        for (i, depth) in inboxDepths.enumerated() {
            out += "fastbroker_loop_inbox_depth{loop=\"\(i)\"} \(depth)\n"
        }
        metric("fastbroker_tls_failures_total", "counter", "TLS handshakes or records that failed (bad client, wrong CA, plaintext on a TLS port).", sum(\.tlsFailures))
        metric("fastbroker_group_events_redispatched_total", "counter", "Consumer-group events re-dispatched after their member left or could not queue them.", sum(\.groupEventsRedispatched))
        metric("fastbroker_group_events_dropped_total", "counter", "Consumer-group events no member accepted or had room for (slow_consumer: drop).", sum(\.groupEventsDropped))
        metric("fastbroker_cross_loop_overflows_total", "counter", "Publications that found another loop's inbox full and waited.", sum(\.crossLoopOverflows))
        return out
    }
}
