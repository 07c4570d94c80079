// BinaryFilterDocument: FilterDocument over the raw bytes of a MessagePack or CBOR kwargs map, so
// filters run unchanged on wamp.2.msgpack and wamp.2.cbor publications. The walk is shared; a
// BinaryFilterCodec (MessagePackFilterDocument.swift, CBORFilterDocument.swift) reads one header,
// skips one value and reads bools and numbers. Like JSONFilterDocument nothing is decoded up front:
// member lookup compares keys in place and skips unread values with a counter of values still to
// read (no stack). Headers, skipping, base64 and the shortest double text come from WireCodec
// (FilterVM imports nothing of the broker).
// The broker hands over validated bytes; malformed bytes still never crash or loop (every read is
// bounds-checked and every step advances), they just give unspecified matches.
//
// Values read the way the broker's JSON form of the same payload reads (see the transcoder rules in
// BrokerSerialization/PayloadTranscoder.swift), so a filter gives the same verdict whichever format
// the publisher used:
//   - every int width → its exact integer; floats (widened) → the number whose decimal text is the
//     double's shortest round-trip form (0.1 is 0.1); NaN/±infinity are no DynamoDB N;
//   - bin / byte string → a string: U+0000 followed by the base64 of the bytes (the WAMP JSON form
//     of binary);
//   - what the broker never accepts (ext, tags, undefined…) → null. Duplicate keys: the first
//     occurrence wins, as in JSONFilterDocument.
//
// Positions: for a map member, `offset` is the byte offset of its KEY (the value follows the key
// string, found in O(1)) and `aux` ≥ 0 counts the members after it; for a list element or a lone
// value, `offset` is the value's offset and `aux` = -1 - (elements after it).

import WireCodec

/// One value's header as FilterVM sees it: what it maps to, where its data starts, and its length
/// (payload bytes for scalars/strings/binary, elements for arrays, pairs for maps).
public struct BinaryFilterHeader {
    public var kind: FilterKind
    public var isBinary = false
    public var dataStart: Int
    public var length: Int

    @inlinable public init(kind: FilterKind, isBinary: Bool = false, dataStart: Int, length: Int) {
        self.kind = kind
        self.isBinary = isBinary
        self.dataStart = dataStart
        self.length = length
    }
}

/// The format-specific reads of a BinaryFilterDocument: which header reader (WireCodec), what a
/// header maps to, and how numbers read; headers, skipping and `true` follow from those.
public protocol BinaryFilterCodec {
    associatedtype Reader: CountedItemReader
    /// The one byte that encodes `true`.
    static var trueByte: UInt8 { get }
    /// What FilterVM reads a header as, and whether it is binary (read as U+0000 + base64 text).
    static func kind(of header: ItemHeader<Reader.Family>) -> (kind: FilterKind, isBinary: Bool)
    /// The number at `i` as a DynamoDB N; nil when it is none (or not a number).
    static func number(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> FilterNumber?
}

extension BinaryFilterCodec {
    /// The header at `i`; nil when it does not fit in `bytes`.
    @inlinable @inline(__always)
    public static func header(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> BinaryFilterHeader? {
        guard let h = Reader.header(bytes, i, bytes.count) else { return nil }
        let (kind, isBinary) = kind(of: h)
        return BinaryFilterHeader(kind: kind, isBinary: isBinary, dataStart: h.dataStart, length: h.length)
    }

    /// Offset just past the value at `start` (bytes.count when it runs off the end).
    @inlinable @inline(__always)
    public static func skip(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        Reader.skip(bytes, start, bytes.count)
    }

    /// Whether the value at `i` is true.
    @inlinable @inline(__always)
    public static func isTrue(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> Bool {
        i >= 0 && i < bytes.count && bytes[i] == trueByte
    }
}

/// A kwargs map in a binary format. An empty buffer means no kwargs (every path is missing).
public struct BinaryFilterDocument<Codec: BinaryFilterCodec>: FilterDocument {
    @usableFromInline let bytes: UnsafeRawBufferPointer

    @inlinable public init(_ kwargs: UnsafeRawBufferPointer) {
        // Positions are Int32 offsets; a payload beyond that is treated as having no kwargs.
        self.bytes = kwargs.count < Int(Int32.max) ? kwargs : UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// The codec's header with its length clamped to the document's size (no valid count or length
    /// exceeds it), so positions and counts always fit in Int32 whatever the bytes declare.
    @inline(__always) func header(_ i: Int) -> BinaryFilterHeader? {
        guard var h = Codec.header(bytes, i) else { return nil }
        h.length = min(h.length, bytes.count)
        return h
    }

    /// Offset just past the value at `start` (bytes.count when it runs off the end).
    @inline(__always) func skip(_ start: Int) -> Int { Codec.skip(bytes, start) }

    /// The value's offset for a position (after the key, for map members).
    @inline(__always) func valueOffset(_ p: FilterPosition) -> Int {
        let offset = Int(p.offset)
        guard p.aux >= 0, let key = header(offset) else { return offset }
        return key.dataStart + key.length
    }

    // MARK: - FilterDocument

    public var root: FilterPosition? {
        guard let h = header(0), h.kind == .map else { return nil }
        return FilterPosition(offset: 0, aux: -1)
    }

    public func kind(at position: FilterPosition) -> FilterKind {
        header(valueOffset(position))?.kind ?? .null
    }

    public func bool(at position: FilterPosition) -> Bool {
        Codec.isTrue(bytes, valueOffset(position))
    }

    public func number(at position: FilterPosition) -> FilterNumber? {
        Codec.number(bytes, valueOffset(position))
    }

    public func stringBytes(at position: FilterPosition) -> BinaryStringBytes {
        stringAt(valueOffset(position))
    }

    public func keyBytes(of member: FilterPosition) -> BinaryStringBytes {
        guard member.aux >= 0 else { return BinaryStringBytes(bytes: bytes, start: 0, end: 0, binary: false) }
        return stringAt(Int(member.offset))
    }

    @inline(__always) func stringAt(_ i: Int) -> BinaryStringBytes {
        guard let h = header(i), h.kind == .string else {
            return BinaryStringBytes(bytes: bytes, start: 0, end: 0, binary: false)
        }
        return BinaryStringBytes(bytes: bytes, start: h.dataStart, end: min(h.dataStart + h.length, bytes.count),
                                      binary: h.isBinary)
    }

    /// Whether the str whose header is at `i` equals `key` (binary keys never do).
    @inline(__always) func keyMatches(_ i: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        guard let h = header(i), h.kind == .string, !h.isBinary, h.length == key.count,
              h.dataStart + h.length <= bytes.count else { return false }
        var k = 0
        while k < key.count {
            if bytes[h.dataStart + k] != key[k] { return false }
            k += 1
        }
        return true
    }

    public func member(of map: FilterPosition, key: UnsafeRawBufferPointer, hash: UInt64) -> FilterPosition? {
        guard let h = header(valueOffset(map)), h.kind == .map else { return nil }
        var i = h.dataStart
        var remaining = h.length
        while remaining > 0 && i < bytes.count {
            remaining -= 1
            if keyMatches(i, key) { return FilterPosition(offset: Int32(i), aux: Int32(remaining)) }
            i = skip(skip(i))
        }
        return nil
    }

    public func firstChild(of container: FilterPosition) -> FilterPosition? {
        guard let h = header(valueOffset(container)), h.length > 0, h.dataStart < bytes.count else { return nil }
        switch h.kind {
        case .map: return FilterPosition(offset: Int32(h.dataStart), aux: Int32(h.length - 1))
        case .list: return FilterPosition(offset: Int32(h.dataStart), aux: Int32(-1 - (h.length - 1)))
        default: return nil
        }
    }

    public func nextChild(after child: FilterPosition) -> FilterPosition? {
        if child.aux >= 0 {  // a map member: skip its key and value
            guard child.aux > 0 else { return nil }
            let next = skip(skip(Int(child.offset)))
            guard next < bytes.count else { return nil }
            return FilterPosition(offset: Int32(next), aux: child.aux - 1)
        }
        let after = -1 - Int(child.aux)  // elements after this one
        guard after > 0 else { return nil }
        let next = skip(Int(child.offset))
        guard next < bytes.count else { return nil }
        return FilterPosition(offset: Int32(next), aux: Int32(-1 - (after - 1)))
    }

    public func element(_ index: Int, of list: FilterPosition) -> FilterPosition? {
        guard let h = header(valueOffset(list)), h.kind == .list, index >= 0, index < h.length else { return nil }
        return child(index, of: list)
    }

    public func childCount(of container: FilterPosition) -> Int {
        guard let h = header(valueOffset(container)), h.kind == .map || h.kind == .list else { return 0 }
        return h.length
    }
}

/// The UTF-8 bytes of a string, or for binary the WAMP JSON text of it: U+0000 then standard base64
/// (with '=' padding), generated on the fly.
public struct BinaryStringBytes: IteratorProtocol {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var index: Int
    @usableFromInline let end: Int
    @usableFromInline let binary: Bool
    /// Binary only: -1 before the U+0000 prefix, then the symbol (0...3) within the current group.
    @usableFromInline var phase: Int

    @usableFromInline init(bytes: UnsafeRawBufferPointer, start: Int, end: Int, binary: Bool) {
        self.bytes = bytes
        self.index = start
        self.end = end
        self.binary = binary
        self.phase = -1
    }

    @inline(__always)
    public mutating func next() -> UInt8? {
        if !binary {
            guard index < end else { return nil }
            index += 1
            return bytes[index - 1]
        }
        return nextBase64()
    }

    @usableFromInline mutating func nextBase64() -> UInt8? {
        if phase == -1 {
            phase = 0
            return 0
        }
        let left = end - index
        guard left > 0 else { return nil }
        let b0 = UInt32(bytes[index])
        let b1 = left > 1 ? UInt32(bytes[index + 1]) : 0
        let b2 = left > 2 ? UInt32(bytes[index + 2]) : 0
        let group = b0 << 16 | b1 << 8 | b2
        let symbol: UInt8
        switch phase {
        case 0: symbol = Base64.symbol(group >> 18)
        case 1: symbol = Base64.symbol(group >> 12)
        case 2: symbol = left > 1 ? Base64.symbol(group >> 6) : UInt8(ascii: "=")
        default: symbol = left > 2 ? Base64.symbol(group) : UInt8(ascii: "=")
        }
        phase += 1
        if phase == 4 {
            phase = 0
            index += min(3, left)
        }
        return symbol
    }
}

