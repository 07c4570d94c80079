// WireFormat: the three WAMP serializers the broker speaks. A connection picks one at the handshake
// (WebSocket subprotocol wamp.2.json / wamp.2.msgpack / wamp.2.cbor, RawSocket serializer 1 / 2 / 3)
// and scans every message with `format.scanMessage`; the views it gets back read every format
// through one API.

public enum WireFormat: UInt8, Sendable, Hashable, CaseIterable {
    case json
    case msgpack
    case cbor

    /// For error messages: "JSON" / "MessagePack" / "CBOR".
    public var displayName: String {
        switch self {
        case .json: return "JSON"
        case .msgpack: return "MessagePack"
        case .cbor: return "CBOR"
        }
    }

    /// Validates one whole message in this format (the rules are in JSONScanner.swift,
    /// MessagePackScanner.swift and CBORScanner.swift). Does not allocate on success.
    public func scanMessage(_ buffer: UnsafeRawBufferPointer) -> Result<WampMessageView, JSONScanError> {
        switch self {
        case .json: return JSONValidator.scanMessage(buffer)
        case .msgpack: return MessagePackValidator.scanMessage(buffer)
        case .cbor: return CBORValidator.scanMessage(buffer)
        }
    }

    /// Validates any single value in this format and returns its span (tests, tools, transcoding).
    public func scanValue(_ buffer: UnsafeRawBufferPointer) -> Result<JSONSpan, JSONScanError> {
        switch self {
        case .json: return JSONValidator.scanValue(buffer)
        case .msgpack: return MessagePackValidator.scanValue(buffer)
        case .cbor: return CBORValidator.scanValue(buffer)
        }
    }
}
