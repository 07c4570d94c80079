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
    /// Encoded message bytes. Written once by the encoder, then read-only while queued.
    /// Owned by the loop thread.
    var bytes: [UInt8] = []
    /// Outbound frames referencing this buffer. Owned by the loop thread.
    fileprivate(set) var uses = 0
    fileprivate let pool: MessageBufferPool

    fileprivate init(pool: MessageBufferPool, capacity: Int) {
        self.pool = pool
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

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

    func take(capacity: Int = 256) -> MessageBuffer {
        if let buffer = free.popLast() {
            if buffer.bytes.capacity < capacity { buffer.bytes.reserveCapacity(capacity) }
            return buffer
        }
        return MessageBuffer(pool: self, capacity: max(capacity, 256))
    }

    fileprivate func recycle(_ buffer: MessageBuffer) {
        guard !retired, buffer.bytes.capacity <= Self.maxPooledCapacity, free.count < Self.maxPooledBuffers else { return }
        buffer.bytes.removeAll(keepingCapacity: true)
        free.append(buffer)
    }

    var pooledCount: Int { free.count }

    /// Drops the free list and stops pooling (the owner is going away).
    func retire() {
        retired = true
        free.removeAll()
    }
}
