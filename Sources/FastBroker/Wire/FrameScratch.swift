// A per-decoder byte buffer for the payloads that cannot be handed out as one pointer into the ring:
// frames straddling the ring's seam and fragmented WebSocket messages. It is reused for every such
// payload and grows only when a larger one arrives, so the steady state allocates nothing; it never
// grows past the decoder's message limit, and the decoder frees it (`release(ifOver:)`) once a
// payload larger than the ring has been delivered, so a large message leaves nothing behind.

/// Growable scratch storage of one decoder. A class so that a decoder struct can free it on release;
/// copies of a decoder share it, so keep one decoder per connection.
final class FrameScratch {
    /// Start of the storage (nil until first needed, and after `release`). Owned by the connection's loop thread.
    private(set) var base: UnsafeMutableRawPointer?
    /// Bytes allocated at `base`. Owned by the connection's loop thread.
    private(set) var capacity: Int = 0
    /// Growth never reserves more than this (the largest payload the decoder accepts), unless asked to.
    let maxCapacity: Int
    /// Smallest allocation, and what `release(ifOver:)` always keeps: small spills never churn.
    static let minimumCapacity = 256

    init(initialCapacity: Int = 0, maxCapacity: Int = .max) {
        self.maxCapacity = maxCapacity
        if initialCapacity > 0 { grow(toAtLeast: initialCapacity, keeping: 0) }
    }

    deinit {
        base?.deallocate()
    }

    /// Storage with room for `needed` bytes; the first `keeping` bytes survive a growth.
    /// Grows at least twofold, to a power of two, so a message assembled fragment by fragment
    /// reallocates O(log n) times and a payload no larger than the (power-of-two) ring fits a
    /// scratch no larger than the ring.
    @inline(__always)
    func reserve(_ needed: Int, keeping: Int) -> UnsafeMutableRawPointer {
        if needed > capacity || base == nil { grow(toAtLeast: needed, keeping: keeping) }
        return base!
    }

    /// Frees the storage if it is larger than `limit` bytes and than `minimumCapacity` (the next
    /// `reserve` allocates anew). The caller makes sure no payload in it is still in use.
    @inline(__always)
    func release(ifOver limit: Int) {
        guard capacity > limit && capacity > FrameScratch.minimumCapacity, let old = base else { return }
        old.deallocate()
        base = nil
        capacity = 0
    }

    @inline(never)
    private func grow(toAtLeast needed: Int, keeping: Int) {
        var doubled = FrameScratch.minimumCapacity
        while doubled < needed && doubled < maxCapacity { doubled <<= 1 }
        let newCapacity = max(needed, min(max(doubled, capacity * 2), maxCapacity))
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let old = base {
            newBase.copyMemory(from: old, byteCount: keeping)
            old.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }
}
