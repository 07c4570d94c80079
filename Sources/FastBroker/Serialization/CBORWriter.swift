// CBORWriter: appends CBOR (RFC 8949) to a byte array, the twin of MessagePackWriter for
// wamp.2.cbor. Every head uses the shortest argument encoding (RFC 8949 §4.2.1's preferred form, as
// cbor2 and Autobahn write it); lengths are always definite. Doubles are always 64-bit floats, so
// a double never turns into an integer on the wire (cbor2 writes them the same way by default).
// With capacity reserved, nothing allocates. Strings, trees and numbers come from BinaryValueWriter.

public enum CBORWriter: BinaryValueWriter {
    @inlinable public static var markers: BinaryMarkers { BinaryMarkers(false: 0xF4, true: 0xF5, nil: 0xF6, float64: 0xFB) }

    /// The initial byte for `major` with the shortest encoding of `argument` after it
    /// (additional information < 24, else 24…27 for an 8-, 16-, 32- or 64-bit argument).
    @inline(__always)
    static func appendHead(major: UInt8, _ argument: UInt64, to out: inout [UInt8]) {
        let m = major << 5
        BinaryHead.append(argument, fixBase: m, fixLimit: 24, m | 24, m | 25, m | 26, m | 27, to: &out)
    }

    public static func appendArrayHeader(count: Int, to out: inout [UInt8]) {
        appendLengthHead(major: 4, count, to: &out)
    }

    public static func appendMapHeader(count: Int, to out: inout [UInt8]) {
        appendLengthHead(major: 5, count, to: &out)
    }

    public static func appendStringHeader(byteCount: Int, to out: inout [UInt8]) {
        appendLengthHead(major: 3, byteCount, to: &out)
    }

    public static func appendBinaryHeader(byteCount: Int, to out: inout [UInt8]) {
        appendLengthHead(major: 2, byteCount, to: &out)
    }

    /// A string, array or map head: a length is never negative.
    @inline(__always)
    private static func appendLengthHead(major: UInt8, _ length: Int, to out: inout [UInt8]) {
        precondition(length >= 0, "negative CBOR length (major type \(major))")
        appendHead(major: major, UInt64(length), to: &out)
    }

    public static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        appendHead(major: 0, v, to: &out)
    }

    /// Non-negative values as appendUInt; a negative v as major type 1 with argument -1 - v.
    public static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        if v >= 0 {
            appendHead(major: 0, UInt64(v), to: &out)
        } else {
            appendHead(major: 1, UInt64(bitPattern: -1 - v), to: &out)
        }
    }
}
