// Small complete HTTP/1.1 responses: the 101 of the WebSocket handshake is in
// WebSocketHandshake.swift; this builds everything else (errors, the metrics page). Each one closes
// the connection, so no keep-alive bookkeeping is needed.

public enum HTTPResponse {
    /// Status line, Content-Type, Content-Length, Connection: close, the extra headers, then the body.
    public static func make(status: Int, reason: String, contentType: String, body: [UInt8],
                            extraHeaders: [(String, String)] = []) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\n"
        for (name, value) in extraHeaders {
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}
