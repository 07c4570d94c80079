// The broker address the tool connects to: rs://host:port (RawSocket) or ws://host:port/path
// (WebSocket); rss:// and wss:// are the same over TLS (as --tls). The serializer and TLS
// settings of the run travel with it, since every connection needs them for its handshakes.

enum BenchTransport: Equatable {
    case rawSocket
    case webSocket(path: String)
    /// The NATS text protocol (nats-server, measured with the same tool and payloads).
    case nats
}

struct BenchURL: CustomStringConvertible {
    let transport: BenchTransport
    let host: String
    let port: Int
    let text: String
    /// Set from --serializer (JSON by default).
    var serializer = BenchSerializer.json
    /// Set by an rss:// or wss:// scheme, or by --tls.
    var tls = false
    /// The realm HELLO joins (--realm), and WAMP-CRA credentials (--authid, --secret: a plain
    /// secret, or the derived key's text for a salted user).
    var realm = "realm1"
    var authid: String?
    var secret: String?

    var description: String { text }

    /// Parses `rs://HOST:PORT`, `ws://HOST:PORT[/PATH]` or their TLS forms `rss://`, `wss://`;
    /// the error says what was wrong.
    static func parse(_ text: String) -> Result<BenchURL, BenchUsageError> {
        let schemes: [(prefix: String, webSocket: Bool, tls: Bool)] = [
            ("rs://", false, false), ("ws://", true, false), ("rss://", false, true), ("wss://", true, true),
            ("nats://", false, false),
        ]
        guard let scheme = schemes.first(where: { text.hasPrefix($0.prefix) }) else {
            return .failure(BenchUsageError("--url \(text): scheme must be rs:// or rss:// (RawSocket, plain or TLS), ws:// or wss:// (WebSocket), or nats://"))
        }
        let rest = text.dropFirst(scheme.prefix.count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]),
              (1...65535).contains(port) else {
            return .failure(BenchUsageError("--url \(text): needs HOST:PORT with a port in 1...65535"))
        }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if !scheme.webSocket && path != "/" {
            return .failure(BenchUsageError("--url \(text): a RawSocket or NATS URL has no path"))
        }
        let transport: BenchTransport = scheme.webSocket ? .webSocket(path: path) : (scheme.prefix == "nats://" ? .nats : .rawSocket)
        var url = BenchURL(transport: transport, host: host, port: port, text: text)
        url.tls = scheme.tls
        return .success(url)
    }

    /// The host as a TLS server name (SNI and certificate check), nil for an IP literal: those
    /// are verified by chain only.
    var tlsServerName: String? {
        host.contains(":") || host.allSatisfy({ $0 == "." || $0.isNumber }) ? nil : host
    }
}
