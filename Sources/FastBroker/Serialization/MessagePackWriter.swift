// MessagePackWriter: appends MessagePack to a byte array, the twin of JSONWriter for wamp.2.msgpack.
// Every header uses the smallest encoding the spec allows for the value or length (fixint, fixstr,
// fixarray, fixmap first, then 8/16/32/64-bit forms), as Autobahn and Python's msgpack do. Doubles are
// always float 64 (as Python's msgpack writes them), so a double never turns into an int on the
// wire. With capacity reserved, nothing allocates. The output is always valid: invalid UTF-8 handed
// to appendString(UnsafeRawBufferPointer) becomes U+FFFD, as in JSONWriter.

import WireCodec

public enum MessagePackWriter {
    @inline(__always)
    static func appendBE16(_ v: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func appendBE32(_ v: UInt32, to out: inout [UInt8]) {
        appendBE16(UInt16(truncatingIfNeeded: v >> 16), to: &out)
        appendBE16(UInt16(truncatingIfNeeded: v), to: &out)
    }

    @inline(__always)
    static func appendBE64(_ v: UInt64, to out: inout [UInt8]) {
        appendBE32(UInt32(truncatingIfNeeded: v >> 32), to: &out)
        appendBE32(UInt32(truncatingIfNeeded: v), to: &out)
    }

    /// fixarray (< 16), array 16 or array 32; `count` elements must follow.
    public static func appendArrayHeader(count: Int, to out: inout [UInt8]) {
        precondition(count >= 0 && count <= Int(UInt32.max), "MessagePack array too long")
        if count < 16 {
            out.append(0x90 | UInt8(count))
        } else if count <= Int(UInt16.max) {
            out.append(0xDC)
            appendBE16(UInt16(count), to: &out)
        } else {
            out.append(0xDD)
            appendBE32(UInt32(count), to: &out)
        }
    }

    /// fixmap (< 16), map 16 or map 32; `count` key/value pairs must follow (keys as strings).
    public static func appendMapHeader(count: Int, to out: inout [UInt8]) {
        precondition(count >= 0 && count <= Int(UInt32.max), "MessagePack map too long")
        if count < 16 {
            out.append(0x80 | UInt8(count))
        } else if count <= Int(UInt16.max) {
            out.append(0xDE)
            appendBE16(UInt16(count), to: &out)
        } else {
            out.append(0xDF)
            appendBE32(UInt32(count), to: &out)
        }
    }

    /// fixstr (< 32 bytes), str 8, str 16 or str 32 header for `byteCount` bytes of UTF-8.
    public static func appendStringHeader(byteCount: Int, to out: inout [UInt8]) {
        precondition(byteCount >= 0 && byteCount <= Int(UInt32.max), "MessagePack string too long")
        if byteCount < 32 {
            out.append(0xA0 | UInt8(byteCount))
        } else if byteCount <= Int(UInt8.max) {
            out.append(0xD9)
            out.append(UInt8(byteCount))
        } else if byteCount <= Int(UInt16.max) {
            out.append(0xDA)
            appendBE16(UInt16(byteCount), to: &out)
        } else {
            out.append(0xDB)
            appendBE32(UInt32(byteCount), to: &out)
        }
    }

    /// bin 8, bin 16 or bin 32 header for `byteCount` raw bytes.
    public static func appendBinaryHeader(byteCount: Int, to out: inout [UInt8]) {
        precondition(byteCount >= 0 && byteCount <= Int(UInt32.max), "MessagePack binary too long")
        if byteCount <= Int(UInt8.max) {
            out.append(0xC4)
            out.append(UInt8(byteCount))
        } else if byteCount <= Int(UInt16.max) {
            out.append(0xC5)
            appendBE16(UInt16(byteCount), to: &out)
        } else {
            out.append(0xC6)
            appendBE32(UInt32(byteCount), to: &out)
        }
    }

    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s  // withUTF8 is mutating; a native String is already contiguous, so this does not copy.
        s.withUTF8 { utf8 in
            appendStringHeader(byteCount: utf8.count, to: &out)
            out.append(contentsOf: utf8)
        }
    }

    public static func appendString(_ s: StaticString, to out: inout [UInt8]) {
        s.withUTF8Buffer { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// A str from UTF-8 bytes; each byte of an invalid sequence is written as U+FFFD.
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

    public static func appendBinary(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendBinaryHeader(byteCount: bytes.count, to: &out)
        out.append(contentsOf: bytes)
    }

    /// positive fixint, uint 8, uint 16, uint 32 or uint 64, whichever is smallest.
    public static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v <= UInt64(UInt8.max) {
            out.append(0xCC)
            out.append(UInt8(v))
        } else if v <= UInt64(UInt16.max) {
            out.append(0xCD)
            appendBE16(UInt16(v), to: &out)
        } else if v <= UInt64(UInt32.max) {
            out.append(0xCE)
            appendBE32(UInt32(v), to: &out)
        } else {
            out.append(0xCF)
            appendBE64(v, to: &out)
        }
    }

    /// Non-negative values as appendUInt; negative ones as negative fixint, int 8, 16, 32 or 64.
    public static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        if v >= 0 {
            appendUInt(UInt64(v), to: &out)
        } else if v >= -32 {
            out.append(UInt8(bitPattern: Int8(v)))
        } else if v >= Int64(Int8.min) {
            out.append(0xD0)
            out.append(UInt8(bitPattern: Int8(v)))
        } else if v >= Int64(Int16.min) {
            out.append(0xD1)
            appendBE16(UInt16(bitPattern: Int16(v)), to: &out)
        } else if v >= Int64(Int32.min) {
            out.append(0xD2)
            appendBE32(UInt32(bitPattern: Int32(v)), to: &out)
        } else {
            out.append(0xD3)
            appendBE64(UInt64(bitPattern: v), to: &out)
        }
    }

    public static func appendBool(_ v: Bool, to out: inout [UInt8]) {
        out.append(v ? 0xC3 : 0xC2)
    }

    public static func appendNil(to out: inout [UInt8]) {
        out.append(0xC0)
    }

    /// float 64, always (NaN and infinities included: MessagePack can carry them).
    public static func appendDouble(_ v: Double, to out: inout [UInt8]) {
        out.append(0xCB)
        appendBE64(v.bitPattern, to: &out)
    }

    /// Bytes copied verbatim (already-valid MessagePack, e.g. PUBLISH args/kwargs into an EVENT).
    public static func appendRaw(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: bytes)
    }

    /// A whole tree. Numbers: an integer literal within Int64 or UInt64 becomes an int, anything
    /// else its double (float 64); `.binary` becomes bin.
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
