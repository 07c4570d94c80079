// The WAMP serializer a run speaks: what the transport handshake offers (RawSocket serializer id,
// WebSocket subprotocol and frame opcode) and how the broker's messages are scanned.

import BrokerSerialization

enum BenchSerializer: String, CaseIterable {
    case json
    case msgpack
    case cbor

    /// The serializer number in the RawSocket handshake (1 = JSON, 2 = MessagePack, 3 = CBOR).
    var rawSocketID: UInt8 { wireFormat.rawValue + 1 }

    var webSocketProtocol: String { "wamp.2.\(rawValue)" }

    /// WebSocket data frames: text for JSON, binary for MessagePack and CBOR.
    var webSocketOpcode: UInt8 { self == .json ? 0x1 : 0x2 }

    var wireFormat: WireFormat {
        switch self {
        case .json: return .json
        case .msgpack: return .msgpack
        case .cbor: return .cbor
        }
    }

    /// The writer of set-up messages for the binary serializers.
    var binaryWriter: any BinaryValueWriter.Type { self == .cbor ? CBORWriter.self : MessagePackWriter.self }
}
