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
    fileprivate let pool: MessageBufferPool

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

    /// A queued frame now refers to this buffer.
    func retainUse() { uses += 1 }

    /// A queued frame is done with this buffer; the last one returns it to the pool.
    func releaseUse() {
        uses -= 1
        if uses == 0 { pool.recycle(self) }
    }

    /// Returns a buffer no frame took (e.g. every subscriber was excluded).
    func recycleIfUnused() {
        if uses == 0 { pool.recycle(self) }
    }
}

/// Free list of MessageBuffers for one loop. Owned by that loop's thread.
final class MessageBufferPool {
    private var free: [MessageBuffer] = []
    /// Set when the loop went away: buffers coming back are dropped, not kept.
    private var retired = false
    /// Buffers that grew past this are dropped instead of pooled, so one huge message does not
    /// pin memory forever.
    static let maxPooledCapacity = 64 * 1024
    static let maxPooledBuffers = 4096

    init() {
        free.reserveCapacity(Self.maxPooledBuffers)
    }

    /// The array `MessageBuffer.encode` writes into, emptied before each use.
    private var scratch: [UInt8] = []

    func take(capacity: Int = 256) -> MessageBuffer {
        if let buffer = free.popLast() {
            buffer.reserve(capacity)
            return buffer
        }
        return MessageBuffer(pool: self, capacity: max(capacity, 256))
    }

    fileprivate func recycle(_ buffer: MessageBuffer) {
        buffer.count = 0
        guard !retired, buffer.capacity <= Self.maxPooledCapacity, free.count < Self.maxPooledBuffers else { return }
        free.append(buffer)
    }

    fileprivate func withScratch(_ body: (inout [UInt8]) -> Void) {
        scratch.removeAll(keepingCapacity: true)
        body(&scratch)
        if scratch.capacity > Self.maxPooledCapacity { scratch = [] }   // one huge message does not pin it
    }

    var pooledCount: Int { free.count }

    /// Drops the free list and stops pooling (the owner is going away).
    func retire() {
        retired = true
        free.removeAll()
    }
}
