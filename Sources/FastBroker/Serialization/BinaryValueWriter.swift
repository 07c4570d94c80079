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
    static func appendBool(_ v: Bool, to out: inout [UInt8])
    static func appendNil(to out: inout [UInt8])
    /// A 64-bit float, always (NaN and infinities included).
    static func appendDouble(_ v: Double, to out: inout [UInt8])
}

extension BinaryValueWriter {
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
