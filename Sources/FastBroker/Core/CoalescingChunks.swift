// Fixed-size raw chunks that outbound queues copy small frames into (OutboundQueue's
// coalescing), recycled per loop so a steady stream of small EVENTs allocates nothing. Bounded:
// at most `maxPooled` free chunks are kept; the rest are freed. Owned by its loop's thread.

final class CoalescingChunks {
    /// Bytes per chunk: ~40 small EVENTs, one iovec for the kernel.
    static let chunkBytes = 4096
    /// Free chunks kept for reuse (1 MiB per loop at most).
    static let maxPooled = 256

    private var free: [UnsafeMutableRawPointer] = []
    /// Set when the loop went away: chunks coming back are freed, not kept.
    private var retired = false

    init() {
        free.reserveCapacity(Self.maxPooled)
    }

    deinit {
        for chunk in free { chunk.deallocate() }
    }

    func take() -> UnsafeMutableRawPointer {
        free.popLast() ?? .allocate(byteCount: Self.chunkBytes, alignment: 16)
    }

    func recycle(_ chunk: UnsafeMutableRawPointer) {
        guard !retired, free.count < Self.maxPooled else { return chunk.deallocate() }
        free.append(chunk)
    }

    var pooledCount: Int { free.count }

    /// Frees the free list and stops pooling (the loop is going away).
    func retire() {
        retired = true
        for chunk in free { chunk.deallocate() }
        free.removeAll()
    }
}
