// MessagePackWriter: writes MessagePack by pointer or appended to a byte array, the twin of
// JSONWriter for wamp.2.msgpack.
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
    @inlinable @inline(__always)
    public static func writeArrayHeader(count: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(count, "array", fixBase: 0x90, fixLimit: 16, 0, 0xDC, 0xDD, to: base, at: offset)
    }

    /// fixmap (< 16), map 16 or map 32; `count` key/value pairs must follow (keys as strings).
    @inlinable @inline(__always)
    public static func writeMapHeader(count: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(count, "map", fixBase: 0x80, fixLimit: 16, 0, 0xDE, 0xDF, to: base, at: offset)
    }

    /// fixstr (< 32 bytes), str 8, str 16 or str 32 header for `byteCount` bytes of UTF-8.
    @inlinable @inline(__always)
    public static func writeStringHeader(byteCount: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(byteCount, "string", fixBase: 0xA0, fixLimit: 32, 0xD9, 0xDA, 0xDB, to: base, at: offset)
    }

    /// bin 8, bin 16 or bin 32 header for `byteCount` raw bytes.
    @inlinable @inline(__always)
    public static func writeBinaryHeader(byteCount: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(byteCount, "binary", fixBase: 0, fixLimit: 0, 0xC4, 0xC5, 0xC6, to: base, at: offset)
    }

    /// A length up to 32 bits: the fix form, else the 8- (0: none), 16- or 32-bit form.
    @inlinable @inline(__always)
    static func writeLengthHead(_ length: Int, _ what: StaticString, fixBase: UInt8, fixLimit: UInt64, _ marker8: UInt8,
                                _ marker16: UInt8, _ marker32: UInt8, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        precondition(length >= 0 && length <= Int(UInt32.max), "MessagePack \(what) too long")
        return BinaryHead.write(UInt64(length), fixBase: fixBase, fixLimit: fixLimit, marker8, marker16, marker32, 0, to: base, at: offset)
    }

    /// positive fixint, uint 8, uint 16, uint 32 or uint 64, whichever is smallest.
    @inlinable @inline(__always)
    public static func writeUInt(_ v: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        BinaryHead.write(v, fixBase: 0, fixLimit: 0x80, 0xCC, 0xCD, 0xCE, 0xCF, to: base, at: offset)
    }

    /// Non-negative values as writeUInt; negative ones as negative fixint, int 8, 16, 32 or 64.
    @inlinable
    public static func writeInt(_ v: Int64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        if v >= 0 {
            return writeUInt(UInt64(v), to: base, at: offset)
        } else if v >= -32 {
            return BinaryHead.writeByte(UInt8(bitPattern: Int8(v)), to: base, at: offset)
        } else if v >= Int64(Int8.min) {
            return BinaryHead.writeByte(UInt8(bitPattern: Int8(v)), to: base, at: BinaryHead.writeByte(0xD0, to: base, at: offset))
        } else if v >= Int64(Int16.min) {
            return BinaryHead.writeBE16(UInt16(bitPattern: Int16(v)), to: base, at: BinaryHead.writeByte(0xD1, to: base, at: offset))
        } else if v >= Int64(Int32.min) {
            return BinaryHead.writeBE32(UInt32(bitPattern: Int32(v)), to: base, at: BinaryHead.writeByte(0xD2, to: base, at: offset))
        } else {
            return BinaryHead.writeBE64(UInt64(bitPattern: v), to: base, at: BinaryHead.writeByte(0xD3, to: base, at: offset))
        }
    }
}
