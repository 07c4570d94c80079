// A reusable array of (pointer, length) pairs handed to one vectored write. Callers fill it
// with frames that stay alive until the write completes; it never allocates once grown.
// Owned by one stream's loop thread.

import CUV

public final class WriteVector {
    @usableFromInline var buffers: UnsafeMutablePointer<uv_buf_t>
    public private(set) var capacity: Int
    // Stored internally, usable from inline code: `append` is inlined into the queue's flush
    // (a cross-module call per frame part otherwise).
    @usableFromInline var filled = 0
    @usableFromInline var filledBytes = 0
    public var count: Int { filled }
    public var totalBytes: Int { filledBytes }

    public init(capacity: Int = 64) {
        self.capacity = capacity
        buffers = .allocate(capacity: capacity)
    }

    deinit { buffers.deallocate() }

    public var isFull: Bool { count == capacity }

    @inlinable
    public func append(_ base: UnsafeRawPointer, _ length: Int) {
        precondition(count < capacity, "WriteVector is full")
        // The struct itself, not uv_buf_init: a C call per frame part on the flush path.
        buffers[count] = uv_buf_t(base: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self)), len: length)
        filled += 1
        filledBytes += length
    }

    public func removeAll() {
        filled = 0
        filledBytes = 0
    }

    /// Drops the first `bytes` bytes (after a partial write): whole buffers go, a partly
    /// written buffer is advanced in place.
    public func dropFirst(bytes: Int) {
        var remaining = bytes
        var first = 0
        while first < count && remaining >= buffers[first].len {
            remaining -= Int(buffers[first].len)
            first += 1
        }
        if first < count && remaining > 0 {
            buffers[first].base += remaining
            buffers[first].len -= remaining
        }
        if first > 0 {
            (buffers).update(from: buffers + first, count: count - first)
            filled -= first
        }
        filledBytes -= bytes
    }

    /// Each buffer's bytes in order (an in-memory transport copies them instead of a socket).
    public func forEachBuffer(_ body: (UnsafeRawBufferPointer) -> Void) {
        for i in 0..<count { body(UnsafeRawBufferPointer(start: buffers[i].base, count: Int(buffers[i].len))) }
    }
}
