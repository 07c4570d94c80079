// CountedItems: what MessagePackReader and CBORReader share — one header type saying where an item's
// data starts and how long it is, and skipping whole items over it. Both formats put the element
// count in front of a container, so skipping needs no stack: an item is done when the count of
// items still to read drops to zero. Every read stays inside the given limit, so unvalidated bytes
// cannot make it read out of bounds or loop forever; they can only give meaningless offsets.

/// A format's type families (MessagePackFamily, CBORFamily). Both have `array` and `map` cases,
/// whose `length` counts elements and pairs.
public protocol ItemFamily: Equatable, Sendable {
    static var array: Self { get }
    static var map: Self { get }
    /// What validated bytes never hold where skipping looks (CBOR tags, indefinite lengths, break
    /// codes, reserved bytes): skipping gives up there.
    var stopsSkip: Bool { get }
}

/// One decoded type header (MessagePackHeader, CBORHeader).
public struct ItemHeader<Family: ItemFamily>: Sendable {
    public var family: Family
    /// Offset of the first byte after the header (the payload, or the first child).
    public var dataStart: Int
    /// Payload bytes for scalars, strings and binary (ext included); elements for arrays; pairs
    /// for maps; 0 for what has none. CBOR clamps it to Int.max (no buffer is that long).
    public var length: Int
    /// CBOR: the raw argument (integer value, tag number, declared length, simple value);
    /// MessagePack: 0 (its integers are read from the payload).
    public var argument: UInt64

    @inlinable @inline(__always)
    public init(_ family: Family, _ dataStart: Int, _ length: Int, _ argument: UInt64 = 0) {
        self.family = family
        self.dataStart = dataStart
        self.length = length
        self.argument = argument
    }

    /// Offset just past a scalar or string (not meaningful for containers).
    @inlinable public var scalarEnd: Int { dataStart &+ length }
}

/// A format's header reader; `skip` comes with it.
public protocol CountedItemReader {
    associatedtype Family: ItemFamily
    /// The header at `i`, or nil when the header itself does not fit before `limit`. Declared
    /// lengths are not checked against `limit` (callers name them in errors).
    static func header(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int) -> ItemHeader<Family>?
}

extension CountedItemReader {
    /// Offset just past the item at `start` (`limit` when it runs past the limit, or meets a family
    /// that `stopsSkip`).
    @inlinable
    public static func skip(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> Int {
        var i = start
        var pending = 1
        while pending > 0 {
            guard let h = header(buffer, i, limit) else { return limit }
            pending -= 1
            if h.family == .array || h.family == .map {
                guard h.length <= limit else { return limit }
                pending &+= h.family == .map ? 2 &* h.length : h.length
                i = h.dataStart
            } else if h.family.stopsSkip {
                return limit
            } else {
                i = h.scalarEnd
            }
            // Past the limit, or a count no buffer could hold: unvalidated bytes, stop.
            if i > limit || i < 0 || pending > limit - i { return limit }
        }
        return i
    }
}
