// BinaryValueWriter: what MessagePackWriter and CBORWriter have in common. Each writes its own
// headers and scalars; the code that needs only those (strings from UTF-8 with invalid sequences
// as U+FFFD, binary, raw bytes, whole JSONValue trees, JSONNumber) is written once here, and the
// payload transcoder writes either format through the same requirements.

import WireCodec

public protocol BinaryValueWriter {
    /// The header of an array of `count` elements (which must follow).
    static func appendArrayHeader(count: Int, to out: inout [UInt8])
    /// The header of a map of `count` pairs (string keys and values must follow).
    static func appendMapHeader(count: Int, to out: inout [UInt8])
    /// The header of a text string of `byteCount` bytes of UTF-8.
    static func appendStringHeader(byteCount: Int, to out: inout [UInt8])
    /// The header of a byte string of `byteCount` bytes.
    static func appendBinaryHeader(byteCount: Int, to out: inout [UInt8])
    /// The smallest integer encoding of `v`.
    static func appendUInt(_ v: UInt64, to out: inout [UInt8])
    static func appendInt(_ v: Int64, to out: inout [UInt8])
    /// The format's one-byte false, true and nil, and the marker of a big-endian 64-bit float.
    static var markers: BinaryMarkers { get }
}

/// The one-byte values and the float 64 marker of a binary format.
public struct BinaryMarkers: Sendable {
    public let `false`: UInt8, `true`: UInt8, `nil`: UInt8, float64: UInt8

    @inlinable
    public init(false f: UInt8, true t: UInt8, nil n: UInt8, float64: UInt8) {
        self.false = f
        self.true = t
        self.nil = n
        self.float64 = float64
    }
}

/// Big-endian integers and the sized heads both formats use: a value below `fixLimit` fits in the
/// head byte itself (`fixBase | v`), a larger one follows a marker in 8, 16, 32 or 64 bits,
/// whichever is the narrowest the format has (a marker of 0: the format has no such form).
@usableFromInline
enum BinaryHead {
    @inlinable @inline(__always)
    static func appendBE16(_ v: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v))
    }

    @inlinable @inline(__always)
    static func appendBE32(_ v: UInt32, to out: inout [UInt8]) {
        appendBE16(UInt16(truncatingIfNeeded: v >> 16), to: &out)
        appendBE16(UInt16(truncatingIfNeeded: v), to: &out)
    }

    @inlinable @inline(__always)
    static func appendBE64(_ v: UInt64, to out: inout [UInt8]) {
        appendBE32(UInt32(truncatingIfNeeded: v >> 32), to: &out)
        appendBE32(UInt32(truncatingIfNeeded: v), to: &out)
    }

    @inlinable @inline(__always)
    static func append(_ v: UInt64, fixBase: UInt8, fixLimit: UInt64, _ marker8: UInt8, _ marker16: UInt8,
                       _ marker32: UInt8, _ marker64: UInt8, to out: inout [UInt8]) {
        if v < fixLimit {
            out.append(fixBase | UInt8(truncatingIfNeeded: v))
        } else if marker8 != 0 && v <= UInt64(UInt8.max) {
            out.append(marker8)
            out.append(UInt8(truncatingIfNeeded: v))
        } else if v <= UInt64(UInt16.max) {
            out.append(marker16)
            appendBE16(UInt16(truncatingIfNeeded: v), to: &out)
        } else if v <= UInt64(UInt32.max) {
            out.append(marker32)
            appendBE32(UInt32(truncatingIfNeeded: v), to: &out)
        } else {
            out.append(marker64)
            appendBE64(v, to: &out)
        }
    }
}

extension BinaryValueWriter {
    @inlinable
    public static func appendBool(_ v: Bool, to out: inout [UInt8]) {
        out.append(v ? markers.true : markers.false)
    }

    @inlinable
    public static func appendNil(to out: inout [UInt8]) {
        out.append(markers.nil)
    }

    /// A 64-bit float, always (NaN and infinities included).
    @inlinable
    public static func appendDouble(_ v: Double, to out: inout [UInt8]) {
        out.append(markers.float64)
        BinaryHead.appendBE64(v.bitPattern, to: &out)
    }

    @inlinable
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s  // withUTF8 is mutating; a native String is already contiguous, so this does not copy.
        s.withUTF8 { utf8 in
            appendStringHeader(byteCount: utf8.count, to: &out)
            out.append(contentsOf: utf8)
        }
    }

    @inlinable
    public static func appendString(_ s: StaticString, to out: inout [UInt8]) {
        s.withUTF8Buffer { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// A string from UTF-8 bytes; each byte of an invalid sequence is written as U+FFFD.
    @inlinable
    public static func appendString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // First pass: the output length (equal to the input's when it is valid, the common case).
        var length = 0
        var i = 0
        var valid = true
        while i < utf8.count {
            if utf8[i] < 0x80 {
                length += 1
                i += 1
                continue
            }
            let n = UTF8Sequence.length(utf8, i)
            if n > 0 {
                length += n
                i += n
            } else {
                valid = false
                length += 3
                i += 1
            }
        }
        appendStringHeader(byteCount: length, to: &out)
        if valid {
            out.append(contentsOf: utf8)
            return
        }
        i = 0
        while i < utf8.count {
            let n = utf8[i] < 0x80 ? 1 : UTF8Sequence.length(utf8, i)
            if n > 0 {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[i..<(i + n)]))
                i += n
            } else {
                out.append(0xEF)
                out.append(0xBF)
                out.append(0xBD)
                i += 1
            }
        }
    }

    @inlinable
    public static func appendBinary(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendBinaryHeader(byteCount: bytes.count, to: &out)
        out.append(contentsOf: bytes)
    }

    /// Bytes copied verbatim (already valid in this format, e.g. PUBLISH args/kwargs into an EVENT).
    @inlinable
    public static func appendRaw(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: bytes)
    }

    /// A whole tree. Numbers: an integer literal within Int64 or UInt64 becomes an integer, anything
    /// else its double; `.binary` becomes a byte string.
    public static func appendValue(_ v: JSONValue, to out: inout [UInt8]) {
        switch v {
        case .null: appendNil(to: &out)
        case .bool(let b): appendBool(b, to: &out)
        case .number(let n): appendNumber(n, to: &out)
        case .string(let s): appendString(s, to: &out)
        case .binary(let bytes): bytes.withUnsafeBytes { appendBinary($0, to: &out) }
        case .array(let elements):
            appendArrayHeader(count: elements.count, to: &out)
            for e in elements { appendValue(e, to: &out) }
        case .object(let members):
            appendMapHeader(count: members.count, to: &out)
            for m in members {
                appendString(m.key, to: &out)
                appendValue(m.value, to: &out)
            }
        }
    }

    public static func appendNumber(_ n: JSONNumber, to out: inout [UInt8]) {
        if let i = n.integer {
            appendInt(i, to: &out)
            return
        }
        var text = n.text
        let unsigned = text.withUTF8 { utf8 in
            JSONScanner.unsignedInteger(UnsafeRawBufferPointer(utf8), JSONSpan(start: 0, end: utf8.count, kind: .number))
        }
        if let unsigned {
            appendUInt(unsigned, to: &out)
        } else {
            appendDouble(n.double, to: &out)
        }
    }
}
