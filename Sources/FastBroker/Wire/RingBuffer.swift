// The receive ring of one connection: libuv reads straight into its free space, and the framing
// decoders parse frames in place, returning pointers into it (zero-copy). Bytes between the read
// cursor and the write cursor are readable; the storage wraps at a power-of-two seam.

/// Receive ring of one connection; owned by that connection's loop thread. Capacity is a power of two.
///
/// No call allocates except `init` and `reserveCapacity`. Pointers handed out (`writableRegion`,
/// `contiguousBytes`) stay valid until the next `reserveCapacity`.
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

    public init(capacity: Int) {
        let rounded = RingBuffer.roundedCapacity(capacity)
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 16)
        self.capacity = rounded
        self.mask = rounded - 1
        self.readPosition = 0
        self.count = 0
        self.recentresWhenEmpty = true
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
    }

    /// The byte `offset` bytes past the read cursor.
    @inline(__always)
    public func byte(at offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < count, "byte(at: \(offset)) beyond \(count) readable bytes")
        return storage.load(fromByteOffset: (readPosition + offset) & mask, as: UInt8.self)
    }

    /// [offset, offset+count) from the read cursor when it does not cross the seam; nil when it does.
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
        let newCapacity = RingBuffer.roundedCapacity(minimumCapacity)
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        copyBytes(at: 0, count: count, into: newStorage)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
        mask = newCapacity - 1
        readPosition = 0
    }

    /// Shrinks back to `targetCapacity` (rounded as in `init`) once a large frame has gone, if the
    /// readable bytes fit; otherwise does nothing. Invalidates every pointer handed out before.
    public func shrink(toCapacity targetCapacity: Int) {
        let newCapacity = RingBuffer.roundedCapacity(targetCapacity)
        guard newCapacity < capacity && count <= newCapacity else { return }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        copyBytes(at: 0, count: count, into: newStorage)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
        mask = newCapacity - 1
        readPosition = 0
    }
}
