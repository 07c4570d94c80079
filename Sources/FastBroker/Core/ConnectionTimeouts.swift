// `frame_timeout_ms` and `idle_timeout_ms` (SPEC §3): each connection keeps an InputClock (two
// stores per read, one comparison per batch of framed input), and one repeating timer per loop
// sweeps the loop's connections a few times per timeout period. A frame that started arriving and
// did not complete in time closes the connection; a connection silent for `idle_timeout_ms` is
// sent a transport PING (RawSocket frame type 1 / WebSocket ping) and closed if it stays silent
// for another period. No timer is started or stopped per message.

import BrokerConfig
import BrokerLoop

/// What a connection's input looked like lately, in loop time (ms). Owned by the connection's
/// loop thread.
struct InputClock {
    /// When the last bytes arrived (or the connection was accepted).
    private(set) var lastReadAt: UInt64 = 0
    /// When the incomplete frame at the head of the receive buffer started arriving; nil when the
    /// buffer holds no partial frame.
    private(set) var partialFrameSince: UInt64?
    /// When the idle PING of the current silence was sent; nil while the peer talks.
    private(set) var idlePingSentAt: UInt64?

    enum Verdict: Equatable {
        case fine
        /// The partial frame has been incomplete for `frame_timeout_ms`.
        case frameTimedOut
        /// Silent for `idle_timeout_ms`: send a PING now.
        case ping
        /// Still silent `idle_timeout_ms` after the PING.
        case idleTimedOut
    }

    /// Any received byte (PONGs too) is activity.
    @inline(__always)
    mutating func noteRead(at now: UInt64) {
        lastReadAt = now
        idlePingSentAt = nil
    }

    /// After framing a batch of input: `before`/`after` are the bytes buffered before and after.
    /// Bytes left over are a partial frame; its clock restarts whenever a frame completed.
    @inline(__always)
    mutating func noteFraming(bufferedBefore before: Int, bufferedAfter after: Int, at now: UInt64) {
        if after == 0 {
            partialFrameSince = nil
        } else if partialFrameSince == nil || after < before {
            partialFrameSince = now
        }
    }

    /// TLS: a partial record waits inside OpenSSL (the receive buffer may be empty meanwhile).
    mutating func notePartialRecord(at now: UInt64) {
        if partialFrameSince == nil { partialFrameSince = now }
    }

    /// While the broker itself is not reading the connection (backpressure), neither clock runs
    /// against the peer.
    mutating func restart(at now: UInt64) {
        lastReadAt = now
        idlePingSentAt = nil
        if partialFrameSince != nil { partialFrameSince = now }
    }

    /// The sweep's decision. `idleTimeoutMs` 0 = off; `canPing` is false before the transport
    /// handshake completes (the handshake timeout covers that time).
    mutating func check(at now: UInt64, frameTimeoutMs: UInt64, idleTimeoutMs: UInt64, canPing: Bool) -> Verdict {
        if let since = partialFrameSince, now &- since >= frameTimeoutMs { return .frameTimedOut }
        guard idleTimeoutMs > 0, canPing else { return .fine }
        if let pinged = idlePingSentAt {
            return now &- pinged >= idleTimeoutMs ? .idleTimedOut : .fine
        }
        guard now &- lastReadAt >= idleTimeoutMs else { return .fine }
        idlePingSentAt = now
        return .ping
    }
}

/// The per-loop sweep. Owned by its loop thread; closed with the loop context.
final class ConnectionTimeouts {
    private unowned let context: LoopContext
    let frameTimeoutMs: UInt64
    let idleTimeoutMs: UInt64
    /// A quarter of the shortest timeout, within 5 ms...1 s: a connection is closed at most
    /// that late, and an idle broker wakes at most once a second for it.
    let intervalMs: UInt64
    private var timer: LoopTimer?

    init(context: LoopContext, limits: LimitsConfig) {
        self.context = context
        frameTimeoutMs = UInt64(limits.frameTimeoutMs)
        idleTimeoutMs = UInt64(limits.idleTimeoutMs)
        intervalMs = Self.interval(frameTimeoutMs: frameTimeoutMs, idleTimeoutMs: idleTimeoutMs)
        let timer = LoopTimer(loop: context.loop)
        timer.start(milliseconds: intervalMs, repeatMilliseconds: intervalMs) { [unowned self] in self.sweep() }
        self.timer = timer
        // One sweep now (no connections yet): the first iteration instantiates generic metadata,
        // a one-time allocation that must not land in a loop's steady state (AllocationTests).
        sweep()
    }

    static func interval(frameTimeoutMs: UInt64, idleTimeoutMs: UInt64) -> UInt64 {
        let shortest = idleTimeoutMs > 0 ? min(frameTimeoutMs, idleTimeoutMs) : frameTimeoutMs
        return min(1_000, max(5, shortest / 4))
    }

    private func sweep() {
        let now = context.loop.now
        for connection in context.connections.values {
            connection.checkTimeouts(at: now, frameTimeoutMs: frameTimeoutMs, idleTimeoutMs: idleTimeoutMs)
        }
    }

    func close() {
        timer?.close()
        timer = nil
    }
}
