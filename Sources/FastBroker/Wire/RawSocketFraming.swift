// RawSocket transport (wamp-proto transport_rawsocket, WAMP-NOTES §4): the 4-octet handshake and
// the 4-octet frame prefix, on the sending side. Decoding lives in RawSocketDecoder.swift.
//
//   hello / reply  0x7F | LLLL SSSS | 0x00 | 0x00     max length 2^(9+LLLL), serializer SSSS
//   error reply    0x7F | EEEE 0000 | 0x00 | 0x00     EEEE: RawSocketHandshakeError
//   frame prefix   RRRR XTTT | 24-bit length (big-endian)
//                  R reserved (0), X the 25th length bit (set only for exactly 16 MiB), T frame type

/// The client's opening handshake.
public struct RawSocketHello: Equatable, Sendable {
    /// 1 JSON, 2 MessagePack, 3 CBOR, 4 UBJSON, 5 FlatBuffers; 0 is illegal. The connection checks it
    /// against what the listener serves and answers `serializerUnsupported` otherwise.
    public let serializer: UInt8
    /// LLLL: the client accepts messages up to 2^(9+LLLL) bytes.
    public let lengthExponent: UInt8
    /// The largest message the client accepts from us.
    public var maxMessageBytes: Int { RawSocketFraming.maxMessageBytes(lengthExponent: lengthExponent) }

    public init(serializer: UInt8, lengthExponent: UInt8) {
        self.serializer = serializer
        self.lengthExponent = lengthExponent
    }
}

/// Error codes of the router's handshake reply (0 is never used).
public enum RawSocketHandshakeError: UInt8, Sendable {
    case serializerUnsupported = 1
    case maxLengthUnacceptable = 2
    case reservedBitsUsed = 3
    case maxConnectionCount = 4
}

/// TTT of the frame prefix.
public enum RawSocketFrameType: UInt8, Sendable {
    case message = 0
    case ping = 1
    case pong = 2
}

public enum RawSocketFraming {
    public static let headerSize = 4
    /// Magic first octet of both handshake directions.
    public static let magic: UInt8 = 0x7F
    /// The longest frame the format can carry: 2^24 bytes, which needs the X bit.
    public static let maxFrameLength = 1 << 24

    /// The router's successful reply: echoes the client's serializer and announces our own limit.
    public static func helloReply(serializer: UInt8, lengthExponent: UInt8) -> [UInt8] {
        precondition(serializer <= 15 && lengthExponent <= 15, "serializer and length exponent are 4-bit")
        return [magic, lengthExponent << 4 | serializer, 0, 0]
    }

    /// The router's failing reply; the connection is closed after sending it.
    public static func helloError(_ error: RawSocketHandshakeError) -> [UInt8] {
        [magic, error.rawValue << 4, 0, 0]
    }

    /// Largest e (0...15) with 2^(9+e) <= bytes, and 0 below 512: a hello can only announce
    /// powers of two from 512 B to 16 MiB, so a receive limit is rounded down to one of them
    /// (up to 512 B when smaller). RawSocketDecoder enforces exactly what this announces.
    public static func lengthExponent(forMaxMessageBytes bytes: Int) -> UInt8 {
        var e: UInt8 = 0
        while e < 15 && maxMessageBytes(lengthExponent: e + 1) <= bytes { e += 1 }
        return e
    }

    /// The limit a hello with length exponent `e` announces: 2^(9+e) bytes.
    public static func maxMessageBytes(lengthExponent e: UInt8) -> Int { 1 << (9 + Int(e)) }

    /// Writes the 4-octet prefix of a frame of `length` payload bytes (0...2^24) at `to`.
    /// Inlinable: once per queued frame, from the broker's output path.
    @inlinable @inline(__always)
    public static func writeHeader(type: RawSocketFrameType, length: Int, to destination: UnsafeMutableRawPointer) {
        let limit = 1 << 24   // maxFrameLength as a literal: inlined code would load the stored one through its accessor
        precondition(length >= 0 && length <= limit, "RawSocket frame length \(length) exceeds 2^24")
        let extended: UInt8 = length == limit ? 0x08 : 0
        destination.storeBytes(of: type.rawValue | extended, as: UInt8.self)
        destination.storeBytes(of: UInt8(truncatingIfNeeded: length >> 16), toByteOffset: 1, as: UInt8.self)
        destination.storeBytes(of: UInt8(truncatingIfNeeded: length >> 8), toByteOffset: 2, as: UInt8.self)
        destination.storeBytes(of: UInt8(truncatingIfNeeded: length), toByteOffset: 3, as: UInt8.self)
    }
}
