// MessagePackWriter: appends MessagePack to a byte array, the twin of JSONWriter for wamp.2.msgpack.
// Every header uses the smallest encoding the spec allows for the value or length (fixint, fixstr,
// fixarray, fixmap first, then 8/16/32/64-bit forms), as Autobahn and Python's msgpack do. Doubles are
// always float 64 (as Python's msgpack writes them), so a double never turns into an int on the
// wire. With capacity reserved, nothing allocates. The output is always valid: invalid UTF-8 handed
// to appendString(UnsafeRawBufferPointer) becomes U+FFFD, as in JSONWriter. The strings, trees and
// numbers are written by BinaryValueWriter's shared code over the headers here.

import WireCodec

public enum MessagePackWriter: BinaryValueWriter {
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
}
