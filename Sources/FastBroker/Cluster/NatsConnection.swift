// NatsConnection: the one place that creates, configures and tears down a libnats connection.
// libnats runs its own threads (reader, flusher, reconnect, message delivery); its callbacks reach
// Swift through a small box holding a weak reference to the `NatsConnectionEvents` target; the box
// is deliberately never freed (a few bytes per connection) because libnats may still run the
// closed callback on its own thread after natsConnection_Close returns. Every call here is thread-safe (libnats locks
// the connection), and none of them waits on the network except `flush` and the JetStream calls
// made by ClusterLeaseStore — keep those off the loop threads.

import CNats

#if canImport(Glibc)
import Glibc
#endif

/// A libnats status other than NATS_OK, with libnats' own text (e.g. "wrong last sequence").
public struct NatsError: Error, CustomStringConvertible, Sendable {
    public let status: UInt32
    public let text: String
    public let operation: String

    init(_ status: natsStatus, _ operation: String) {
        self.status = status.rawValue
        self.operation = operation
        var detail = String(cString: natsStatus_GetText(status))
        var last = NATS_OK
        if let lastText = nats_GetLastError(&last), last == status, lastText.pointee != 0 { detail = String(cString: lastText) }
        self.text = detail
    }

    public var description: String { "\(operation): \(text)" }
    public var isNotFound: Bool { status == NATS_NOT_FOUND.rawValue }
}

@inline(__always)
func check(_ status: natsStatus, _ operation: String) throws(NatsError) {
    guard status == NATS_OK else { throw NatsError(status, operation) }
}

/// What libnats reports asynchronously. Called on libnats threads; implementations must be
/// thread-safe and must not block.
protocol NatsConnectionEvents: AnyObject, Sendable {
    /// `subscription`: the subscription it arrived on (tells group subscriptions apart).
    func natsMessage(_ bytes: UnsafeRawBufferPointer, subscription: OpaquePointer?)
    func natsConnectionChanged(_ change: NatsConnectionChange)
    func natsAsyncError(_ error: NatsError, subscriptionDropped: Bool)
}

enum NatsConnectionChange: Sendable { case connected, disconnected, reconnected, closed }

final class NatsConnection: @unchecked Sendable {
    struct Settings {
        var name: String
        var servers: [String]
        /// Bytes libnats buffers while reconnecting; publishes beyond it fail (and are counted).
        var reconnectBufferBytes = 8 << 20
        var reconnectWaitMs = 250
        /// Whether this connection's own publications come back to its subscriptions (the
        /// group link wants them: a node's group consumers compete for its own publications).
        var echo = false
        /// A link that dies without a reset (cable, partition) is noticed after at most
        /// pingIntervalMs × (maxPingsOut + 1) — 2 s × 4 = 8 s — instead of libnats' default
        /// 2 min × 2; then libnats reconnects (counted as a disconnect). One PING per 2 s is noise.
        var pingIntervalMs = 2_000
        var maxPingsOut = 3
        /// A write to a server that stopped reading (stalled, SIGSTOP) fails after this instead
        /// of blocking its thread — and the connection's lock, which `close` needs — for as long
        /// as the stall lasts: without it, stopping a node during a stall never ended. The value
        /// is nats-server's own write deadline towards its clients.
        var writeDeadlineMs = 2_000
    }

    /// The libnats connection; immutable after init, closed by `close()` (from any thread, any
    /// number of times), destroyed when the last reference goes — so a thread still holding this
    /// object (a shutdown watchdog, a lease store) never calls into a destroyed connection.
    let handle: OpaquePointer
    private let events: Unmanaged<NatsEventsBox>

    /// Connects, or — when no server answers yet — keeps retrying in the background (SPEC §7: a
    /// node that cannot reach NATS at start-up retries and logs it, serving local clients).
    init(_ settings: Settings, events: NatsConnectionEvents) throws(NatsError) {
        try check(nats_Open(-1), "nats_Open")
        var options: OpaquePointer?
        try check(natsOptions_Create(&options), "natsOptions_Create")
        defer { natsOptions_Destroy(options) }
        let box = Unmanaged.passRetained(NatsEventsBox(events))
        let closure = box.toOpaque()
        var urls = settings.servers.map { strdup($0) }
        defer { urls.forEach { free($0) } }
        var status = urls.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                natsOptions_SetServers(options, $0, Int32(buffer.count))
            }
        }
        if status == NATS_OK { status = natsOptions_SetName(options, settings.name) }
        // Unless asked for, our own publications never come back to us (the envelope's origin
        // check is the backstop).
        if status == NATS_OK { status = natsOptions_SetNoEcho(options, !settings.echo) }
        // One delivery thread for every subscription of the process, fed in socket order, so
        // publications reach the loops in arrival order across topics (per-publisher order).
        if status == NATS_OK { status = natsOptions_UseGlobalMessageDelivery(options, true) }
        if status == NATS_OK { status = natsOptions_SetMaxReconnect(options, -1) }
        if status == NATS_OK { status = natsOptions_SetReconnectWait(options, Int64(settings.reconnectWaitMs)) }
        if status == NATS_OK { status = natsOptions_SetPingInterval(options, Int64(settings.pingIntervalMs)) }
        if status == NATS_OK { status = natsOptions_SetMaxPingsOut(options, Int32(settings.maxPingsOut)) }
        if status == NATS_OK { status = natsOptions_SetWriteDeadline(options, Int64(settings.writeDeadlineMs)) }
        if status == NATS_OK { status = natsOptions_SetReconnectBufSize(options, Int32(settings.reconnectBufferBytes)) }
        if status == NATS_OK { status = natsOptions_SetErrorHandler(options, natsErrorCallback, closure) }
        if status == NATS_OK { status = natsOptions_SetDisconnectedCB(options, natsDisconnectedCallback, closure) }
        if status == NATS_OK { status = natsOptions_SetReconnectedCB(options, natsReconnectedCallback, closure) }
        if status == NATS_OK { status = natsOptions_SetClosedCB(options, natsClosedCallback, closure) }
        if status == NATS_OK { status = natsOptions_SetRetryOnFailedConnect(options, true, natsConnectedCallback, closure) }
        guard status == NATS_OK else { throw NatsError(status, "natsOptions") }
        var connection: OpaquePointer?
        status = natsConnection_Connect(&connection, options)
        guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED, let connection else {
            throw NatsError(status, "natsConnection_Connect")
        }
        handle = connection
        self.events = box
    }

    var isConnected: Bool { natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED }

    func publish(subject: String, _ bytes: [UInt8]) throws(NatsError) {
        let status = bytes.withUnsafeBytes { natsConnection_Publish(handle, subject, $0.baseAddress, Int32($0.count)) }
        try check(status, "publish")
    }

    func publish(subject: String, _ bytes: UnsafeRawBufferPointer) throws(NatsError) {
        try check(natsConnection_Publish(handle, subject, bytes.baseAddress, Int32(bytes.count)), "publish")
    }

    /// An async subscription whose messages go to `events.natsMessage`, with explicit pending
    /// limits (libnats' defaults drop silently at 65,536 messages / 64 MB).
    /// `queue`: a queue subscription — NATS gives each message to one member of the queue.
    func subscribe(subject: String, queue: String? = nil, pendingMessages: Int, pendingBytes: Int) throws(NatsError) -> OpaquePointer {
        var subscription: OpaquePointer?
        let subscribed = if let queue {
            natsConnection_QueueSubscribe(&subscription, handle, subject, queue, natsMessageCallback, events.toOpaque())
        } else {
            natsConnection_Subscribe(&subscription, handle, subject, natsMessageCallback, events.toOpaque())
        }
        try check(subscribed, "subscribe \(subject)")
        guard let subscription else { throw NatsError(NATS_ERR, "subscribe \(subject)") }
        let status = natsSubscription_SetPendingLimits(subscription, Int32(pendingMessages), Int32(pendingBytes))
        guard status == NATS_OK else {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
            throw NatsError(status, "pending limits for \(subject)")
        }
        return subscription
    }

    /// Messages this subscription dropped at its pending limit so far.
    static func dropped(_ subscription: OpaquePointer) -> UInt64 {
        var count: Int64 = 0
        return natsSubscription_GetDropped(subscription, &count) == NATS_OK ? UInt64(max(0, count)) : 0
    }

    static func unsubscribe(_ subscription: OpaquePointer) {
        natsSubscription_Unsubscribe(subscription)
        natsSubscription_Destroy(subscription)
    }

    /// A JetStream context on this connection (a request API: its calls wait on the server, so
    /// keep them off loop threads). The caller destroys it (jsCtx_Destroy) before `close`.
    func jetStream() throws(NatsError) -> OpaquePointer {
        var options = jsOptions()
        try check(jsOptions_Init(&options), "jsOptions_Init")
        var context: OpaquePointer?
        try check(natsConnection_JetStream(&context, handle, &options), "JetStream")
        guard let context else { throw NatsError(NATS_ERR, "JetStream") }
        return context
    }

    /// Waits until the server has processed everything sent so far (SUBs included).
    func flush(timeoutMs: Int) throws(NatsError) {
        try check(natsConnection_FlushTimeout(handle, Int64(timeoutMs)), "flush")
    }

    /// Closes the connection: calls waiting on the server (requests, flushes) return at once
    /// with "connection closed"; a write blocked on a server that stopped reading first runs
    /// into the write deadline. Callbacks still in flight find the box's target gone once its
    /// owner is released. Idempotent.
    func close() { natsConnection_Close(handle) }

    deinit { natsConnection_Destroy(handle) }
}

// MARK: - C callbacks (no captures: they convert to @convention(c))

/// The C callbacks' closure: never freed (see the file header); `target` is weak so the box does
/// not keep the cluster node alive.
final class NatsEventsBox: @unchecked Sendable {
    weak var target: (any NatsConnectionEvents)?
    init(_ target: any NatsConnectionEvents) { self.target = target }
}

private func eventsOf(_ closure: UnsafeMutableRawPointer?) -> (any NatsConnectionEvents)? {
    closure.flatMap { Unmanaged<NatsEventsBox>.fromOpaque($0).takeUnretainedValue().target }
}

private let natsMessageCallback: natsMsgHandler = { _, subscription, message, closure in
    defer { natsMsg_Destroy(message) }
    guard let events = eventsOf(closure), let data = natsMsg_GetData(message) else { return }
    events.natsMessage(UnsafeRawBufferPointer(start: data, count: Int(natsMsg_GetDataLength(message))), subscription: subscription)
}

private let natsErrorCallback: natsErrHandler = { _, subscription, status, closure in
    eventsOf(closure)?.natsAsyncError(NatsError(status, "async"), subscriptionDropped: subscription != nil && status == NATS_SLOW_CONSUMER)
}

private let natsConnectedCallback: natsConnectionHandler = { _, closure in eventsOf(closure)?.natsConnectionChanged(.connected) }
private let natsDisconnectedCallback: natsConnectionHandler = { _, closure in eventsOf(closure)?.natsConnectionChanged(.disconnected) }
private let natsReconnectedCallback: natsConnectionHandler = { _, closure in eventsOf(closure)?.natsConnectionChanged(.reconnected) }
private let natsClosedCallback: natsConnectionHandler = { _, closure in eventsOf(closure)?.natsConnectionChanged(.closed) }
