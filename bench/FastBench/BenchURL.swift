// The broker address the tool connects to: rs://host:port (RawSocket) or ws://host:port/path
// (WebSocket), both with the JSON serializer.

enum BenchTransport: Equatable {
    case rawSocket
    case webSocket(path: String)
}

struct BenchURL: CustomStringConvertible {
    let transport: BenchTransport
    let host: String
    let port: Int
    let text: String

    var description: String { text }

    /// Parses `rs://HOST:PORT` or `ws://HOST:PORT[/PATH]`; the error says what was wrong.
    static func parse(_ text: String) -> Result<BenchURL, BenchUsageError> {
        let scheme: String
        let rest: Substring
        if text.hasPrefix("rs://") { scheme = "rs"; rest = text.dropFirst(5) }
        else if text.hasPrefix("ws://") { scheme = "ws"; rest = text.dropFirst(5) }
        else { return .failure(BenchUsageError("--url \(text): scheme must be rs:// (RawSocket) or ws:// (WebSocket)")) }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]),
              (1...65535).contains(port) else {
            return .failure(BenchUsageError("--url \(text): needs HOST:PORT with a port in 1...65535"))
        }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if scheme == "rs" && path != "/" {
            return .failure(BenchUsageError("--url \(text): a RawSocket URL has no path"))
        }
        let transport: BenchTransport = scheme == "rs" ? .rawSocket : .webSocket(path: path)
        return .success(BenchURL(transport: transport, host: host, port: port, text: text))
    }
}
