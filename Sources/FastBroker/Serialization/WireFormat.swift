// WireFormat: the two WAMP serializers the broker speaks. A connection picks one at the handshake
// (WebSocket subprotocol wamp.2.json / wamp.2.msgpack, RawSocket serializer 1 / 2) and scans every
// message with `format.scanMessage`; the views it gets back read either format through one API.

public enum WireFormat: UInt8, Sendable, Hashable {
    case json
    case msgpack

    /// For error messages: "JSON" / "MessagePack".
    public var displayName: String {
        switch self {
        case .json: return "JSON"
        case .msgpack: return "MessagePack"
        }
    }

    /// Validates one whole message in this format (see JSONScanner.scanMessage and
    /// MessagePackScanner.scanMessage). Does not allocate on success.
    @inlinable
    public func scanMessage(_ buffer: UnsafeRawBufferPointer) -> Result<WampMessageView, JSONScanError> {
        switch self {
        case .json: return JSONScanner.scanMessage(buffer)
        case .msgpack: return MessagePackScanner.scanMessage(buffer)
        }
    }

    /// Validates any single value in this format and returns its span (tests, tools, transcoding).
    public func scanValue(_ buffer: UnsafeRawBufferPointer) -> Result<JSONSpan, JSONScanError> {
        switch self {
        case .json: return JSONScanner.scanValue(buffer)
        case .msgpack: return MessagePackScanner.scanValue(buffer)
        }
    }
}
