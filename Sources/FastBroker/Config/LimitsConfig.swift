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

    public var maxMessageBytes = 1_048_576
    public var maxSessionOutboundBytes = 8_388_608
    public var slowConsumer = SlowConsumerPolicy.disconnect
    /// From TCP accept until WELCOME (TLS, transport and WAMP handshakes together).
    public var handshakeTimeoutMs = 10_000

    public init(
        maxMessageBytes: Int = 1_048_576, maxSessionOutboundBytes: Int = 8_388_608,
        slowConsumer: SlowConsumerPolicy = .disconnect, handshakeTimeoutMs: Int = 10_000
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxSessionOutboundBytes = maxSessionOutboundBytes
        self.slowConsumer = slowConsumer
        self.handshakeTimeoutMs = handshakeTimeoutMs
    }
}

/// Prometheus text is served at `GET path` on every WebSocket listener.
public struct MetricsConfig: Sendable, Equatable {
    public var path = "/metrics"

    public init(path: String = "/metrics") { self.path = path }
}
