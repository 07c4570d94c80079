// A growable run of raw bytes, reused for the life of a connection: outbound frames waiting for the
// socket, and inbound WebSocket payloads that straddle the ring's seam or arrive in fragments.
// It grows by doubling and never shrinks, so the steady state allocates nothing.

final class GrowableBytes {
    /// Owned by the connection's loop thread, like every field here.
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// Bytes in use from `base`.
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Room for `extra` more bytes after `count`; returns where they go (valid until the next reserve).
    @inline(__always)
    func reserve(_ extra: Int) -> UnsafeMutableRawPointer {
        if count + extra > capacity { grow(toAtLeast: count + extra) }
        return base + count
    }

    @inline(never)
    private func grow(toAtLeast needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
