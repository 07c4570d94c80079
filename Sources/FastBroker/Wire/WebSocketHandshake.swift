// The server side of the WebSocket opening handshake (RFC 6455 §4.2): checks the client's upgrade
// request, computes Sec-WebSocket-Accept and writes the 101 response. Once per connection, so it
// may allocate.

import WireCodec

/// What the connection needs from a valid upgrade request.
public struct WebSocketUpgradeRequest: Equatable, Sendable {
    /// Sec-WebSocket-Key as sent (base64 of 16 bytes).
    public var key: String
    /// Sec-WebSocket-Protocol values in the client's order of preference; empty when none offered.
    public var subprotocols: [String]
    /// The request target's path, without the query.
    public var path: String
    /// The query after "?", nil when none.
    public var query: String?
}

/// Why an upgrade request was refused, with the HTTP status to answer.
public struct WebSocketHandshakeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var reason: String
    public var message: String
    public var extraHeaders: [String: String]

    public var description: String { "\(status) \(reason): \(message)" }

    /// The complete HTTP error response (text body, Connection: close).
    public func response() -> [UInt8] {
        HTTPResponse.make(status: status, reason: reason, contentType: "text/plain; charset=utf-8",
                          body: Array((message + "\n").utf8),
                          extraHeaders: extraHeaders.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    static func badRequest(_ message: String) -> WebSocketHandshakeError {
        WebSocketHandshakeError(status: 400, reason: "Bad Request", message: message, extraHeaders: [:])
    }
}

public enum WebSocketHandshake {
    /// RFC 6455 §1.3.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        Base64.encode(SHA1.digest(Array((key + guid).utf8)))
    }

    /// GET, HTTP/1.1, Host, Upgrade: websocket, Connection has token "upgrade", Sec-WebSocket-Version 13,
    /// key = base64 of 16 bytes. Checked in that order; the first failure is reported.
    public static func parseUpgrade(_ head: HTTPRequestHead) -> Result<WebSocketUpgradeRequest, WebSocketHandshakeError> {
        guard head.method == "GET" else {
            return .failure(WebSocketHandshakeError(
                status: 405, reason: "Method Not Allowed",
                message: "a WebSocket upgrade must use GET, not \(head.method)", extraHeaders: ["Allow": "GET"]))
        }
        guard head.version == "HTTP/1.1" else {
            return .failure(.badRequest("a WebSocket upgrade needs HTTP/1.1, not \(head.version)"))
        }
        guard let host = head.header("Host"), !host.isEmpty else {
            return .failure(.badRequest("missing Host header"))
        }
        guard let upgrade = head.header("Upgrade"), tokens(upgrade).contains(where: { $0.lowercased() == "websocket" }) else {
            return .failure(WebSocketHandshakeError(
                status: 426, reason: "Upgrade Required",
                message: "this endpoint speaks WebSocket: the Upgrade header must be \"websocket\"",
                extraHeaders: ["Upgrade": "websocket", "Sec-WebSocket-Version": "13"]))
        }
        guard let connection = head.header("Connection"), tokens(connection).contains(where: { $0.lowercased() == "upgrade" }) else {
            return .failure(.badRequest("the Connection header must contain the token \"Upgrade\""))
        }
        guard let version = head.header("Sec-WebSocket-Version"), version == "13" else {
            return .failure(WebSocketHandshakeError(
                status: 426, reason: "Upgrade Required",
                message: "unsupported Sec-WebSocket-Version \(head.header("Sec-WebSocket-Version") ?? "(missing)"); only 13 is supported",
                extraHeaders: ["Sec-WebSocket-Version": "13"]))
        }
        guard let key = head.header("Sec-WebSocket-Key") else {
            return .failure(.badRequest("missing Sec-WebSocket-Key header"))
        }
        guard let decoded = Base64.decode(key), decoded.count == 16 else {
            return .failure(.badRequest("Sec-WebSocket-Key is not the base64 of 16 bytes"))
        }
        let subprotocols = head.header("Sec-WebSocket-Protocol").map(tokens) ?? []
        var path = head.target
        // absolute-form (RFC 9112 §3.2.2): keep only the path.
        for scheme in ["http://", "https://", "ws://", "wss://"] where path.lowercased().hasPrefix(scheme) {
            let afterScheme = path.dropFirst(scheme.count)
            path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/"
        }
        var query: String?
        if let mark = path.firstIndex(of: "?") {
            query = String(path[path.index(after: mark)...])
            path = String(path[..<mark])
        }
        return .success(WebSocketUpgradeRequest(key: key, subprotocols: subprotocols, path: path, query: query))
    }

    /// The 101 response. An empty `subprotocol` leaves out Sec-WebSocket-Protocol (no subprotocol chosen).
    public static func switchingProtocols(accept: String, subprotocol: String) -> [UInt8] {
        var response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        response += "Sec-WebSocket-Accept: \(accept)\r\n"
        if !subprotocol.isEmpty { response += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        response += "\r\n"
        return Array(response.utf8)
    }

    /// The comma-separated elements of a header list value, trimmed, empty elements dropped.
    static func tokens(_ value: String) -> [String] {
        value.split(separator: ",").compactMap { element in
            let trimmed = element.trimmingWhitespace()
            return trimmed.isEmpty ? nil : trimmed
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
