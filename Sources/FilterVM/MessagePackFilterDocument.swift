// MessagePackFilterDocument: FilterDocument over the raw bytes of a MessagePack kwargs map, so
// filters run unchanged on wamp.2.msgpack publications. Like JSONFilterDocument nothing is decoded up
// front: member lookup compares keys in place and skips unread values with a counter of values still
// to read (no stack). FilterVM stands alone, so the little MessagePack reading it needs lives here.
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

/// A kwargs map in MessagePack. An empty buffer means no kwargs (every path is missing).
public struct MessagePackFilterDocument: FilterDocument {
    @usableFromInline let bytes: UnsafeRawBufferPointer

    @inlinable public init(_ kwargs: UnsafeRawBufferPointer) {
        // Positions are Int32 offsets; a payload beyond that is treated as having no kwargs.
        self.bytes = kwargs.count < Int(Int32.max) ? kwargs : UnsafeRawBufferPointer(start: nil, count: 0)
    }

    // MARK: - Reading headers

    /// The header at `i`: what it maps to, where its data starts, and its length (payload bytes
    /// for scalars/str/bin, elements for arrays, pairs for maps). nil when it does not fit.
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
        var v: UInt64 = 0
        for k in 0..<count { v = v << 8 | UInt64(bytes[at + k]) }
        return v
    }

    func header(_ i: Int) -> Header? {
        guard i >= 0, i < bytes.count else { return nil }
        let b = bytes[i]
        switch b {
        case 0x00...0x7F, 0xE0...0xFF: return Header(kind: .number, dataStart: i + 1, length: 0)
        case 0x80...0x8F: return Header(kind: .map, dataStart: i + 1, length: Int(b & 0x0F))
        case 0x90...0x9F: return Header(kind: .list, dataStart: i + 1, length: Int(b & 0x0F))
        case 0xA0...0xBF: return Header(kind: .string, dataStart: i + 1, length: Int(b & 0x1F))
        case 0xC2, 0xC3: return Header(kind: .bool, dataStart: i + 1, length: 0)
        case 0xCA, 0xCE, 0xD2: return Header(kind: .number, dataStart: i + 1, length: 4)
        case 0xCB, 0xCF, 0xD3: return Header(kind: .number, dataStart: i + 1, length: 8)
        case 0xCC, 0xD0: return Header(kind: .number, dataStart: i + 1, length: 1)
        case 0xCD, 0xD1: return Header(kind: .number, dataStart: i + 1, length: 2)
        case 0xC4, 0xD9:
            guard let n = bigEndian(i + 1, 1) else { return nil }
            return Header(kind: .string, isBinary: b == 0xC4, dataStart: i + 2, length: Int(n))
        case 0xC5, 0xDA, 0xDC, 0xDE:
            guard let n = bigEndian(i + 1, 2) else { return nil }
            let kind: FilterKind = b == 0xDC ? .list : b == 0xDE ? .map : .string
            return Header(kind: kind, isBinary: b == 0xC5, dataStart: i + 3, length: Int(n))
        case 0xC6, 0xDB, 0xDD, 0xDF:
            guard let n = bigEndian(i + 1, 4) else { return nil }
            let kind: FilterKind = b == 0xDD ? .list : b == 0xDF ? .map : .string
            return Header(kind: kind, isBinary: b == 0xC6, dataStart: i + 5, length: Int(n))
        case 0xD4: return Header(kind: .null, dataStart: i + 2, length: 1)  // fixext: type byte + data
        case 0xD5: return Header(kind: .null, dataStart: i + 2, length: 2)
        case 0xD6: return Header(kind: .null, dataStart: i + 2, length: 4)
        case 0xD7: return Header(kind: .null, dataStart: i + 2, length: 8)
        case 0xD8: return Header(kind: .null, dataStart: i + 2, length: 16)
        case 0xC7, 0xC8, 0xC9:  // ext: length, type byte, data
            let width = b == 0xC7 ? 1 : b == 0xC8 ? 2 : 4
            guard let n = bigEndian(i + 1, width) else { return nil }
            return Header(kind: .null, dataStart: i + 2 + width, length: Int(n))
        default: return Header(kind: .null, dataStart: i + 1, length: 0)  // nil, 0xC1
        }
    }

    /// Offset just past the value at `start` (bytes.count when it runs off the end).
    func skip(_ start: Int) -> Int {
        var i = start
        var pending = 1
        let n = bytes.count
        while pending > 0 {
            guard let h = header(i) else { return n }
            pending -= 1
            switch h.kind {
            case .list:
                pending &+= h.length
                i = h.dataStart
            case .map:
                pending &+= 2 &* h.length
                i = h.dataStart
            default:
                i = h.dataStart &+ h.length
            }
            if i > n || pending > n - i { return n }
        }
        return i
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
        case 0: symbol = Self.symbol(group >> 18)
        case 1: symbol = Self.symbol(group >> 12)
        case 2: symbol = left > 1 ? Self.symbol(group >> 6) : UInt8(ascii: "=")
        default: symbol = left > 2 ? Self.symbol(group) : UInt8(ascii: "=")
        }
        phase += 1
        if phase == 4 {
            phase = 0
            index += min(3, left)
        }
        return symbol
    }

    @inline(__always) static func symbol(_ six: UInt32) -> UInt8 {
        let v = UInt8(six & 63)
        switch v {
        case 0..<26: return UInt8(ascii: "A") + v
        case 26..<52: return UInt8(ascii: "a") + (v - 26)
        case 52..<62: return UInt8(ascii: "0") + (v - 52)
        case 62: return UInt8(ascii: "+")
        default: return UInt8(ascii: "/")
        }
    }
}

/// MessagePack numbers as DynamoDB N values, through the same decimal text the JSON form carries
/// (digits of an integer; the shortest round-trip text of a double), parsed by FilterNumber's own
/// scanner. The text is built in stack storage: no allocation.
enum MessagePackNumberText {
    /// A stack sink for `Double.write(to:)`, which hands its ASCII to `_writeASCII` without building
    /// a String (Double.description would allocate beyond 15 bytes).
    struct Sink: TextOutputStream {
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0

        mutating func write(_ string: String) {
            for b in string.utf8 { append(b) }
        }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
            for b in buffer { append(b) }
        }

        @inline(__always) mutating func append(_ b: UInt8) {
            guard count < 32 else { return }
            withUnsafeMutableBytes(of: &storage) { $0[count] = b }
            count += 1
        }

        func parse() -> FilterNumber? {
            withUnsafeBytes(of: storage) { raw in
                FilterNumber(utf8: UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            }
        }
    }

    static func number(double v: Double) -> FilterNumber? {
        guard v.isFinite else { return nil }
        var sink = Sink()
        v.write(to: &sink)
        return sink.parse()
    }

    static func number(unsigned v: UInt64) -> FilterNumber? {
        if v <= UInt64(Int.max) { return FilterNumber(Int(v)) }
        var sink = Sink()
        var digits = 0
        var t = v
        while t > 0 {
            digits += 1
            t /= 10
        }
        sink.count = digits
        var rest = v
        withUnsafeMutableBytes(of: &sink.storage) { raw in
            for k in stride(from: digits - 1, through: 0, by: -1) {
                raw[k] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
        return sink.parse()
    }
}

extension FilterProgram {
    /// The MessagePack case, specialised inside this module (like the JSON one) so callers in other
    /// modules get the fast path without relying on cross-module specialisation.
    public func evaluate(_ document: MessagePackFilterDocument) -> Bool {
        execute(document)
    }
}
