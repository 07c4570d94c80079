// WebSocket frames (RFC 6455 §5) on the sending side: server frames are unmasked and unfragmented.
// Also the opcode and close-code vocabulary shared with WebSocketDecoder.swift.
//
//   byte 0  FIN | RSV1 RSV2 RSV3 | opcode(4)
//   byte 1  MASK | length(7)        126 → 16-bit length follows, 127 → 64-bit length follows
//   then    extended length (0, 2 or 8 bytes, big-endian), masking key (4 bytes, clients only), payload

public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0
    case text = 1
    case binary = 2
    case close = 8
    case ping = 9
    case pong = 10

    /// Control frames (close, ping, pong) are at most 125 bytes and never fragmented.
    @inline(__always)
    public var isControl: Bool { rawValue & 0x08 != 0 }
}

/// Close status codes (RFC 6455 §7.4) the broker sends, and the check for received ones.
public enum WebSocketCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    public static let internalError: UInt16 = 1011

    /// Whether a peer may send `code` in a close frame: 1000-1003 and 1007-1014 (the IANA registry;
    /// 1004-1006 and 1015 are reserved or must never be on the wire) and 3000-4999 (libraries, apps).
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}

public enum WebSocketFraming {
    /// 2 + 8 bytes: the largest unmasked (server) header.
    public static let maxHeaderSize = 10

    /// Writes a server frame header (FIN set, unmasked) for `payloadLength` bytes; returns its length
    /// (2, 4 or 10). `to` needs room for `maxHeaderSize` bytes.
    @inline(__always)
    public static func writeHeader(opcode: WebSocketOpcode, payloadLength: Int, to destination: UnsafeMutableRawPointer) -> Int {
        precondition(payloadLength >= 0, "negative WebSocket payload length")
        precondition(!opcode.isControl || payloadLength <= 125, "control frame payload over 125 bytes")
        destination.storeBytes(of: 0x80 | opcode.rawValue, as: UInt8.self)
        if payloadLength <= 125 {
            destination.storeBytes(of: UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            return 2
        }
        if payloadLength <= 0xFFFF {
            destination.storeBytes(of: 126 as UInt8, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            return 4
        }
        destination.storeBytes(of: 127 as UInt8, toByteOffset: 1, as: UInt8.self)
        destination.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
        return 10
    }

    /// A complete close frame. The reason is cut (at a character boundary) to fit the 125-byte limit.
    public static func closeFrame(code: UInt16, reason: String) -> [UInt8] {
        var reasonBytes: [UInt8] = []
        for scalar in reason.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if reasonBytes.count + encoded.count > 123 { break }
            reasonBytes += encoded
        }
        var frame = [UInt8](repeating: 0, count: maxHeaderSize)
        let headerLength = frame.withUnsafeMutableBytes {
            writeHeader(opcode: .close, payloadLength: 2 + reasonBytes.count, to: $0.baseAddress!)
        }
        frame.removeLast(maxHeaderSize - headerLength)
        frame += [UInt8(code >> 8), UInt8(code & 0xFF)]
        frame += reasonBytes
        return frame
    }

    /// A complete unfragmented server frame; allocates, so for handshakes, errors and tests.
    public static func frame(opcode: WebSocketOpcode, payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: maxHeaderSize)
        let headerLength = frame.withUnsafeMutableBytes {
            writeHeader(opcode: opcode, payloadLength: payload.count, to: $0.baseAddress!)
        }
        frame.removeLast(maxHeaderSize - headerLength)
        return frame + payload
    }
}
