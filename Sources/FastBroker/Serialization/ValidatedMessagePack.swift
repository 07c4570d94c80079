// ValidatedMessagePack: reading MessagePack bytes that the scanner has already validated — type
// headers, skipping values, integers, floats and string payloads. The views use it to walk maps and
// arrays on demand instead of storing their layout (which would allocate). Skipping needs no stack:
// a value is done when the count of values still to read drops to zero. Every read stays inside the
// given limit, so even unvalidated bytes cannot make it read out of bounds or loop forever; they can
// only produce meaningless spans.

/// The decoded type header of one MessagePack value.
@usableFromInline
struct MessagePackHeader {
    /// The kind the type maps to; nil for ext/fixext and the never-used byte 0xC1.
    var kind: JSONKind?
    /// Offset of the first byte after the header (the payload, or the first child).
    var dataStart: Int
    /// Payload bytes for scalars, str and bin; element count for arrays; pair count for maps.
    var length: Int

    /// Offset just past a scalar, str or bin (not meaningful for containers).
    var scalarEnd: Int { dataStart + length }
}

@usableFromInline
enum ValidatedMessagePack {
    @inline(__always)
    static func loadBE16(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }

    @inline(__always)
    static func loadBE32(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    @inline(__always)
    static func loadBE64(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    /// The header at `i`, or nil when the header itself does not fit before `limit`. Lengths are not
    /// checked against `limit` here (the scanner does that, naming the declared length).
    @inline(__always)
    static func header(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int) -> MessagePackHeader? {
        guard i < limit else { return nil }
        let b = buffer[i]
        switch b {
        case 0x00...0x7F, 0xE0...0xFF: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 0)
        case 0x80...0x8F: return MessagePackHeader(kind: .object, dataStart: i + 1, length: Int(b & 0x0F))
        case 0x90...0x9F: return MessagePackHeader(kind: .array, dataStart: i + 1, length: Int(b & 0x0F))
        case 0xA0...0xBF: return MessagePackHeader(kind: .string, dataStart: i + 1, length: Int(b & 0x1F))
        case 0xC0: return MessagePackHeader(kind: .null, dataStart: i + 1, length: 0)
        case 0xC2: return MessagePackHeader(kind: .false, dataStart: i + 1, length: 0)
        case 0xC3: return MessagePackHeader(kind: .true, dataStart: i + 1, length: 0)
        case 0xCA: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 4)
        case 0xCB: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 8)
        case 0xCC, 0xD0: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 1)
        case 0xCD, 0xD1: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 2)
        case 0xCE, 0xD2: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 4)
        case 0xCF, 0xD3: return MessagePackHeader(kind: .number, dataStart: i + 1, length: 8)
        case 0xC4, 0xD9:  // bin8, str8
            guard limit - i >= 2 else { return nil }
            return MessagePackHeader(kind: b == 0xC4 ? .binary : .string, dataStart: i + 2, length: Int(buffer[i + 1]))
        case 0xC5, 0xDA, 0xDC, 0xDE:  // bin16, str16, array16, map16
            guard limit - i >= 3 else { return nil }
            let kind: JSONKind = b == 0xC5 ? .binary : b == 0xDA ? .string : b == 0xDC ? .array : .object
            return MessagePackHeader(kind: kind, dataStart: i + 3, length: Int(loadBE16(buffer, i + 1)))
        case 0xC6, 0xDB, 0xDD, 0xDF:  // bin32, str32, array32, map32
            guard limit - i >= 5 else { return nil }
            let kind: JSONKind = b == 0xC6 ? .binary : b == 0xDB ? .string : b == 0xDD ? .array : .object
            return MessagePackHeader(kind: kind, dataStart: i + 5, length: Int(loadBE32(buffer, i + 1)))
        default:  // 0xC1 (never used), ext 8/16/32, fixext 1/2/4/8/16
            return MessagePackHeader(kind: nil, dataStart: i + 1, length: 0)
        }
    }

    /// The span of the value starting at `start` (which must be < limit): walks containers with a
    /// counter of values still to read, no recursion.
    static func value(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> JSONSpan {
        guard let h = header(buffer, start, limit), let kind = h.kind else {
            return JSONSpan(start: start, end: limit, kind: .null, format: .msgpack)
        }
        return JSONSpan(start: start, end: skip(buffer, start, limit), kind: kind, format: .msgpack)
    }

    /// Offset just past the value at `i` (limit when it runs past the limit).
    static func skip(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> Int {
        var i = start
        var pending = 1
        while pending > 0 {
            guard let h = header(buffer, i, limit), let kind = h.kind else { return limit }
            pending -= 1
            switch kind {
            case .array:
                pending &+= h.length
                i = h.dataStart
            case .object:
                pending &+= 2 &* h.length
                i = h.dataStart
            default:
                i = h.scalarEnd
            }
            // Past the limit, or a count no buffer could hold: unvalidated bytes, stop.
            if i > limit || pending > limit - i { return limit }
        }
        return i
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
