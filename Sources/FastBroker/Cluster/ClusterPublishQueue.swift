// ClusterPublishQueue: the hand-off between the loop threads and the node's publisher thread.
// natsConnection_Publish can block (libnats flushes its write buffer on the caller's thread when
// it fills, and a stalled NATS server stops reading), so loop threads only append here; one
// serial dispatch queue, the publisher thread, drains it in FIFO order and does the NATS calls.
// FIFO with one consumer keeps each publisher's events in order (one loop appends one session's
// publications in order). Bounded in entries and payload bytes: when full, `enqueue` refuses and
// the caller counts the loss (reason "publish_queue_full") instead of making the loop wait — a
// NATS stall must not stop local delivery, which already happened for that publication.
//
// The queue is idle until the first append; the append that finds it idle schedules one drain,
// which runs until it finds the queue empty, so a busy stream costs no wake-up per publication.
// The drain takes everything waiting under one lock and hands it to `send` as one batch (in
// append order), so the publisher can also take its own lock and encode buffer once per batch.
// The batch being sent no longer counts against the bound, so at most twice the limits are held
// (what waits, plus the batch NATS is taking).

import BrokerSync
import Dispatch

final class ClusterPublishQueue: @unchecked Sendable {
    /// A local publication; the publisher thread works out its NATS subject.
    typealias Outgoing = ClusterPublication

    private struct Waiting {
        var items: [Outgoing] = []
        var bytes = 0
        /// A drain is scheduled or running; cleared by the drain that finds `items` empty.
        var draining = false
    }

    private let maxEntries: Int
    private let maxBytes: Int
    private let publisher: DispatchQueue
    private let send: @Sendable ([Outgoing]) -> Void
    /// Appended by loop threads, taken by the publisher thread; locked by this mutex.
    private let waiting = PThreadLock(Waiting())

    /// `send` runs on the publisher thread, one batch at a time (never empty), in append order.
    init(maxEntries: Int, maxBytes: Int, label: String, send: @escaping @Sendable ([Outgoing]) -> Void) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.send = send
        publisher = DispatchQueue(label: label)
    }

    /// Appends without waiting; false when the queue is at its entry or byte limit.
    func enqueue(_ outgoing: Outgoing) -> Bool {
        let size = Self.size(of: outgoing)
        let startDrain: Bool? = waiting.withLock { waiting in
            guard waiting.items.count < maxEntries, waiting.bytes + size <= maxBytes || waiting.items.isEmpty else { return nil }
            waiting.items.append(outgoing)
            waiting.bytes += size
            defer { waiting.draining = true }
            return !waiting.draining
        }
        guard let startDrain else { return false }
        if startDrain { publisher.async { [self] in drain() } }
        return true
    }

    /// Waits until everything appended before this call has been handed to `send` (tests, and
    /// the control queue before a flush; never a loop thread).
    func waitUntilSent() { publisher.sync {} }

    /// Publisher thread: takes the waiting publications in batches (one lock per batch) until
    /// none is left.
    private func drain() {
        var batch: [Outgoing] = []
        while true {
            let more: Bool = waiting.withLock { waiting in
                if waiting.items.isEmpty {
                    waiting.draining = false
                    return false
                }
                swap(&batch, &waiting.items)
                waiting.bytes = 0
                return true
            }
            guard more else { return }
            send(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }

    private static func size(of publication: ClusterPublication) -> Int {
        publication.args.count + publication.kwargs.count + publication.options.count + publication.topic.utf8.count
    }
}
