// Per-connection queue of outgoing frames: a small inline transport header plus a shared
// MessageBuffer. Flushed as vectored writes: try-write first, then one queued uv_write for what
// the socket did not take. Owned by the connection's loop thread.
//
// Small frames a caller lets it copy (`mayCopy`: EVENTs and replies, not group EVENTs) are
// coalesced: header and bytes are copied into a raw chunk at the queue's tail, one frame holding
// many messages. One short memcpy is cheaper than what a frame of its own costs per message — a
// slot, a use count on the shared buffer, a pair of iovecs, and the kernel's per-iovec work in
// writev — so a burst of small EVENTs leaves as a few large buffers. A large message is still
// queued by reference: every subscriber of a subscription shares its one encoding. A small
// EVENT for a subscription's lone subscriber is written straight into the chunk (appendInPlace).
//
// Header bytes must stay at a fixed address while a write that points at them is in flight, so
// frames live in a ring of fixed slots that is only reallocated when no write is in flight.

import BrokerLoop

struct OutboundFrame {
    /// Transport header (RawSocket: 4 bytes, WebSocket: 2…10 bytes), stored inline.
    var header: (UInt64, UInt64) = (0, 0)
    var headerLength: Int = 0
    /// Unretained: the buffer holds one reference for all its queued frames while it has uses
    /// (MessageBuffer.retainUse), so a frame costs no retain and release.
    var message: Unmanaged<MessageBuffer>?
    /// Set on a consumer-group EVENT: what to re-dispatch if the frame never reaches the kernel.
    var groupDelivery: GroupDelivery?
    /// Header plus message bytes, stored (a queued message is read-only): reading it through a
    /// slot pointer copies no reference, so costs no retain and release. Grows only on a
    /// coalescing frame that no write has touched yet.
    var byteCount: Int
    /// A coalescing frame's bytes: a chunk of `CoalescingChunks.chunkBytes` from the loop's
    /// pool, owned by this frame (no header, no message).
    var chunk: UnsafeMutableRawPointer?

    init(header: (UInt64, UInt64), headerLength: Int, message: MessageBuffer, groupDelivery: GroupDelivery?) {
        self.header = header
        self.headerLength = headerLength
        self.message = Unmanaged.passUnretained(message)
        self.groupDelivery = groupDelivery
        byteCount = headerLength + message.count
    }

    init(chunk: UnsafeMutableRawPointer) {
        self.chunk = chunk
        byteCount = 0
    }
}

final class OutboundQueue {
    // All fields: owned by the connection's loop thread.
    private var slots: UnsafeMutablePointer<OutboundFrame>
    private var capacity: Int
    private var head = 0          // index of the oldest frame
    private(set) var count = 0
    /// Frames [head, head + inFlight) are part of the queued uv_write.
    private(set) var inFlightFrames = 0
    /// Bytes queued (including those in flight), for the slow-consumer limit.
    private(set) var queuedBytes = 0
    /// Bytes of the first frame already written by a partial try-write.
    private var writtenOfFirst = 0
    private let vector = WriteVector(capacity: 256)
    /// Slot storage replaced while a write pointed into it; freed when that write finishes.
    private var retired: [UnsafeMutablePointer<OutboundFrame>] = []

    init(capacity: Int = 64) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
    }

    deinit {
        removeAll()
        slots.deallocate()
        freeRetired()
    }

    var isEmpty: Bool { count == 0 }

    /// Queues `message` behind the first `headerLength` bytes of `header`.
    /// A frame of at most this many bytes (header included) is copied when the caller allows it.
    static let coalesceLimit = 512
    /// The loop's chunk pool, from the first copied frame's buffer pool.
    private var chunks: CoalescingChunks?

    /// Queues `message` behind the first `headerLength` bytes of `header`. With `mayCopy`, a
    /// small frame is copied into a coalescing chunk and `message` is not kept: the caller must
    /// then recycle it (`recycleIfUnused`) once it has queued it everywhere.
    func append(header: (UInt64, UInt64), headerLength: Int, message: MessageBuffer, groupDelivery: GroupDelivery? = nil,
                mayCopy: Bool = false) {
        if mayCopy && groupDelivery == nil && headerLength + message.count <= Self.coalesceLimit {
            return appendCopy(header: header, headerLength: headerLength, message: message)
        }
        if count == capacity { grow() }
        let slot = slots + ((head + count) & (capacity - 1))
        message.retainUse()   // before the frame refers to it unretained
        slot.initialize(to: OutboundFrame(header: header, headerLength: headerLength, message: message, groupDelivery: groupDelivery))
        count += 1
        queuedBytes += headerLength + message.count
    }

    /// Copies a small frame to the end of the last frame when that is a coalescing chunk with
    /// room (`coalescingSlot`).
    @inline(__always)   // per EVENT: no call and register saves of its own
    private func appendCopy(header: (UInt64, UInt64), headerLength: Int, message: MessageBuffer) {
        let frameBytes = headerLength + message.count
        // The header is stored as its two words: 16 bytes written, `headerLength` kept.
        let slot = coalescingSlot(room: message.count + 16) { message.pool.chunks }
        let at = slot.pointee.chunk.unsafelyUnwrapped + slot.pointee.byteCount
        at.storeBytes(of: header.0, as: UInt64.self)
        (at + 8).storeBytes(of: header.1, as: UInt64.self)
        (at + headerLength).copyMemory(from: message.base, byteCount: message.count)
        slot.pointee.byteCount += frameBytes
        queuedBytes += frameBytes
    }

    /// Writes a small frame straight into the coalescing chunk at the queue's tail, as
    /// `appendCopy` would have copied it: `write` gets where the frame starts, with room for
    /// `maxBytes` (at most `coalesceLimit`), and returns the frame's length, header included.
    /// `pool` is asked for only when the queue has no chunk source yet (a retain per call otherwise).
    @inline(__always)   // per EVENT of a lone subscriber
    func appendInPlace(maxBytes: Int, chunks pool: @autoclosure () -> CoalescingChunks, _ write: (UnsafeMutableRawPointer) -> Int) {
        let slot = coalescingSlot(room: maxBytes, pool: pool)
        let frameBytes = write(slot.pointee.chunk.unsafelyUnwrapped + slot.pointee.byteCount)
        precondition(frameBytes > 0 && frameBytes <= maxBytes, "wrote past the room reserved in a coalescing chunk")
        slot.pointee.byteCount += frameBytes
        queuedBytes += frameBytes
    }

    /// The slot whose coalescing chunk takes the next `room` bytes: the last frame's, when it is
    /// a chunk with that room that no write has touched (none in flight, none partly written);
    /// else a new chunk in a new slot. `pool` (the loop's chunk source) is called only while the
    /// queue has none yet.
    @inline(__always)
    private func coalescingSlot(room: Int, pool: () -> CoalescingChunks) -> UnsafeMutablePointer<OutboundFrame> {
        let last = count - 1
        let slot = slots + ((head + last) & (capacity - 1))
        if last < inFlightFrames || (last == 0 && writtenOfFirst > 0) || slot.pointee.chunk == nil
            || slot.pointee.byteCount + room > CoalescingChunks.chunkBytes {
            if chunks == nil { chunks = pool() }
            if count == capacity { grow() }
            let fresh = slots + ((head + count) & (capacity - 1))
            fresh.initialize(to: OutboundFrame(chunk: chunks.unsafelyUnwrapped.take()))
            count += 1
            return fresh
        }
        return slot
    }

    private func grow() {
        let newCapacity = capacity * 2
        let newSlots = UnsafeMutablePointer<OutboundFrame>.allocate(capacity: newCapacity)
        for i in 0..<count {
            (newSlots + i).moveInitialize(from: slots + ((head + i) & (capacity - 1)), count: 1)
        }
        if inFlightFrames > 0 {
            // The queued write still points at headers in the old slots: free them afterwards.
            retired.append(slots)
        } else {
            slots.deallocate()
        }
        slots = newSlots
        capacity = newCapacity
        head = 0
    }

    /// Writes what it can: one try-write of as many frames as fit in the vector, repeated while
    /// the socket takes everything; the remainder goes out as one queued write. Returns an error
    /// when the socket failed.
    func flush<Sink: WriteSink>(to stream: Sink) -> UVError? {
        guard inFlightFrames == 0 else { return nil }   // resumes in writeDidFinish
        while count > 0 {
            let framesInVector = fillVector()
            switch stream.tryWrite(vector) {
            case .failure(let error):
                return error
            case .success(let written):
                let complete = written == vector.totalBytes
                let countBefore = count
                consume(bytes: written)
                if !complete {
                    // The socket is full: hand the rest of these frames to libuv.
                    vector.dropFirst(bytes: written)
                    do { try stream.write(vector) } catch { return error }
                    inFlightFrames = framesInVector - (countBefore - count)
                    return nil
                }
            }
        }
        return nil
    }

    /// The queued write finished: its frames are done.
    func writeDidFinish() {
        let frames = inFlightFrames
        inFlightFrames = 0
        for _ in 0..<frames { popFirst() }
        writtenOfFirst = 0
        freeRetired()
    }

    private func freeRetired() {
        for storage in retired { storage.deallocate() }
        retired.removeAll(keepingCapacity: true)
    }

    func removeAll() {
        while count > 0 { popFirst() }
        inFlightFrames = 0
        writtenOfFirst = 0
    }

    /// Hands every queued frame (header, then payload bytes) to `body` in order and removes it.
    /// Only for a queue that never has a write in flight (a TLS connection's plaintext queue).
    func drain(_ body: (UnsafeRawBufferPointer) -> Void) {
        precondition(inFlightFrames == 0 && writtenOfFirst == 0, "drain needs a queue with no write in flight")
        while count > 0 {
            let slot = slots + (head & (capacity - 1))
            let headerLength = slot.pointee.headerLength
            if headerLength > 0 {
                withUnsafeBytes(of: &slot.pointee.header) { body(UnsafeRawBufferPointer(rebasing: $0[0..<headerLength])) }
            }
            if let message = slot.pointee.message {
                message._withUnsafeGuaranteedRef { if $0.count > 0 { body($0.bytes) } }
            } else if let chunk = slot.pointee.chunk {
                body(UnsafeRawBufferPointer(start: chunk, count: slot.pointee.byteCount))
            }
            popFirst()
        }
    }

    // MARK: - Consumer-group recovery

    /// Removes the frames no write has touched yet (after the in-flight or partly written ones)
    /// whose group delivery satisfies `matches`; returns those deliveries in queue order.
    func removeUntouchedGroupFrames(where matches: (GroupDelivery) -> Bool) -> [GroupDelivery] {
        let firstUntouched = max(inFlightFrames, writtenOfFirst > 0 ? 1 : 0)
        var removed: [GroupDelivery] = []
        var write = firstUntouched
        for read in firstUntouched..<count {
            let slot = slots + ((head + read) & (capacity - 1))
            if let delivery = slot.pointee.groupDelivery, matches(delivery) {
                removed.append(delivery)
                queuedBytes -= slot.pointee.byteCount
                let message = slot.pointee.message
                slot.deinitialize(count: 1)
                if let message { MessageBuffer.releaseUse(message) }
            } else {
                if write != read { (slots + ((head + write) & (capacity - 1))).moveInitialize(from: slot, count: 1) }
                write += 1
            }
        }
        count = write
        return removed
    }

    /// The socket is dying: deliveries (satisfying `matches`) of frames whose bytes the kernel
    /// never took completely — untouched frames, and in-flight frames beyond what libuv wrote
    /// (`pendingWriteBytes` is what it still held). Their tags are cleared so no frame is
    /// returned twice.
    func takeGroupDeliveriesNotHandedToKernel(pendingWriteBytes: Int, where matches: (GroupDelivery) -> Bool) -> [GroupDelivery] {
        var inFlightBytes = 0
        for i in 0..<inFlightFrames { inFlightBytes += (slots + ((head + i) & (capacity - 1))).pointee.byteCount }
        inFlightBytes -= writtenOfFirst
        let handed = max(0, inFlightBytes - pendingWriteBytes)   // bytes of the in-flight write the kernel took
        var taken: [GroupDelivery] = []
        var end = -writtenOfFirst   // cumulative end of each frame, counted from the in-flight start
        for i in 0..<count {
            let slot = slots + ((head + i) & (capacity - 1))
            end += slot.pointee.byteCount
            let reachedKernel = i < inFlightFrames && end <= handed
            if !reachedKernel, let delivery = slot.pointee.groupDelivery, matches(delivery) {
                taken.append(delivery)
                slot.pointee.groupDelivery = nil
            }
        }
        return taken
    }

    // MARK: - Internals

    private func fillVector() -> Int {
        vector.removeAll()
        var i = 0
        while i < count && vector.count + 2 <= vector.capacity {
            let slot = slots + ((head + i) & (capacity - 1))
            var skip = i == 0 ? writtenOfFirst : 0
            let headerLength = slot.pointee.headerLength
            if skip < headerLength {
                withUnsafeBytes(of: &slot.pointee.header) { h in
                    vector.append(h.baseAddress! + skip, headerLength - skip)
                }
                skip = 0
            } else {
                skip -= headerLength
            }
            if let message = slot.pointee.message {
                let (base, count) = message._withUnsafeGuaranteedRef { ($0.base, $0.count) }
                if count > skip { vector.append(base + skip, count - skip) }
            } else if let chunk = slot.pointee.chunk {
                vector.append(chunk + skip, slot.pointee.byteCount - skip)
            }
            i += 1
        }
        return i
    }

    /// Drops fully written frames from the front and remembers a partly written one.
    private func consume(bytes: Int) {
        var remaining = bytes
        while remaining > 0 && count > 0 {
            let slot = slots + (head & (capacity - 1))
            let left = slot.pointee.byteCount - writtenOfFirst
            if remaining >= left {
                remaining -= left
                writtenOfFirst = 0
                popFirst()
            } else {
                writtenOfFirst += remaining
                queuedBytes -= remaining
                remaining = 0
            }
        }
    }

    private func popFirst() {
        let slot = slots + (head & (capacity - 1))
        var frame = slot.move()   // the slot's references move out: no retain
        queuedBytes -= frame.byteCount - writtenOfFirst
        writtenOfFirst = 0
        if let message = frame.message { MessageBuffer.releaseUse(message) }
        if let delivery = frame.groupDelivery.take() {
            // This queue is on the member's loop: its pool takes the delivery back.
            let context = delivery.member.loopContext
            #if DEBUG
            context.loop.assertInLoopThread()
            #endif
            context.groupDeliveryPool.recycle(delivery)
        }
        if let chunk = frame.chunk { chunks.unsafelyUnwrapped.recycle(chunk) }
        head = (head + 1) & (capacity - 1)
        count -= 1
    }
}
