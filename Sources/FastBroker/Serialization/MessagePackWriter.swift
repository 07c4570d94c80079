// MessagePackWriter: appends MessagePack to a byte array, the twin of JSONWriter for wamp.2.msgpack.
// Every header uses the smallest encoding the spec allows for the value or length (fixint, fixstr,
// fixarray, fixmap first, then 8/16/32/64-bit forms), as Autobahn and Python's msgpack do. Doubles are
// always float 64 (as Python's msgpack writes them), so a double never turns into an int on the
// wire. With capacity reserved, nothing allocates. The output is always valid: invalid UTF-8 handed
// to appendString(UnsafeRawBufferPointer) becomes U+FFFD, as in JSONWriter. The strings, trees and
// numbers are written by BinaryValueWriter's shared code over the headers here.

import WireCodec

public enum MessagePackWriter: BinaryValueWriter {
    @inlinable public static var markers: BinaryMarkers { BinaryMarkers(false: 0xC2, true: 0xC3, nil: 0xC0, float64: 0xCB) }

    /// fixarray (< 16), array 16 or array 32; `count` elements must follow.
    public static func appendArrayHeader(count: Int, to out: inout [UInt8]) {
        appendLengthHead(count, "array", fixBase: 0x90, fixLimit: 16, 0, 0xDC, 0xDD, to: &out)
    }

    /// fixmap (< 16), map 16 or map 32; `count` key/value pairs must follow (keys as strings).
    public static func appendMapHeader(count: Int, to out: inout [UInt8]) {
        appendLengthHead(count, "map", fixBase: 0x80, fixLimit: 16, 0, 0xDE, 0xDF, to: &out)
    }

    /// fixstr (< 32 bytes), str 8, str 16 or str 32 header for `byteCount` bytes of UTF-8.
    public static func appendStringHeader(byteCount: Int, to out: inout [UInt8]) {
        appendLengthHead(byteCount, "string", fixBase: 0xA0, fixLimit: 32, 0xD9, 0xDA, 0xDB, to: &out)
    }

    /// bin 8, bin 16 or bin 32 header for `byteCount` raw bytes.
    public static func appendBinaryHeader(byteCount: Int, to out: inout [UInt8]) {
        appendLengthHead(byteCount, "binary", fixBase: 0, fixLimit: 0, 0xC4, 0xC5, 0xC6, to: &out)
    }

    /// A length up to 32 bits: the fix form, else the 8- (0: none), 16- or 32-bit form.
    @inline(__always)
    private static func appendLengthHead(_ length: Int, _ what: StaticString, fixBase: UInt8, fixLimit: UInt64,
                                         _ marker8: UInt8, _ marker16: UInt8, _ marker32: UInt8, to out: inout [UInt8]) {
        precondition(length >= 0 && length <= Int(UInt32.max), "MessagePack \(what) too long")
        BinaryHead.append(UInt64(length), fixBase: fixBase, fixLimit: fixLimit, marker8, marker16, marker32, 0, to: &out)
    }

    /// positive fixint, uint 8, uint 16, uint 32 or uint 64, whichever is smallest.
    public static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        BinaryHead.append(v, fixBase: 0, fixLimit: 0x80, 0xCC, 0xCD, 0xCE, 0xCF, to: &out)
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
            BinaryHead.appendBE16(UInt16(bitPattern: Int16(v)), to: &out)
        } else if v >= Int64(Int32.min) {
            out.append(0xD2)
            BinaryHead.appendBE32(UInt32(bitPattern: Int32(v)), to: &out)
        } else {
            out.append(0xD3)
            BinaryHead.appendBE64(UInt64(bitPattern: v), to: &out)
        }
    }
}
