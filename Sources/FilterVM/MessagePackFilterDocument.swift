// MessagePackFilterDocument: FilterDocument over the raw bytes of a MessagePack kwargs map, so
// filters run unchanged on wamp.2.msgpack publications. Like JSONFilterDocument nothing is decoded up
// front: member lookup compares keys in place and skips unread values with a counter of values still
// to read (no stack). Headers, skipping, base64 and the shortest double text come from WireCodec
// (FilterVM imports nothing of the broker).
// The broker hands over validated bytes; malformed bytes still never crash or loop (every read is
// bounds-checked and every step advances), they just give unspecified matches.
//
// Values read the way the broker's JSON form of the same payload reads (see the transcoder rules in
// BrokerSerialization/PayloadTranscoder.swift), so a filter gives the same verdict whichever format
// the publisher used:
//   - every int width → its exact integer; float 32 (widened) / float 64 → the number whose decimal
//     text is the double's shortest round-trip form (0.1 is 0.1); NaN/±infinity are no DynamoDB N;
//   - bin → a string: U+0000 followed by the base64 of the bytes (the WAMP JSON form of binary);
//   - ext (never accepted by the broker) → null. Duplicate keys: the first occurrence wins, as in
//     JSONFilterDocument.
//
// Positions: for a map member, `offset` is the byte offset of its KEY (the value follows the key
// string, found in O(1)) and `aux` ≥ 0 counts the members after it; for a list element or a lone
// value, `offset` is the value's offset and `aux` = -1 - (elements after it).

import WireCodec

/// A kwargs map in MessagePack. An empty buffer means no kwargs (every path is missing).
public struct MessagePackFilterDocument: FilterDocument {
    @usableFromInline let bytes: UnsafeRawBufferPointer

    @inlinable public init(_ kwargs: UnsafeRawBufferPointer) {
        // Positions are Int32 offsets; a payload beyond that is treated as having no kwargs.
        self.bytes = kwargs.count < Int(Int32.max) ? kwargs : UnsafeRawBufferPointer(start: nil, count: 0)
    }

    // MARK: - Reading headers

    /// The header at `i` as FilterVM sees it: what it maps to, where its data starts, and its
    /// length (payload bytes for scalars/str/bin/ext, elements for arrays, pairs for maps). nil when
    /// it does not fit.
    @usableFromInline
    struct Header {
        var kind: FilterKind
        var isBinary = false
        var dataStart: Int
        var length: Int
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0xC1 }

    @inline(__always) func bigEndian(_ at: Int, _ count: Int) -> UInt64? {
        guard at >= 0, count <= bytes.count - at else { return nil }
        switch count {
        case 1: return UInt64(bytes[at])
        case 2: return UInt64(MessagePackReader.loadBE16(bytes, at))
        case 4: return UInt64(MessagePackReader.loadBE32(bytes, at))
        default: return MessagePackReader.loadBE64(bytes, at)
        }
    }

    func header(_ i: Int) -> Header? {
        guard let h = MessagePackReader.header(bytes, i, bytes.count) else { return nil }
        let kind: FilterKind
        switch h.family {
        case .integer, .float: kind = .number
        case .map: kind = .map
        case .array: kind = .list
        case .string, .binary: kind = .string
        case .false, .true: kind = .bool
        case .null, .ext, .neverUsed: kind = .null  // ext is never accepted by the broker
        }
        return Header(kind: kind, isBinary: h.family == .binary, dataStart: h.dataStart, length: h.length)
    }

    /// Offset just past the value at `start` (bytes.count when it runs off the end).
    func skip(_ start: Int) -> Int {
        MessagePackReader.skip(bytes, start, bytes.count)
    }

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
        byte(valueOffset(position)) == 0xC3
    }

    public func number(at position: FilterPosition) -> FilterNumber? {
        let i = valueOffset(position)
        let b = byte(i)
        switch b {
        case 0x00...0x7F: return FilterNumber(Int(b))
        case 0xE0...0xFF: return FilterNumber(Int(Int8(bitPattern: b)))
        case 0xCC...0xCF:
            guard let v = bigEndian(i + 1, 1 << Int(b - 0xCC)) else { return nil }
            return MessagePackNumberText.number(unsigned: v)
        case 0xD0...0xD3:
            let width = 1 << Int(b - 0xD0)
            guard let raw = bigEndian(i + 1, width) else { return nil }
            let shift = UInt64(64 - 8 * width)
            return FilterNumber(Int(Int64(bitPattern: raw << shift) >> shift))  // sign-extend
        case 0xCA:
            guard let raw = bigEndian(i + 1, 4) else { return nil }
            return MessagePackNumberText.number(double: Double(Float(bitPattern: UInt32(raw))))
        case 0xCB:
            guard let raw = bigEndian(i + 1, 8) else { return nil }
            return MessagePackNumberText.number(double: Double(bitPattern: raw))
        default: return nil
        }
    }

    public func stringBytes(at position: FilterPosition) -> MessagePackStringBytes {
        stringAt(valueOffset(position))
    }

    public func keyBytes(of member: FilterPosition) -> MessagePackStringBytes {
        guard member.aux >= 0 else { return MessagePackStringBytes(bytes: bytes, start: 0, end: 0, binary: false) }
        return stringAt(Int(member.offset))
    }

    @inline(__always) func stringAt(_ i: Int) -> MessagePackStringBytes {
        guard let h = header(i), h.kind == .string else {
            return MessagePackStringBytes(bytes: bytes, start: 0, end: 0, binary: false)
        }
        return MessagePackStringBytes(bytes: bytes, start: h.dataStart, end: min(h.dataStart + h.length, bytes.count),
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
        var child = firstChild(of: list)
        var remaining = index
        while let current = child, remaining > 0 {
            child = nextChild(after: current)
            remaining -= 1
        }
        return child
    }

    public func childCount(of container: FilterPosition) -> Int {
        guard let h = header(valueOffset(container)), h.kind == .map || h.kind == .list else { return 0 }
        return h.length
    }
}

/// The UTF-8 bytes of a str, or for a bin the WAMP JSON text of it: U+0000 then standard base64
/// (with '=' padding), generated on the fly.
public struct MessagePackStringBytes: IteratorProtocol {
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

/// MessagePack numbers as DynamoDB N values, through the same decimal text the JSON form carries
/// (digits of an integer; the shortest round-trip text of a double), parsed by FilterNumber's own
/// scanner. The text is built in stack storage: no allocation.
enum MessagePackNumberText {
    static func number(double v: Double) -> FilterNumber? {
        guard v.isFinite else { return nil }
        return ShortestDouble.withText(v) { FilterNumber(utf8: $0) }
    }

    static func number(unsigned v: UInt64) -> FilterNumber? {
        if v <= UInt64(Int.max) { return FilterNumber(Int(v)) }
        // Beyond Int: the decimal digits (at most 20), written into stack storage.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { raw in
            var count = 0
            var rest = v
            repeat {
                count += 1
                rest /= 10
            } while rest > 0
            rest = v
            for k in stride(from: count - 1, through: 0, by: -1) {
                raw[k] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            return FilterNumber(utf8: UnsafeRawBufferPointer(rebasing: raw[0..<count]))
        }
    }
}

extension FilterProgram {
    /// The MessagePack case, specialised inside this module (like the JSON one) so callers in other
    /// modules get the fast path without relying on cross-module specialisation.
    public func evaluate(_ document: MessagePackFilterDocument) -> Bool {
        execute(document)
    }
}
