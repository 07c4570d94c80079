// Broker counters and the Prometheus text for `GET <metrics.path>`. Each loop owns one set of
// counters and is their only writer, so an increment is a relaxed load + store (no locked RMW);
// the metrics handler on any loop reads them all with relaxed loads.

import BrokerSerialization
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
    /// Bytes reserved for receiving on this loop's connections: receive rings, decoder scratch
    /// buffers, TLS ciphertext buffers (a gauge; Connection.reportReceiveBuffers).
    let receiveBufferBytes = Counter()
    /// Bytes held by this loop's topic-keyed caches (its routers' match and permission caches,
    /// its sessions' publish-permission caches), as the caches account them (a gauge).
    let cacheBytes = Counter()
    let limitRefusals = CountersByKind<RefusedLimit>()
    let crossLoopDrops = CountersByKind<CrossLoopDropKind>()
    /// PINGs sent to connections idle for `idle_timeout_ms`.
    let idlePings = Counter()
    /// Retained events this loop's publications evicted (Router+Retained).
    let retainedEvictions = Counter()
}

/// Messages dropped because another loop's inbox and this loop's bounded overflow for it were
/// full (LoopContext), by kind: `fastbroker_cross_loop_drops_total{kind="..."}`.
enum CrossLoopDropKind: String, CaseIterable, Sendable {
    case publication
    case groupDelivery = "group_delivery"
}

/// A configured limit whose refusals are counted, by its key in `limits` (SPEC §3: every limit
/// refusal has a metric). Add a case per limit; the metrics text lists them all.
enum RefusedLimit: String, CaseIterable, Sendable {
    case maxListOptionEntries = "max_list_option_entries"
    case maxConnections = "max_connections"
    case maxConnectionsPerIP = "max_connections_per_ip"
    case maxSubscriptionsPerSession = "max_subscriptions_per_session"
    /// Closes: a frame not completed in time, a connection silent after its idle PING.
    case frameTimeout = "frame_timeout_ms"
    case idleTimeout = "idle_timeout_ms"
    /// A retained event larger than the whole limit alone (not kept).
    case maxRetainedBytes = "max_retained_bytes"
    /// Not a config key: Session.maxPendingAuthentications, ticket checks in flight per loop.
    case pendingAuthentications = "pending_authentications"
}

/// One counter per case of `Kind`, rendered with the case's raw value as the label
/// (`fastbroker_limit_refusals_total{limit="..."}`, `fastbroker_cross_loop_drops_total{kind="..."}`).
final class CountersByKind<Kind: RawRepresentable & CaseIterable & Hashable & Sendable>: Sendable where Kind.RawValue == String {
    private let counters: [Kind: Counter] = Dictionary(uniqueKeysWithValues: Kind.allCases.map { ($0, Counter()) })

    subscript(kind: Kind) -> Counter { counters[kind]! }
}

enum PrometheusText {
    /// `subscriptions`: per loop, subscriptions in its routers (Realm.subscriptionsPerLoop summed).
    /// `retained`: per realm, the bytes charged by its retained events and their topics.
    static func render(loops: [LoopMetrics], inboxDepths: [Int], subscriptions: [Int] = [],
                       retained: [(realm: String, bytes: Int, topics: Int)] = []) -> String {
        func sum(_ key: KeyPath<LoopMetrics, Counter>) -> Int { loops.reduce(0) { $0 + $1[keyPath: key].current } }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func metric(_ name: String, _ type: String, _ help: String, _ value: Int) {
            header(name, type, help)
            out += "\(name) \(value)\n"
        }
        func perLoopGauge(_ name: String, _ help: String, _ values: [Int]) {
            header(name, "gauge", help)
            for (i, value) in values.enumerated() { out += "\(name){loop=\"\(i)\"} \(value)\n" }
        }
        func countersByKind<Kind>(_ name: String, _ help: String, label: String, _ counters: KeyPath<LoopMetrics, CountersByKind<Kind>>) {
            header(name, "counter", help)
            for kind in Kind.allCases {
                out += "\(name){\(label)=\"\(kind.rawValue)\"} \(loops.reduce(0) { $0 + $1[keyPath: counters][kind].current })\n"
            }
        }
        func perRealmGauge(_ name: String, _ help: String, _ value: ((realm: String, bytes: Int, topics: Int)) -> Int) {
            header(name, "gauge", help)
            for entry in retained { out += "\(name){realm=\(JSONWriter.quoted(entry.realm))} \(value(entry))\n" }
        }
        metric("fastbroker_sessions", "gauge", "Open WAMP sessions.", sum(\.sessionsOpened) - sum(\.sessionsClosed))
        metric("fastbroker_sessions_opened_total", "counter", "WAMP sessions opened.", sum(\.sessionsOpened))
        metric("fastbroker_connections", "gauge", "Open transport connections.", sum(\.connectionsAccepted) - sum(\.connectionsClosed))
        metric("fastbroker_publications_total", "counter", "PUBLISH messages received.", sum(\.publicationsReceived))
        metric("fastbroker_publications_refused_total", "counter", "PUBLISH messages refused (URI or authorization).", sum(\.publicationsRefused))
        metric("fastbroker_events_delivered_total", "counter", "EVENT messages queued to subscribers.", sum(\.eventsDelivered))
        header("fastbroker_drops_total", "counter", "Events dropped, by reason.")
        out += "fastbroker_drops_total{reason=\"slow_consumer\"} \(sum(\.dropsSlowConsumer))\n"
        out += "fastbroker_drops_total{reason=\"oversize\"} \(sum(\.dropsOversize))\n"
        metric("fastbroker_slow_consumer_disconnects_total", "counter", "Sessions closed for exceeding their outbound limit.", sum(\.slowConsumerDisconnects))
        metric("fastbroker_protocol_violations_total", "counter", "Sessions aborted for protocol violations.", sum(\.protocolViolations))
        metric("fastbroker_handshake_timeouts_total", "counter", "Connections closed for not completing the handshake in time.", sum(\.handshakeTimeouts))
        metric("fastbroker_bytes_in_total", "counter", "Bytes read from clients.", sum(\.bytesIn))
        metric("fastbroker_bytes_out_total", "counter", "Bytes written to clients.", sum(\.bytesOut))
        perLoopGauge("fastbroker_loop_outbound_queued_bytes", "Bytes queued for writing, per loop.", loops.map(\.outboundQueuedBytes.current))
        perLoopGauge("fastbroker_loop_receive_buffer_bytes", "Bytes reserved for receiving (rings, reassembly and TLS buffers), per loop.", loops.map(\.receiveBufferBytes.current))
        perLoopGauge("fastbroker_loop_cache_bytes", "Bytes held by topic-keyed caches (match and permission caches), per loop.", loops.map(\.cacheBytes.current))
        perLoopGauge("fastbroker_loop_subscriptions", "Subscriptions (distinct topic, match, filter and group), per loop.", subscriptions)
        perLoopGauge("fastbroker_loop_sessions", "Open WAMP sessions, per loop.", loops.map { $0.sessionsOpened.current - $0.sessionsClosed.current })
        perLoopGauge("fastbroker_loop_inbox_depth", "Publications queued for a loop by other loops.", inboxDepths)
        metric("fastbroker_tls_failures_total", "counter", "TLS handshakes or records that failed (bad client, wrong CA, plaintext on a TLS port).", sum(\.tlsFailures))
        metric("fastbroker_group_events_redispatched_total", "counter", "Consumer-group events re-dispatched after their member left or could not queue them.", sum(\.groupEventsRedispatched))
        metric("fastbroker_group_events_dropped_total", "counter", "Consumer-group events no member accepted or had room for (slow_consumer: drop).", sum(\.groupEventsDropped))
        countersByKind("fastbroker_limit_refusals_total", "Connections, requests and sessions refused or closed by a limit (SPEC §3), by limit.", label: "limit", \.limitRefusals)
        metric("fastbroker_idle_pings_total", "counter", "PINGs sent to connections idle for idle_timeout_ms.", sum(\.idlePings))
        metric("fastbroker_cross_loop_overflows_total", "counter", "Cross-loop messages that found another loop's inbox full and waited.", sum(\.crossLoopOverflows))
        countersByKind("fastbroker_cross_loop_drops_total", "Cross-loop messages dropped because the destination loop was backed up past the overflow bound, by kind.", label: "kind", \.crossLoopDrops)
        perRealmGauge("fastbroker_retained_bytes", "Bytes charged by retained events against limits.max_retained_bytes, per realm.", { $0.bytes })
        perRealmGauge("fastbroker_retained_topics", "Topics with a retained event, per realm.", { $0.topics })
        metric("fastbroker_retained_evictions_total", "counter", "Retained events evicted to stay within limits.max_retained_bytes.", sum(\.retainedEvictions))
        return out
    }
}
