// CBORWriter: writes CBOR (RFC 8949) by pointer or appended to a byte array, the twin of
// MessagePackWriter for wamp.2.cbor. Every head uses the shortest argument encoding (RFC 8949
// §4.2.1's preferred form, as cbor2 and Autobahn write it); lengths are always definite. Doubles
// are always 64-bit floats, so a double never turns into an integer on the wire (cbor2 writes
// them the same way by default).
// With capacity reserved, nothing allocates. Strings, trees and numbers come from BinaryValueWriter.

public enum CBORWriter: BinaryValueWriter {
    @inlinable public static var markers: BinaryMarkers { BinaryMarkers(false: 0xF4, true: 0xF5, nil: 0xF6, float64: 0xFB) }

    /// The initial byte for `major` with the shortest encoding of `argument` after it
    /// (additional information < 24, else 24…27 for an 8-, 16-, 32- or 64-bit argument).
    @inlinable @inline(__always)
    static func writeHead(major: UInt8, _ argument: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        let m = major << 5
        return BinaryHead.write(argument, fixBase: m, fixLimit: 24, m | 24, m | 25, m | 26, m | 27, to: base, at: offset)
    }

    /// The same, appended (CBORDefiniteLengths rewrites indefinite heads with it).
    static func appendHead(major: UInt8, _ argument: UInt64, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeHead(major: major, argument, to: $0, at: 0) }
    }

    @inlinable @inline(__always)
    public static func writeArrayHeader(count: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(major: 4, count, to: base, at: offset)
    }

    @inlinable @inline(__always)
    public static func writeMapHeader(count: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(major: 5, count, to: base, at: offset)
    }

    @inlinable @inline(__always)
    public static func writeStringHeader(byteCount: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(major: 3, byteCount, to: base, at: offset)
    }

    @inlinable @inline(__always)
    public static func writeBinaryHeader(byteCount: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeLengthHead(major: 2, byteCount, to: base, at: offset)
    }

    /// A string, array or map head: a length is never negative.
    @inlinable @inline(__always)
    static func writeLengthHead(major: UInt8, _ length: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        precondition(length >= 0, "negative CBOR length (major type \(major))")
        return writeHead(major: major, UInt64(length), to: base, at: offset)
    }

    @inlinable @inline(__always)
    public static func writeUInt(_ v: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        writeHead(major: 0, v, to: base, at: offset)
    }

    /// Non-negative values as writeUInt; a negative v as major type 1 with argument -1 - v.
    @inlinable
    public static func writeInt(_ v: Int64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        if v >= 0 {
            return writeHead(major: 0, UInt64(v), to: base, at: offset)
        } else {
            return writeHead(major: 1, UInt64(bitPattern: -1 - v), to: base, at: offset)
        }
    }
}
