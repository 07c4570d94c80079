// LimitsConfig / MetricsConfig: the broker's bounds (SPEC §6) and where metrics are served.

/// What happens to a session whose outbound buffer exceeds `maxSessionOutboundBytes`.
public enum SlowConsumerPolicy: String, Sendable, CaseIterable {
    /// ABORT `fastbroker.error.slow_consumer`, then close.
    case disconnect
    /// Drop the event for that session and count it.
    case drop
}

public struct LimitsConfig: Sendable, Equatable {
    /// RawSocket cannot announce more than 2^24 bytes (length exponent 15), so neither transport
    /// accepts more.
    public static let maxMessageBytesCeiling = 16 * 1024 * 1024

    // Defaults are chosen for a broker facing untrusted clients (README "Limits" says why each).
    public var maxMessageBytes = 1_048_576
    /// Every byte queued to one session counts (EVENTs, replies, pongs).
    public var maxSessionOutboundBytes = 8_388_608
    public var slowConsumer = SlowConsumerPolicy.disconnect
    /// From TCP accept until WELCOME (TLS, transport and WAMP handshakes together).
    public var handshakeTimeoutMs = 10_000
    /// Topic, pattern and permission URI length in UTF-8 bytes; longer → wamp.error.invalid_uri.
    public var maxURIBytes = 1024
    public var maxSubscriptionsPerSession = 1000
    /// Entries in one PUBLISH exclude/eligible list (each of the six).
    public var maxListOptionEntries = 1000
    public var maxConnections = 10_000
    public var maxConnectionsPerIP = 200
    /// A frame whose first byte arrived must be complete within this (after WELCOME too).
    public var frameTimeoutMs = 30_000
    /// 0 = off; otherwise a silent connection is pinged, then closed if still silent.
    public var idleTimeoutMs = 300_000
    /// Retained events of a realm, in bytes; the oldest topics are evicted first.
    public var maxRetainedBytes = 16 * 1_048_576

    public init(
        maxMessageBytes: Int = 1_048_576, maxSessionOutboundBytes: Int = 8_388_608,
        slowConsumer: SlowConsumerPolicy = .disconnect, handshakeTimeoutMs: Int = 10_000
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxSessionOutboundBytes = maxSessionOutboundBytes
        self.slowConsumer = slowConsumer
        self.handshakeTimeoutMs = handshakeTimeoutMs
    }

    /// The limits as a JSON object with every key (for `check-config --defaults`).
    public var json: String {
        """
        {"max_message_bytes": \(maxMessageBytes), "max_session_outbound_bytes": \(maxSessionOutboundBytes),
         "slow_consumer": "\(slowConsumer.rawValue)", "handshake_timeout_ms": \(handshakeTimeoutMs),
         "max_uri_bytes": \(maxURIBytes), "max_subscriptions_per_session": \(maxSubscriptionsPerSession),
         "max_list_option_entries": \(maxListOptionEntries), "max_connections": \(maxConnections),
         "max_connections_per_ip": \(maxConnectionsPerIP), "frame_timeout_ms": \(frameTimeoutMs),
         "idle_timeout_ms": \(idleTimeoutMs), "max_retained_bytes": \(maxRetainedBytes)}
        """
    }
}

/// Prometheus text is served at `GET path` on every WebSocket listener.
public struct MetricsConfig: Sendable, Equatable {
    public var path = "/metrics"

    public init(path: String = "/metrics") { self.path = path }
}
