// ValidatedMessagePack: reading MessagePack bytes that the scanner has already validated — type
// headers and skipping (WireCodec's MessagePackReader, its families mapped to JSON kinds), integers,
// floats and string payloads. The views use it to walk maps and arrays on demand instead of storing
// their layout (which would allocate). Every read stays inside the given limit, so even unvalidated
// bytes cannot make it read out of bounds or loop forever; they can only produce meaningless spans.

import WireCodec

extension MessagePackHeader {
    /// The JSON kind the type maps to; nil for ext/fixext and the never-used byte 0xC1.
    @inlinable @inline(__always)
    var kind: JSONKind? {
        switch family {
        case .null: return .null
        case .false: return .false
        case .true: return .true
        case .integer, .float: return .number
        case .string: return .string
        case .binary: return .binary
        case .array: return .array
        case .map: return .object
        case .ext, .neverUsed: return nil
        }
    }
}

@usableFromInline
enum ValidatedMessagePack {
    @inline(__always)
    static func loadBE16(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt16 { MessagePackReader.loadBE16(buffer, at) }

    @inline(__always)
    static func loadBE32(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt32 { MessagePackReader.loadBE32(buffer, at) }

    @inline(__always)
    static func loadBE64(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt64 { MessagePackReader.loadBE64(buffer, at) }

    /// The header at `i`, or nil when the header itself does not fit before `limit`. Lengths are not
    /// checked against `limit` here (the scanner does that, naming the declared length).
    @inline(__always)
    static func header(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int) -> MessagePackHeader? {
        MessagePackReader.header(buffer, i, limit)
    }

    /// The span of the value starting at `start` (which must be < limit): walks containers with a
    /// counter of values still to read, no recursion.
    static func value(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> JSONSpan {
        guard let h = header(buffer, start, limit), let kind = h.kind else {
            return JSONSpan(start: start, end: limit, kind: .null, format: .msgpack)
        }
        return JSONSpan(start: start, end: MessagePackReader.skip(buffer, start, limit), kind: kind, format: .msgpack)
    }

    /// Offset just past the value at `i` (limit when it runs past the limit).
    @inline(__always)
    static func skip(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> Int {
        MessagePackReader.skip(buffer, start, limit)
    }

    /// Payload bytes of a str or bin span (clamped to the span).
    @inline(__always)
    static func payload(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> UnsafeRawBufferPointer {
        guard let h = header(buffer, span.start, span.end), h.dataStart <= span.end else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let end = min(h.scalarEnd, span.end)
        return UnsafeRawBufferPointer(rebasing: buffer[h.dataStart..<end])
    }

    /// A number span read as an exact integer: `.unsigned` for uint types and non-negative values
    /// of any type, `.signed` for negative ones; nil for floats (and non-numbers).
    enum Integer {
        case unsigned(UInt64)
        case signed(Int64)  // always < 0
    }

    @inline(__always)
    static func integer(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Integer? {
        guard span.kind == .number, span.count >= 1 else { return nil }
        let i = span.start
        let b = buffer[i]
        let width = span.count - 1
        switch b {
        case 0x00...0x7F: return .unsigned(UInt64(b))
        case 0xE0...0xFF: return .signed(Int64(Int8(bitPattern: b)))
        case 0xCC where width >= 1: return .unsigned(UInt64(buffer[i + 1]))
        case 0xCD where width >= 2: return .unsigned(UInt64(loadBE16(buffer, i + 1)))
        case 0xCE where width >= 4: return .unsigned(UInt64(loadBE32(buffer, i + 1)))
        case 0xCF where width >= 8: return .unsigned(loadBE64(buffer, i + 1))
        case 0xD0 where width >= 1: return signed(Int64(Int8(bitPattern: buffer[i + 1])))
        case 0xD1 where width >= 2: return signed(Int64(Int16(bitPattern: loadBE16(buffer, i + 1))))
        case 0xD2 where width >= 4: return signed(Int64(Int32(bitPattern: loadBE32(buffer, i + 1))))
        case 0xD3 where width >= 8: return signed(Int64(bitPattern: loadBE64(buffer, i + 1)))
        default: return nil
        }
    }

    @inline(__always)
    private static func signed(_ v: Int64) -> Integer {
        v < 0 ? .signed(v) : .unsigned(UInt64(v))
    }

    /// A float32 (widened exactly) or float64 span's value; nil for integers and non-numbers.
    @inline(__always)
    static func float(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Double? {
        guard span.kind == .number, span.count >= 1 else { return nil }
        switch buffer[span.start] {
        case 0xCA where span.count >= 5: return Double(Float(bitPattern: loadBE32(buffer, span.start + 1)))
        case 0xCB where span.count >= 9: return Double(bitPattern: loadBE64(buffer, span.start + 1))
        default: return nil
        }
    }

    /// Whether the type byte starts an ext or fixext value (refused in WAMP messages).
    @inline(__always)
    static func isExtension(_ b: UInt8) -> Bool {
        (b >= 0xC7 && b <= 0xC9) || (b >= 0xD4 && b <= 0xD8)
    }

    /// Whether the type byte is a str header (fixstr, str8/16/32).
    @inline(__always)
    static func isStringHeader(_ b: UInt8) -> Bool {
        (b >= 0xA0 && b <= 0xBF) || (b >= 0xD9 && b <= 0xDB)
    }

    /// MessagePack's name for the type starting with `b`, for error messages.
    static func typeName(_ b: UInt8) -> String {
        switch b {
        case 0x00...0x7F: return "positive fixint"
        case 0x80...0x8F: return "fixmap"
        case 0x90...0x9F: return "fixarray"
        case 0xA0...0xBF: return "fixstr"
        case 0xC0: return "nil"
        case 0xC1: return "the never-used byte 0xC1"
        case 0xC2, 0xC3: return "bool"
        case 0xC4: return "bin 8"
        case 0xC5: return "bin 16"
        case 0xC6: return "bin 32"
        case 0xC7: return "ext 8"
        case 0xC8: return "ext 16"
        case 0xC9: return "ext 32"
        case 0xCA: return "float 32"
        case 0xCB: return "float 64"
        case 0xCC: return "uint 8"
        case 0xCD: return "uint 16"
        case 0xCE: return "uint 32"
        case 0xCF: return "uint 64"
        case 0xD0: return "int 8"
        case 0xD1: return "int 16"
        case 0xD2: return "int 32"
        case 0xD3: return "int 64"
        case 0xD4: return "fixext 1"
        case 0xD5: return "fixext 2"
        case 0xD6: return "fixext 4"
        case 0xD7: return "fixext 8"
        case 0xD8: return "fixext 16"
        case 0xD9: return "str 8"
        case 0xDA: return "str 16"
        case 0xDB: return "str 32"
        case 0xDC: return "array 16"
        case 0xDD: return "array 32"
        case 0xDE: return "map 16"
        case 0xDF: return "map 32"
        default: return "negative fixint"
        }
    }
}
