// An encoded outgoing WAMP message, shared by reference between every connection on one loop
// that sends it. An EVENT is encoded once per subscription and the same MessageBuffer is queued
// on each subscriber's connection; transport framing headers are per connection and live in the
// outbound queue, so the payload bytes are never copied per subscriber.
//
// Buffers come from their loop's pool and go back to it when the last queued frame using them
// has been written, so steady-state publishing allocates nothing. Contract: a producer queues a
// buffer on all its connections before the loop next flushes (as the router does within one
// publish); one that keeps queuing it across flushes must hold a use (retainUse) meanwhile.
//
// References: queued frames refer to a buffer unretained (OutboundQueue); while `uses` > 0 the
// buffer holds one reference for all of them, taken at the first use and handed to the pool (or
// dropped) at the last, so queuing a buffer on N connections costs one retain, not N retain and
// release pairs. The free list holds its buffers the same way (+1 each, unmanaged).
// A buffer holds its pool strongly, so a buffer still queued when its loop is torn down returns
// to a live (retired) pool instead of freed memory; the cycle pool → free buffer → pool is cut
// by `retire`, which the loop calls when it goes away.

final class MessageBuffer {
    // Raw storage, not [UInt8]: the per-event EVENT is written straight into reserved capacity
    // and a recycled buffer is emptied by setting `count` (Array's generic append and
    // removeAll(keepingCapacity:) cost ~110 and ~80 instructions per event).
    /// The encoded message: `count` bytes at `base`, room for `capacity`. Written once by the
    /// encoder, then read-only while queued. Owned by the loop thread.
    private(set) var base: UnsafeMutableRawPointer
    fileprivate(set) var count = 0
    private(set) var capacity: Int
    /// Outbound frames referencing this buffer. Owned by the loop thread.
    fileprivate(set) var uses = 0
    /// The pool it returns to (and whose chunks an outbound queue coalesces small frames into).
    let pool: MessageBufferPool

    fileprivate init(pool: MessageBufferPool, capacity: Int) {
        self.pool = pool
        self.capacity = max(capacity, 1)
        base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    /// The encoded bytes (valid while this buffer is held and not written to).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Makes room for `extra` more bytes after those written.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        storage.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = storage
        capacity = newCapacity
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Writes at most `maxBytes` bytes in place after those written: `body` gets where to write
    /// and returns how many bytes it wrote.
    @inline(__always)
    func appendInPlace(maxBytes: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        reserve(maxBytes)
        let written = body(base + count)
        precondition(written >= 0 && written <= maxBytes, "wrote past the room reserved in a MessageBuffer")
        count += written
    }

    /// Appends what `encode` writes to a byte array (the writers of the rare messages and of
    /// the binary formats append to [UInt8]); the array is the pool's, reused.
    func encode(_ encode: (inout [UInt8]) -> Void) {
        pool.withScratch { scratch in
            encode(&scratch)
            scratch.withUnsafeBytes { append($0) }
        }
    }

    /// A queued frame now refers to this buffer (unretained): the first use takes the one
    /// reference that all frames share.
    func retainUse() {
        if uses == 0 { _ = Unmanaged.passUnretained(self).retain() }
        uses += 1
    }

    /// A queued frame is done with `buffer`; the last one hands the frames' reference to the
    /// pool. Static: the buffer may be gone when it returns.
    static func releaseUse(_ buffer: Unmanaged<MessageBuffer>) {
        let pool = buffer._withUnsafeGuaranteedRef { b -> Unmanaged<MessageBufferPool>? in
            #if DEBUG
            precondition(b.uses > 0, "a MessageBuffer released more uses than it had")
            #endif
            b.uses -= 1
            return b.uses == 0 ? Unmanaged.passUnretained(b.pool) : nil
        }
        // The pool outlives this call: the buffer holds it, and recycle drops the buffer last.
        pool?._withUnsafeGuaranteedRef { $0.recycle(buffer) }
    }

    /// A queued frame is done with this buffer (a caller that holds it).
    func releaseUse() { Self.releaseUse(Unmanaged.passUnretained(self)) }

    /// Returns a buffer no frame took (e.g. every subscriber was excluded).
    func recycleIfUnused() {
        if uses == 0 { pool.recycle(Unmanaged.passRetained(self)) }
    }

    /// Lets go of a reference the caller holds (+1): a buffer no frame took goes back to the
    /// pool with that reference (no retain for the free list), else the reference is dropped.
    static func releaseOrRecycle(_ held: Unmanaged<MessageBuffer>) {
        let pool = held._withUnsafeGuaranteedRef { $0.uses == 0 ? Unmanaged.passUnretained($0.pool) : nil }
        guard let pool else { return held.release() }
        // The pool outlives this call: the buffer holds it, and recycle drops the buffer last.
        pool._withUnsafeGuaranteedRef { $0.recycle(held) }
    }
}

/// Free list of MessageBuffers for one loop. Owned by that loop's thread.
final class MessageBufferPool {
    /// The free buffers, `freeCount` of them, each held +1 (a stack: no Array uniqueness checks
    /// or retains per push and pop).
    private let free = UnsafeMutablePointer<Unmanaged<MessageBuffer>>.allocate(capacity: MessageBufferPool.maxPooledBuffers)
    private var freeCount = 0
    /// Raw chunks the loop's outbound queues coalesce small frames into.
    let chunks = CoalescingChunks()
    /// Set when the loop went away: buffers coming back are dropped, not kept.
    private var retired = false
    /// Buffers that grew past this are dropped instead of pooled, so one huge message does not
    /// pin memory forever.
    static let maxPooledCapacity = 64 * 1024
    static let maxPooledBuffers = 4096
    /// The free list's capacity in bytes, at most: a burst of large EVENTs queued for slow
    /// consumers (4,096 buffers of 64 KiB would be 256 MiB) does not stay pinned by the pool after
    /// it drains. Small per-event buffers fill the count limit first (4,096 × 256 B = 1 MiB).
    static let maxPooledBytes = 4 * 1024 * 1024
    /// The summed capacity of the free buffers. Owned by the loop thread.
    private(set) var pooledBytes = 0

    init() {}

    deinit {
        retire()
        free.deallocate()
    }

    /// The array `MessageBuffer.encode` writes into, emptied before each use.
    private var scratch: [UInt8] = []

    func take(capacity: Int = 256) -> MessageBuffer {
        if freeCount > 0 {
            freeCount -= 1
            let buffer = free[freeCount].takeRetainedValue()   // the free list's reference moves to the caller
            pooledBytes -= buffer.capacity
            buffer.reserve(capacity)
            return buffer
        }
        return MessageBuffer(pool: self, capacity: max(capacity, 256))
    }

    /// Takes back `buffer` with the reference it comes with (+1): kept in the free list, or
    /// dropped (last, after everything here that could need this pool).
    fileprivate func recycle(_ buffer: Unmanaged<MessageBuffer>) {
        let capacity = buffer._withUnsafeGuaranteedRef { b -> Int in
            #if DEBUG
            precondition(b.uses == 0 && b.pool === self, "a MessageBuffer returned to the pool while in use, or to another pool")
            #endif
            b.count = 0
            return b.capacity
        }
        guard !retired, capacity <= Self.maxPooledCapacity, freeCount < Self.maxPooledBuffers,
              pooledBytes + capacity <= Self.maxPooledBytes else { return buffer.release() }
        free[freeCount] = buffer
        freeCount += 1
        pooledBytes += capacity
    }

    fileprivate func withScratch(_ body: (inout [UInt8]) -> Void) {
        scratch.removeAll(keepingCapacity: true)
        body(&scratch)
        if scratch.capacity > Self.maxPooledCapacity { scratch = [] }   // one huge message does not pin it
    }

    var pooledCount: Int { freeCount }

    /// Drops the free list and stops pooling (the owner is going away).
    func retire() {
        retired = true
        chunks.retire()
        while freeCount > 0 {
            freeCount -= 1
            free[freeCount].release()
        }
        pooledBytes = 0
    }
}
