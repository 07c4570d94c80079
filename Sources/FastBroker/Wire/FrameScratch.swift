// A per-decoder byte buffer for the payloads that cannot be handed out as one pointer into the ring:
// frames straddling the ring's seam and fragmented WebSocket messages. It is reused for every such
// payload and grows only when a larger one arrives, so the steady state allocates nothing.

/// Growable scratch storage of one decoder. A class so that a decoder struct can free it on release;
/// copies of a decoder share it, so keep one decoder per connection.
final class FrameScratch {
    /// Start of the storage (nil until first needed). Owned by the connection's loop thread.
    private(set) var base: UnsafeMutableRawPointer?
    /// Bytes allocated at `base`. Owned by the connection's loop thread.
    private(set) var capacity: Int = 0

    init(initialCapacity: Int = 0) {
        if initialCapacity > 0 { grow(toAtLeast: initialCapacity, keeping: 0) }
    }

    deinit {
        base?.deallocate()
    }

    /// Storage with room for `needed` bytes; the first `keeping` bytes survive a growth.
    /// Grows at least twofold so a message assembled fragment by fragment reallocates O(log n) times.
    @inline(__always)
    func reserve(_ needed: Int, keeping: Int) -> UnsafeMutableRawPointer {
        if needed > capacity || base == nil { grow(toAtLeast: needed, keeping: keeping) }
        return base!
    }

    @inline(never)
    private func grow(toAtLeast needed: Int, keeping: Int) {
        let newCapacity = max(needed, capacity * 2, 256)
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let old = base {
            newBase.copyMemory(from: old, byteCount: keeping)
            old.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }
}
