// The WAMP serializer a run speaks: what the transport handshake offers (RawSocket serializer id,
// WebSocket subprotocol and frame opcode) and how the broker's messages are scanned.

import BrokerSerialization

enum BenchSerializer: String, CaseIterable {
    case json
    case msgpack

    /// The serializer number in the RawSocket handshake (1 = JSON, 2 = MessagePack).
    var rawSocketID: UInt8 {
        switch self {
        case .json: return 1
        case .msgpack: return 2
        }
    }

    var webSocketProtocol: String {
        switch self {
        case .json: return "wamp.2.json"
        case .msgpack: return "wamp.2.msgpack"
        }
    }

    /// WebSocket data frames: text for JSON, binary for MessagePack.
    var webSocketOpcode: UInt8 {
        switch self {
        case .json: return 0x1
        case .msgpack: return 0x2
        }
    }

    var wireFormat: WireFormat {
        switch self {
        case .json: return .json
        case .msgpack: return .msgpack
        }
    }
}
