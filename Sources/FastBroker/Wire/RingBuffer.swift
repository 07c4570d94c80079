// The receive ring of one connection: libuv reads straight into its free space, and the framing
// decoders parse frames in place, returning pointers into it (zero-copy). Bytes between the read
// cursor and the write cursor are readable; the storage wraps at a power-of-two seam.
//
// Memory follows the bytes actually received (issue 10): a frame larger than the ring makes it
// double only when it is full (`growIfFull`), never straight to the frame's declared length, and
// once the reader has drained it the ring shrinks back to its initial capacity (`shrinkIfIdle`).

/// Receive ring of one connection; owned by that connection's loop thread. Capacity is a power of two.
///
/// No call allocates except `init`, `reserveCapacity` (and `growIfFull`) and `shrinkIfIdle`.
/// Pointers handed out (`writableRegion`, `contiguousBytes`) stay valid until the next of these.
public final class RingBuffer {
    /// Storage of `capacity` bytes. Owned by the connection's loop thread.
    private var storage: UnsafeMutableRawPointer
    /// Always a power of two, at least 64. Owned by the connection's loop thread.
    public private(set) var capacity: Int
    /// `capacity - 1`; positions wrap with `& mask`. Owned by the connection's loop thread.
    private var mask: Int
    /// Storage position of the first readable byte, in 0..<capacity. Owned by the connection's loop thread.
    private var readPosition: Int
    /// Number of readable bytes, in 0...capacity. Owned by the connection's loop thread.
    private var count: Int
    /// When the last readable byte is consumed, both cursors jump back to position 0 so the next read
    /// gets the whole ring as one contiguous region and frames rarely straddle the seam. Tests turn this
    /// off to keep frames on the seam. Owned by the connection's loop thread.
    internal var recentresWhenEmpty: Bool
    /// The capacity given at `init` (rounded), which `shrinkIfIdle` returns to.
    public let initialCapacity: Int
    /// Most readable bytes held since the last `shrinkIfIdle`: whether the extra capacity was used.
    /// Owned by the connection's loop thread.
    private var peakReadable = 0
    /// Consecutive `shrinkIfIdle` calls whose traffic fitted the initial capacity. Owned by the
    /// connection's loop thread.
    private var calmDrains = 0

    /// Hysteresis of `shrinkIfIdle`: a ring up to this many times its initial capacity is kept
    /// while it is in use, so a client steadily sending medium messages does not make it grow and
    /// shrink on every message; above it, or after `calmDrainsBeforeShrink` calm drains, it shrinks.
    public static let retainedGrowthFactor = 4
    public static let calmDrainsBeforeShrink = 16

    public init(capacity: Int) {
        let rounded = RingBuffer.roundedCapacity(capacity)
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 16)
        self.capacity = rounded
        self.mask = rounded - 1
        self.readPosition = 0
        self.count = 0
        self.recentresWhenEmpty = true
        self.initialCapacity = rounded
    }

    /// For tests: both cursors start at `startPosition` (mod capacity) and stay put when the ring
    /// empties, so written frames cross the seam wherever the test wants.
    internal convenience init(capacity: Int, startingAt startPosition: Int) {
        self.init(capacity: capacity)
        self.readPosition = startPosition & mask
        self.recentresWhenEmpty = false
    }

    deinit {
        storage.deallocate()
    }

    private static func roundedCapacity(_ requested: Int) -> Int {
        precondition(requested >= 0 && requested <= 1 << 40, "ring capacity out of range: \(requested)")
        var c = 64
        while c < requested { c <<= 1 }
        return c
    }

    public var readableBytes: Int { count }

    public var writableBytes: Int { capacity - count }

    /// Largest contiguous free region at the write cursor, for libuv's alloc callback. Shorter than
    /// writableBytes when free space wraps the seam; empty when full.
    public func writableRegion() -> UnsafeMutableRawBufferPointer {
        let free = capacity - count
        let writePosition = (readPosition + count) & mask
        let length = min(free, capacity - writePosition)
        return UnsafeMutableRawBufferPointer(start: storage + writePosition, count: length)
    }

    /// Marks `written` bytes, put into the region last returned by `writableRegion()`, as readable.
    public func didWrite(_ written: Int) {
        precondition(written >= 0 && written <= capacity - count, "didWrite(\(written)) beyond free space")
        count += written
        if count > peakReadable { peakReadable = count }
    }

    /// The byte `offset` bytes past the read cursor.
    @inline(__always)
    public func byte(at offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < count, "byte(at: \(offset)) beyond \(count) readable bytes")
        return storage.load(fromByteOffset: (readPosition + offset) & mask, as: UInt8.self)
    }

    /// The first four readable bytes as a big-endian number (a frame prefix): one load when they do
    /// not cross the seam, else byte by byte.
    @inline(__always)   // once per frame, from the decoder
    public func bigEndianWordAtReadCursor() -> UInt32 {
        precondition(count >= 4, "bigEndianWordAtReadCursor() beyond \(count) readable bytes")
        if readPosition &+ 4 <= capacity {
            return UInt32(bigEndian: UnsafeRawPointer(storage).loadUnaligned(fromByteOffset: readPosition, as: UInt32.self))
        }
        return UInt32(byte(at: 0)) << 24 | UInt32(byte(at: 1)) << 16 | UInt32(byte(at: 2)) << 8 | UInt32(byte(at: 3))
    }

    /// [offset, offset+count) from the read cursor when it does not cross the seam; nil when it does.
    /// Inlined (once per frame): the caller has just checked the same bounds, so the check folds.
    @inline(__always)
    public func contiguousBytes(at offset: Int, count length: Int) -> UnsafeMutableRawBufferPointer? {
        precondition(offset >= 0 && length >= 0 && offset + length <= count,
                     "contiguousBytes(at: \(offset), count: \(length)) beyond \(count) readable bytes")
        let start = (readPosition + offset) & mask
        guard start + length <= capacity else { return nil }
        return UnsafeMutableRawBufferPointer(start: storage + start, count: length)
    }

    /// Copies [offset, offset+count) from the read cursor, across the seam if need be.
    public func copyBytes(at offset: Int, count length: Int, into destination: UnsafeMutableRawPointer) {
        precondition(offset >= 0 && length >= 0 && offset + length <= count,
                     "copyBytes(at: \(offset), count: \(length)) beyond \(count) readable bytes")
        let start = (readPosition + offset) & mask
        let first = min(length, capacity - start)
        destination.copyMemory(from: storage + start, byteCount: first)
        if first < length {
            (destination + first).copyMemory(from: storage, byteCount: length - first)
        }
    }

    /// Drops `consumed` bytes at the read cursor.
    @inline(__always)   // once per frame, from the decoder
    public func consume(_ consumed: Int) {
        precondition(consumed >= 0 && consumed <= count, "consume(\(consumed)) beyond \(count) readable bytes")
        count -= consumed
        if count == 0 && recentresWhenEmpty {
            readPosition = 0
        } else {
            readPosition = (readPosition + consumed) & mask
        }
    }

    /// Grows (power of two) keeping the readable bytes; for a frame larger than the ring.
    /// The readable bytes move to position 0, so they are contiguous afterwards. Invalidates every
    /// pointer handed out before. Does nothing when the capacity already suffices.
    public func reserveCapacity(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        reallocate(capacity: RingBuffer.roundedCapacity(minimumCapacity))
    }

    /// For a frame of `frameBytes` (header included) that has not fully arrived: when the ring is
    /// full, doubles it (up to the frame's size rounded to a power of two), so the reservation grows
    /// with the bytes received (at most twice them), not with the length a client declares.
    /// Afterwards the ring has room unless the frame fits — the decoders' `.needMore` promise.
    @inline(__always)
    public func growIfFull(forFrameOf frameBytes: Int) {
        guard count == capacity && frameBytes > capacity else { return }
        reserveCapacity(min(frameBytes, capacity * 2))
    }

    /// Called by a decoder each time it has taken every complete frame and waits for more bytes.
    /// Gives a grown ring back (shrinks to `initialCapacity`) when it holds at most half of that:
    /// at once if it is over `retainedGrowthFactor` times the initial capacity (a large frame has
    /// gone; receiving it cost far more than this allocation), else after `calmDrainsBeforeShrink`
    /// drains in a row that did not need the extra capacity. Invalidates pointers when it shrinks.
    @inline(__always)
    public func shrinkIfIdle() {
        guard capacity > initialCapacity else { return }
        let usedExtraCapacity = peakReadable > initialCapacity
        peakReadable = count
        guard count <= initialCapacity / 2 else {
            calmDrains = 0
            return
        }
        if capacity > initialCapacity * RingBuffer.retainedGrowthFactor {
            shrink(toCapacity: initialCapacity)
            return
        }
        calmDrains = usedExtraCapacity ? 0 : calmDrains + 1
        if calmDrains >= RingBuffer.calmDrainsBeforeShrink { shrink(toCapacity: initialCapacity) }
    }

    /// Shrinks back to `targetCapacity` (rounded as in `init`) once a large frame has gone, if the
    /// readable bytes fit; otherwise does nothing. Invalidates every pointer handed out before.
    public func shrink(toCapacity targetCapacity: Int) {
        let newCapacity = RingBuffer.roundedCapacity(targetCapacity)
        guard newCapacity < capacity && count <= newCapacity else { return }
        reallocate(capacity: newCapacity)
        calmDrains = 0
        peakReadable = count
    }

    /// Moves the readable bytes to the start of fresh storage of `newCapacity` (a power of two
    /// that holds them) and frees the old storage: the one place that grows or shrinks the ring.
    private func reallocate(capacity newCapacity: Int) {
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        copyBytes(at: 0, count: count, into: newStorage)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
        mask = newCapacity - 1
        readPosition = 0
    }
}
