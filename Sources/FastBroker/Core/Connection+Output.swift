// A connection's output: replies, EVENTs and group EVENTs framed for the transport into the
// outbound queue, the one slow-consumer policy (OutboundBudget.swift has the bounds), the flush
// the loop runs once per iteration (one vectored write; for TLS after sealing), and the write
// completion. Every frame goes through `enqueue`, and every change of the queue's size through
// `outboundChanged`, which alone keeps the gauge, the group homes' view and the read pause in
// step with it.

import BrokerConfig
import BrokerLoop
import BrokerSerialization
import BrokerWire

/// The output side's state. Owned by the connection's loop thread.
struct OutputState {
    /// Frames for the client (for TLS: plaintext, sealed into records at the flush).
    let queue = OutboundQueue()
    /// Queue size last reported to the loop's gauge and to group homes (outboundChanged).
    var reportedQueuedBytes = 0
    /// Set when the client is to be disconnected as a slow consumer: the ABORT's message. The
    /// ABORT goes out from the next flush (not from inside the router or a handler).
    var slowConsumerAbort: String?
    /// True while that ABORT is queued: the one message allowed past the hard bound.
    var queuingFinalAbort = false
    /// The connection is on the loop's list for the next flush.
    var isDirty = false
    /// The bounds from the (immutable) limits, computed once: every queued frame checks them.
    let budget: OutboundBudget

    /// The transport is closed: nothing queued will be written.
    func removeAll(tls: TLSTransport?) {
        queue.removeAll()
        tls?.ciphertextOut.removeAll()
    }
}

extension Connection {
    var budget: OutboundBudget { output.budget }

    /// The queue the socket is written from.
    private var socketQueue: OutboundQueue { tls?.ciphertextOut ?? output.queue }

    // MARK: - Replies

    /// Encodes one message for this connection only (replies, WELCOME, ERROR, ...).
    func send(_ encode: (inout [UInt8]) -> Void) {
        context.loop.assertInLoopThread()
        guard closeState < .closing else { return }
        let message = context.bufferPool.take()
        message.encode(encode)
        guard message.count <= peerMaxMessageBytes else { return refuseOversizeReply(message) }
        queueReply(message)
    }

    /// Queues a reply, ping or pong. Never dropped silently: one that would pass the hard bound
    /// means the client does not read what it is sent, and it is disconnected as a slow consumer.
    func queueReply(_ message: MessageBuffer, rawSocketType: RawSocketFrameType = .message,
                    webSocketOpcode: WebSocketOpcode? = nil) {
        let bound = output.queuingFinalAbort ? Int.max : budget.hardBound
        if output.slowConsumerAbort != nil && !output.queuingFinalAbort {
            // Already being disconnected: only the ABORT goes out.
        } else if !enqueue(message, rawSocketType: rawSocketType, webSocketOpcode: webSocketOpcode, bound: bound) {
            let framed = message.count + frameHeader(for: message, rawSocketType: rawSocketType, webSocketOpcode: webSocketOpcode).length
            disconnectSlowConsumer("outbound queue full: a reply of \(framed) bytes would pass max_session_outbound_bytes (\(budget.hardBound)) with \(queuedBytes()) bytes the client has not read yet")
        }
        message.recycleIfUnused()
    }

    /// A reply larger than the RawSocket peer said it accepts is never sent. The client would
    /// wait for it forever, so the session ends with a short ABORT naming the limit.
    private func refuseOversizeReply(_ message: MessageBuffer) {
        let size = message.count
        message.recycleIfUnused()
        context.metrics.dropsOversize.increment()
        session?.abort(message: "a reply of \(size) bytes exceeds the limit of \(peerMaxMessageBytes) bytes the client announced in its RawSocket hello",
                       reason: WampURI.limitExceeded)
    }

    /// Bytes sent without WAMP framing (handshake replies, HTTP responses, close frames): one
    /// each per connection, counted but never refused.
    func sendRaw(_ bytes: [UInt8]) {
        let message = context.bufferPool.take(capacity: bytes.count)
        message.append(contentsOf: bytes)
        output.queue.append(header: (0, 0), headerLength: 0, message: message)
        outboundChanged()
        scheduleFlush()
    }

    // MARK: - Events and the slow-consumer policy

    /// Queues a shared EVENT. Returns false when it was not queued: the connection is closing,
    /// the event is larger than the peer accepts, or the slow-consumer policy refused it.
    func enqueueEvent(_ message: MessageBuffer) -> Bool {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
        return queueEvent(message, groupDelivery: nil)
    }

    /// Writes an EVENT of at most `maxBytes` bytes (by `write`, which returns its length)
    /// straight into the outbound queue's coalescing chunk, skipping the shared buffer
    /// (`enqueueEvent`) for a subscription's lone subscriber. Only where that buffer would have
    /// been copied into the chunk anyway and, even at `maxBytes`, the EVENT surely passes every
    /// check `queueEvent` makes: else nil, and the caller queues the shared encoding, which
    /// meets the slow-consumer policy and the peer's limit as usual. Otherwise as `enqueueEvent`.
    @inline(__always)   // per EVENT of a lone subscriber
    func enqueuePlainEvent(maxBytes: Int, _ write: (UnsafeMutableRawPointer) -> Int) -> Bool? {
        #if DEBUG   // per-event path: not even the property loads in release builds
        context.loop.assertInLoopThread()
        #endif
        guard closeState == .open, output.slowConsumerAbort == nil else { return false }
        // The transport header's room: a WebSocket length up to 125 takes 2 bytes, more 4 (the
        // frame stays under coalesceLimit); the header is written once the length is known.
        let headerRoom: Int
        let rawSocket: Bool
        switch phase {
        case .rawSocket: (headerRoom, rawSocket) = (RawSocketFraming.headerSize, true)
        case .webSocket: (headerRoom, rawSocket) = (maxBytes <= 125 ? 2 : 4, false)
        case .rawSocketHandshake, .http: return nil
        }
        guard maxBytes <= peerMaxMessageBytes, headerRoom + maxBytes <= OutboundQueue.coalesceLimit,
              queuedBytes(plus: headerRoom + maxBytes) <= budget.softBound else { return nil }
        let opcode = format.webSocketOpcode
        withQueue {
            $0.appendInPlace(maxBytes: headerRoom + maxBytes, chunks: context.bufferPool.chunks) { frame in
                let length = write(frame + headerRoom)
                if rawSocket {
                    RawSocketFraming.writeHeader(type: .message, length: length, to: frame)
                    return headerRoom + length
                }
                // WebSocket: the minimal length encoding (RFC 6455), so a short EVENT written
                // behind 4 bytes of room moves up to its 2-byte header.
                if headerRoom == 4 && length <= 125 { (frame + 2).copyMemory(from: frame + 4, byteCount: length) }
                return WebSocketFraming.writeHeader(opcode: opcode, payloadLength: length, to: frame) + length
            }
        }
        outboundChanged()
        scheduleFlush()
        return true
    }

    /// Queues a consumer-group EVENT, tagged so it can be re-dispatched if it never reaches the
    /// kernel. Returns false when it was not queued, and the caller sends it home for the next
    /// member.
    func enqueueGroupEvent(_ message: MessageBuffer, delivery: GroupDelivery) -> Bool {
        context.loop.assertInLoopThread()
        return queueEvent(message, groupDelivery: delivery)
    }

    /// The one slow-consumer policy. EVENTs fill the queue up to the soft bound; one that does
    /// not fit follows `slow_consumer`:
    /// - `drop`: not queued. A shared EVENT counts as a drop; a group EVENT is not lost (its
    ///   home offers it to the next member).
    /// - `disconnect`: the session is aborted from the next flush. A shared EVENT counts as a
    ///   drop; a group EVENT is queued anyway, so the leave carries it, with the rest of the
    ///   queue, to another member.
    /// An EVENT larger than the RawSocket peer accepts is never queued (shared: counted as
    /// oversize; group: re-dispatched).
    @inline(__always)
    private func queueEvent(_ message: MessageBuffer, groupDelivery: GroupDelivery?) -> Bool {
        guard closeState == .open, output.slowConsumerAbort == nil else { return false }
        guard message.count <= peerMaxMessageBytes else {
            if groupDelivery == nil { context.metrics.dropsOversize.increment() }
            return false
        }
        if enqueue(message, groupDelivery: groupDelivery, bound: budget.softBound) { return true }
        if groupDelivery == nil { context.metrics.dropsSlowConsumer.increment() }
        guard limits.slowConsumer == .disconnect else { return false }
        var queued = false
        if let groupDelivery { queued = enqueue(message, groupDelivery: groupDelivery, bound: Int.max) }
        disconnectSlowConsumer("outbound queue over \(budget.softBound) bytes of events (max_session_outbound_bytes \(budget.hardBound)): the client reads too slowly")
        return queued
    }

    /// Stops input at once and aborts the session from the next flush, so the ABORT is never
    /// sent from inside the router or a handler that still uses the session.
    private func disconnectSlowConsumer(_ message: String) {
        guard output.slowConsumerAbort == nil, closeState == .open else { return }
        context.metrics.slowConsumerDisconnects.increment()
        output.slowConsumerAbort = message
        pauseReading(.outbound)
        scheduleFlush()
    }

    /// Group EVENTs for `member` that have not reached the kernel, taken back for re-dispatch:
    /// on a live connection, or one still writing its queue after the peer's FIN, the untouched
    /// ones leave the queue (the write in flight completes); on a dying one, everything the
    /// kernel did not take completely.
    func takeBackGroupEvents(of member: GroupMember, connectionDying: Bool) -> [GroupDelivery] {
        let matches: (GroupDelivery) -> Bool = { $0.member === member }
        if connectionDying && closeState < .closing && !peerEnded {
            return output.queue.takeGroupDeliveriesNotHandedToKernel(pendingWriteBytes: transport.pendingWriteBytes, where: matches)
        }
        if connectionDying {
            return output.queue.takeGroupDeliveriesNotHandedToKernel(pendingWriteBytes: Int.max, where: matches)
        }
        let taken = output.queue.removeUntouchedGroupFrames(where: matches)
        outboundChanged()
        if readPauses.contains(.outbound) { scheduleFlush() }   // the flush resumes reading if drained
        return taken
    }

    // MARK: - The queue

    /// Frames `message` for the transport and queues it if the queue, with it, stays within
    /// `bound`; returns false (nothing queued) otherwise.
    @discardableResult
    private func enqueue(_ message: MessageBuffer, rawSocketType: RawSocketFrameType = .message,
                         webSocketOpcode: WebSocketOpcode? = nil, groupDelivery: GroupDelivery? = nil,
                         bound: Int) -> Bool {
        let (header, headerLength) = frameHeader(for: message, rawSocketType: rawSocketType, webSocketOpcode: webSocketOpcode)
        guard queuedBytes(plus: headerLength + message.count) <= bound else { return false }
        withQueue {
            // Every caller recycles `message` once it is queued everywhere, so a small one may
            // be copied (coalesced) instead of kept.
            $0.append(header: header, headerLength: headerLength, message: message, groupDelivery: groupDelivery, mayCopy: true)
        }
        outboundChanged()
        scheduleFlush()
        return true
    }

    /// Runs `body` on the outbound queue without a retain of it: the queue is a `let` of
    /// `output`, which is assigned once (init), so it lives as long as this connection (a retain
    /// per queued event otherwise). Debug builds check it was not replaced meanwhile.
    @inline(__always)
    private func withQueue(_ body: (OutboundQueue) -> Void) {
        #if DEBUG
        let queueBefore = ObjectIdentifier(output.queue)
        #endif
        Unmanaged.passUnretained(output.queue)._withUnsafeGuaranteedRef(body)
        #if DEBUG
        precondition(ObjectIdentifier(output.queue) == queueBefore, "a connection's outbound queue is never replaced")
        #endif
    }

    /// The transport header for `message` (none before the transport handshake is done).
    @inline(__always)
    private func frameHeader(for message: MessageBuffer, rawSocketType: RawSocketFrameType,
                             webSocketOpcode: WebSocketOpcode?) -> (bytes: (UInt64, UInt64), length: Int) {
        var header: (UInt64, UInt64) = (0, 0)
        let length = withUnsafeMutableBytes(of: &header) { h -> Int in
            switch phase {
            case .rawSocket:
                RawSocketFraming.writeHeader(type: rawSocketType, length: message.count, to: h.baseAddress!)
                return RawSocketFraming.headerSize
            case .webSocket:
                return WebSocketFraming.writeHeader(opcode: webSocketOpcode ?? format.webSocketOpcode, payloadLength: message.count, to: h.baseAddress!)
            case .rawSocketHandshake, .http:
                return 0
            }
        }
        return (header, length)
    }

    /// Bytes waiting to be written plus `extra` plaintext bytes (the measure OutboundBudget
    /// bounds); for TLS the plaintext not yet sealed is counted with its record overhead.
    @inline(__always)
    private func queuedBytes(plus extra: Int = 0) -> Int {
        let plaintext = output.queue.queuedBytes + extra
        guard let tls else { return plaintext }
        return tls.ciphertextOut.queuedBytes + OutboundBudget.wireBytes(plaintext, tls: true)
    }

    /// The one place the queue's size is reported: the loop's gauge, the counter group homes
    /// read, and the read pause at the soft bound (lifted from the write path, resumeIfDrained).
    @inline(__always)   // per queued event
    func outboundChanged() {
        let queued = queuedBytes()
        context.metrics.outboundQueuedBytes.increment(by: queued - output.reportedQueuedBytes)
        output.reportedQueuedBytes = queued
        outboundBytes.set(queued)
        if queued >= budget.softBound && !readPauses.contains(.outbound) && closeState < .closing {
            pauseReading(.outbound)
        }
    }

    /// Writes brought the queue down to the low-water mark: read the client again.
    private func resumeIfDrained() {
        guard readPauses.contains(.outbound), output.slowConsumerAbort == nil,
              queuedBytes() <= budget.lowWater else { return }
        resumeReading(.outbound)
    }

    @inline(__always)   // per queued event: usually just the dirty-flag test
    func scheduleFlush() {
        if !output.isDirty {
            output.isDirty = true
            context.markDirty(self)
        }
    }

    // MARK: - Writing

    /// Called by the loop's prepare hook: one vectored write of everything queued (for TLS,
    /// after sealing the queued plaintext into records).
    func flush() {
        output.isDirty = false
        guard closeState < .closing else { return }
        if let message = output.slowConsumerAbort, closeState == .open {
            output.queuingFinalAbort = true
            session?.abort(message: message, reason: WampURI.slowConsumer)
            output.queuingFinalAbort = false
            if closeState == .open { closeAfterFlush() }   // the session was already over
        }
        if let tls { seal(tls) }
        let queue = socketQueue
        let before = queue.queuedBytes
        let error = queue.flush(to: transport)
        context.metrics.bytesOut.increment(by: before - queue.queuedBytes)
        outboundChanged()
        if let error {
            endSession(reason: "write error: \(error)")
            return closeNow()
        }
        if closeState == .flushingToClose && output.queue.isEmpty && queue.isEmpty && !transport.writeInFlight {
            return closeNow()
        }
        resumeIfDrained()
    }

    /// The transport's queued write finished (or failed).
    func writeDidFinish(error: UVError?) {
        let queue = socketQueue
        let before = queue.queuedBytes
        queue.writeDidFinish()
        if error == nil { context.metrics.bytesOut.increment(by: before - queue.queuedBytes) }
        outboundChanged()
        if let error {
            if closeState < .closing {
                endSession(reason: "write error: \(error)")
                closeNow()
            }
            return
        }
        flush()
    }
}
