// The HTTP side of a WebSocket listener: one request head per connection, answered with the
// metrics text (GET/HEAD on the metrics path), 404/405/400/426 with a body saying what was wrong,
// or the WebSocket upgrade with a negotiated WAMP subprotocol (SPEC §2). HTTPEndpoint decides
// from the head alone; the connection applies the decision.

import BrokerConfig
import BrokerSerialization
import BrokerWire

enum HTTPEndpoint {
    enum Decision: Equatable {
        /// Serve the metrics text (200), then close.
        case metrics
        /// Answer with this status and plain-text body, then close.
        case refuse(status: Int, reason: String, body: String)
        /// A refused WebSocket upgrade: answer with the error's own response (400, 405 with
        /// Allow, 426 with the supported version), then close.
        case refuseUpgrade(WebSocketHandshakeError)
        /// 101 Switching Protocols with `subprotocol`; WebSocket frames follow.
        case upgrade(accept: String, subprotocol: String)
    }

    /// What the endpoint answers `head` with on `listener`; `metricsPath` nil when metrics are off.
    static func route(_ head: HTTPRequestHead, listener: ListenerConfig, metricsPath: String?) -> Decision {
        let path = String(head.target.prefix { $0 != "?" })
        if let metricsPath, path == metricsPath, head.header("upgrade") == nil {
            guard head.method == "GET" || head.method == "HEAD" else {
                return .refuse(status: 405, reason: "Method Not Allowed", body: "use GET\n")
            }
            return .metrics
        }
        guard path == listener.path else {
            return .refuse(status: 404, reason: "Not Found", body: "no WebSocket endpoint at \(path); WAMP is served at \(listener.path)\n")
        }
        let upgrade: WebSocketUpgradeRequest
        switch WebSocketHandshake.parseUpgrade(head) {
        case .failure(let error):
            return .refuseUpgrade(error)
        case .success(let request):
            upgrade = request
        }
        let supported = listener.serializers.map(\.webSocketSubprotocol)
        guard let chosen = upgrade.subprotocols.first(where: { supported.contains($0) }) else {
            let offered = upgrade.subprotocols.isEmpty ? "none" : upgrade.subprotocols.joined(separator: ", ")
            return .refuse(status: 400, reason: "Bad Request",
                           body: "no supported WebSocket subprotocol offered (offered: \(offered)); supported: \(supported.joined(separator: ", "))\n")
        }
        return .upgrade(accept: WebSocketHandshake.acceptValue(forKey: upgrade.key), subprotocol: chosen)
    }
}

extension Connection {
    /// Returns false when it needs more bytes or the connection is done with HTTP input.
    func handleHTTPHead(_ event: HTTPHeadEvent) -> Bool {
        switch event {
        case .needMore:
            return false
        case .failure(let message):
            respondHTTP(status: 400, reason: "Bad Request", body: "\(message)\n")
            return false
        case .head(let head):
            switch HTTPEndpoint.route(head, listener: listener, metricsPath: context.server.configuration.metrics?.path) {
            case .metrics:
                respondHTTP(status: 200, reason: "OK", contentType: "text/plain; version=0.0.4", body: context.server.metricsText())
            case .refuse(let status, let reason, let body):
                respondHTTP(status: status, reason: reason, body: body)
            case .refuseUpgrade(let error):
                sendRaw(error.response())
                closeAfterFlush()
            case .upgrade(let accept, let chosen):
                sendRaw(WebSocketHandshake.switchingProtocols(accept: accept, subprotocol: chosen))
                format = WireFormat.allCases.first { $0.serializerKind.webSocketSubprotocol == chosen } ?? .json
                phase = .webSocket(WebSocketDecoder(maxMessageBytes: limits.maxMessageBytes))
            }
            return phase.isFramed
        }
    }

    private func respondHTTP(status: Int, reason: String, contentType: String = "text/plain; charset=utf-8", body: String) {
        sendRaw(HTTPResponse.make(status: status, reason: reason, contentType: contentType, body: Array(body.utf8)))
        closeAfterFlush()
    }
}
