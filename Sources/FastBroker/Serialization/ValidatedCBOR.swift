// ValidatedCBOR: reading CBOR bytes that the scanner has already validated — headers and skipping
// (WireCodec's CBORReader, its families mapped to JSON kinds), integers, floats and string payloads,
// the twin of ValidatedMessagePack. ValidatedBinary picks one of the two by a span's format, so the
// views (JSONObjectView, JSONArrayView, JSONScanner's string and number readers) walk MessagePack
// and CBOR with the same code. Every read stays inside the given limit, so even unvalidated bytes
// cannot make it read out of bounds or loop forever; they can only produce meaningless spans.

import WireCodec

extension CBORHeader {
    /// The JSON kind the item maps to; nil for what the scanner refuses (tags, undefined, other
    /// simple values, indefinite lengths, break, reserved bytes).
    @inlinable @inline(__always)
    var kind: JSONKind? {
        switch family {
        case .unsigned, .negative, .float: return .number
        case .bytes: return .binary
        case .text: return .string
        case .array: return .array
        case .map: return .object
        case .false: return .false
        case .true: return .true
        case .null: return .null
        case .tag, .undefined, .simple, .indefinite, .breakCode, .reserved: return nil
        }
    }
}

@usableFromInline
enum ValidatedCBOR {
    /// The span of the item starting at `start` (which must be < limit).
    static func value(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> JSONSpan {
        guard let h = CBORReader.header(buffer, start, limit), let kind = h.kind else {
            return JSONSpan(start: start, end: limit, kind: .null, format: .cbor)
        }
        return JSONSpan(start: start, end: CBORReader.skip(buffer, start, limit), kind: kind, format: .cbor)
    }

    /// Payload bytes of a text or byte string span (clamped to the span).
    @inline(__always)
    static func payload(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> UnsafeRawBufferPointer {
        guard let h = CBORReader.header(buffer, span.start, span.end), h.dataStart <= span.end else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let end = min(h.scalarEnd, span.end)
        return UnsafeRawBufferPointer(rebasing: buffer[h.dataStart..<end])
    }

    /// An integer span read exactly (`.signed` only for negative values); nil for floats, other
    /// kinds, and negative integers below Int64.min (those read as `float`).
    @inline(__always)
    static func integer(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> ValidatedMessagePack.Integer? {
        guard span.kind == .number, let h = CBORReader.header(buffer, span.start, span.end) else { return nil }
        switch h.family {
        case .unsigned: return .unsigned(h.argument)
        case .negative where h.argument <= UInt64(Int64.max): return .signed(-1 - Int64(h.argument))
        default: return nil
        }
    }

    /// A float span's value (half and single widened exactly), or a negative integer below
    /// Int64.min as the nearest double; nil for other numbers and non-numbers.
    @inline(__always)
    static func float(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Double? {
        guard span.kind == .number, let h = CBORReader.header(buffer, span.start, span.end) else { return nil }
        switch h.family {
        case .float where h.scalarEnd <= span.end: return CBORReader.float(buffer, h.dataStart, width: h.length)
        case .negative where h.argument > UInt64(Int64.max): return -1 - Double(h.argument)
        default: return nil
        }
    }

    static func hex2(_ c: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(c >> 4)], digits[Int(c & 15)]], as: UTF8.self)
    }

    /// CBOR's name for the item starting with `b`, for error messages.
    static func typeName(_ b: UInt8) -> String {
        switch b >> 5 {
        case 0: return "unsigned integer"
        case 1: return "negative integer"
        case 2: return "byte string"
        case 3: return "text string"
        case 4: return "array"
        case 5: return "map"
        case 6: return "tag"
        default:
            switch b {
            case 0xF4, 0xF5: return "bool"
            case 0xF6: return "null"
            case 0xF7: return "undefined"
            case 0xF9: return "half float"
            case 0xFA: return "single float"
            case 0xFB: return "double float"
            case 0xFF: return "break code"
            default: return "simple value"
            }
        }
    }
}

/// MessagePack or CBOR, by the span's format: what the views need to walk either binary format.
@usableFromInline
enum ValidatedBinary {
    /// Kind, first child / payload offset, and count (elements, pairs, or payload bytes) of the
    /// value at `i`; nil when its header does not fit before `limit`.
    @inline(__always)
    static func header(_ format: WireFormat, _ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int)
        -> (kind: JSONKind?, dataStart: Int, length: Int)? {
        if format == .cbor {
            guard let h = CBORReader.header(buffer, i, limit) else { return nil }
            return (h.kind, h.dataStart, h.length)
        }
        guard let h = ValidatedMessagePack.header(buffer, i, limit) else { return nil }
        return (h.kind, h.dataStart, h.length)
    }

    @inline(__always)
    static func value(_ format: WireFormat, _ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> JSONSpan {
        format == .cbor ? ValidatedCBOR.value(buffer, start, limit) : ValidatedMessagePack.value(buffer, start, limit)
    }

    @inline(__always)
    static func payload(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> UnsafeRawBufferPointer {
        span.format == .cbor ? ValidatedCBOR.payload(buffer, span) : ValidatedMessagePack.payload(buffer, span)
    }

    @inline(__always)
    static func integer(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> ValidatedMessagePack.Integer? {
        span.format == .cbor ? ValidatedCBOR.integer(buffer, span) : ValidatedMessagePack.integer(buffer, span)
    }

    @inline(__always)
    static func float(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Double? {
        span.format == .cbor ? ValidatedCBOR.float(buffer, span) : ValidatedMessagePack.float(buffer, span)
    }
}
