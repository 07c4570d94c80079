// ListenerConfig: one listening socket of the broker (transport, address, serializers, TLS).

/// The framing spoken on a listener.
public enum TransportKind: String, Sendable, CaseIterable {
    case websocket, rawsocket
}

/// A WAMP serializer a listener offers (`wamp.2.json` / RawSocket 1, `wamp.2.msgpack` / RawSocket 2,
/// `wamp.2.cbor` / RawSocket 3).
public enum SerializerKind: String, Sendable, CaseIterable {
    case json, msgpack, cbor
}

/// TLS on a listener. Paths are already resolved against the configuration file's directory.
public struct TLSConfig: Sendable, Equatable {
    /// PEM certificate (chain) file.
    public var certificate: String
    /// PEM private key file.
    public var key: String
    /// PEM CA bundle that client certificates must chain to.
    public var ca: String?
    /// When true, a client certificate signed by `ca` is required (refused at the TLS layer).
    public var clientAuth: Bool

    public init(certificate: String, key: String, ca: String? = nil, clientAuth: Bool = false) {
        self.certificate = certificate
        self.key = key
        self.ca = ca
        self.clientAuth = clientAuth
    }
}

public struct ListenerConfig: Sendable, Equatable {
    public var transport: TransportKind
    /// Numeric IPv4 or IPv6 address to bind ("0.0.0.0" / "::" for every interface).
    public var host: String
    public var port: Int
    /// HTTP path of the WebSocket upgrade; meaningless (left at its default) on RawSocket.
    public var path: String
    /// Offered serializers, in the listener's order of preference; never empty, no duplicates.
    public var serializers: [SerializerKind]
    public var tls: TLSConfig?

    public init(
        transport: TransportKind, host: String, port: Int, path: String = "/ws",
        serializers: [SerializerKind] = SerializerKind.allCases, tls: TLSConfig? = nil
    ) {
        self.transport = transport
        self.host = host
        self.port = port
        self.path = path
        self.serializers = serializers
        self.tls = tls
    }

    /// "127.0.0.1:8080", "[::1]:8080".
    public var address: String { Self.address(host: host, port: port) }

    static func address(host: String, port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
