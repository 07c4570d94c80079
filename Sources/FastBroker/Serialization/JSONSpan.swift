// JSONSpan: the token model shared by the scanners, the views and the decoders. A span names one
// value by byte offsets into the buffer it was scanned from, so nothing is copied or decoded until a
// caller asks for it. The span says which wire format its bytes are in, so the same accessors
// (JSONScanner.decodeString, JSONObjectView, …) read JSON and MessagePack alike.

/// The kind of a value. JSON kinds are read from the first byte; MessagePack types map onto them
/// (nil → null, bool → true/false, every int and float width → number, str → string, array → array,
/// map → object) plus `binary` for MessagePack bin, which JSON text never produces.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null
    /// MessagePack bin 8/16/32 or a CBOR byte string (raw bytes). Only binary-format spans have it; in
    /// JSON a WAMP binary is a string starting with "\u0000" (see PayloadTranscoder).
    case binary
}

/// One value inside a buffer: `start..<end` are byte offsets into that buffer (end exclusive).
/// JSON: a string span includes its quotes; a container span includes its brackets.
/// MessagePack and CBOR: the span covers the whole encoding, header (type byte and length) included.
public struct JSONSpan: Equatable, Sendable {
    public var start: Int
    public var end: Int
    public var kind: JSONKind
    /// The encoding of the bytes (fits in the padding after `kind`: the span stays 24 bytes).
    public var format: WireFormat

    public init(start: Int, end: Int, kind: JSONKind, format: WireFormat = .json) {
        self.start = start
        self.end = end
        self.kind = kind
        self.format = format
    }

    @inlinable public var count: Int { end - start }
}

/// Why a buffer is not acceptable JSON or MessagePack (or not an acceptable WAMP envelope), and where.
/// Shared by both scanners, so a connection handles scan errors the same way for either serializer.
public struct JSONScanError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Byte offset of the offending byte (the buffer's length when the input ended too early).
    public var offset: Int
    public var message: String
    public var format: WireFormat

    public init(offset: Int, message: String, format: WireFormat = .json) {
        self.offset = offset
        self.message = message
        self.format = format
    }

    public var description: String { "invalid \(format.displayName) at byte \(offset): \(message)" }
}

/// The shared scan error under a format-neutral name.
public typealias WampScanError = JSONScanError
