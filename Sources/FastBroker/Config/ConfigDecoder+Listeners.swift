// ConfigDecoder+Listeners: the `listeners` array (SPEC §3): transport, host, port, WebSocket path,
// serializers and TLS of each listener, then the checks across listeners (two on one address).

import BrokerSerialization

extension ConfigDecoder {
    /// A listener as far as it parsed; `config` is set only when all of it is valid.
    struct ListenerDraft {
        var jsonPath: String
        var transport: TransportKind?
        var host: String?
        var port: Int?
        var path: String?  // nil when the given path is invalid
        var config: ListenerConfig?
    }

    mutating func decodeListener(_ node: JSONTreeNode, at path: String) -> ListenerDraft? {
        guard let object = self.object(node, at: path, allowed: ["transport", "host", "port", "path", "serializers", "tls"]) else {
            return nil
        }
        let issuesBefore = issues.count
        let transport = require(object, "transport").flatMap { choice($0, at: object.path("transport"), TransportKind.self) }
        let host = require(object, "host").flatMap { decodeHost($0, at: object.path("host")) }
        let port = require(object, "port").flatMap { integer($0, at: object.path("port"), in: 1...65535, "an integer from 1 to 65535") }

        var wsPath: String? = "/ws"
        if let pathNode = object["path"] {
            wsPath = nil
            if let transport, transport != .websocket {
                report(object.path("path"), "only websocket listeners have a path (this one is \(transport.rawValue))")
            } else if let value = string(pathNode, at: object.path("path")) {
                if !value.hasPrefix("/") {
                    report(object.path("path"), "must start with \"/\", got \(ConfigValueText.quoted(value))")
                } else if value.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace }) {
                    report(object.path("path"), "must be a plain HTTP path without spaces, '?' or '#', got \(ConfigValueText.quoted(value))")
                } else {
                    wsPath = value
                }
            }
        }

        var serializers: [SerializerKind] = SerializerKind.allCases
        if let serializersNode = object["serializers"] {
            serializers = decodeSerializers(serializersNode, at: object.path("serializers")) ?? serializers
        }

        var tls: TLSConfig? = nil
        if let tlsNode = object["tls"] { tls = decodeTLS(tlsNode, at: object.path("tls")) }

        var draft = ListenerDraft(jsonPath: path, transport: transport, host: host, port: port, path: wsPath)
        if issues.count == issuesBefore, let transport, let host, let port, let wsPath {
            draft.config = ListenerConfig(transport: transport, host: host, port: port, path: wsPath, serializers: serializers, tls: tls)
        }
        return draft
    }

    /// libuv binds numeric addresses (uv_ip4_addr / uv_ip6_addr), so names are refused here rather
    /// than failing at start-up.
    mutating func decodeHost(_ node: JSONTreeNode, at path: String) -> String? {
        guard let host = string(node, at: path) else { return nil }
        guard ListenerAddress(host: host) != nil else {
            report(path, "expected a numeric IPv4 or IPv6 address (e.g. \"127.0.0.1\", \"0.0.0.0\", \"::1\"), got \(ConfigValueText.quoted(host))")
            return nil
        }
        return host
    }

    mutating func decodeSerializers(_ node: JSONTreeNode, at path: String) -> [SerializerKind]? {
        guard let elements = array(node, at: path) else { return nil }
        if elements.isEmpty {
            report(path, "at least one serializer is required (\(ConfigValueText.list(SerializerKind.allCases.map(\.rawValue))))")
            return nil
        }
        var serializers: [SerializerKind] = []
        var ok = true
        for (i, element) in elements.enumerated() {
            let elementPath = JSONPath.element(path, i)
            guard let serializer = choice(element, at: elementPath, SerializerKind.self) else {
                ok = false
                continue
            }
            if serializers.contains(serializer) {
                report(elementPath, "\(ConfigValueText.quoted(serializer.rawValue)) is listed twice")
                ok = false
            }
            serializers.append(serializer)
        }
        return ok ? serializers : nil
    }

    mutating func decodeTLS(_ node: JSONTreeNode, at path: String) -> TLSConfig? {
        guard let object = self.object(node, at: path, allowed: ["certificate", "key", "ca", "client_auth"]) else { return nil }
        let issuesBefore = issues.count
        let together = "(certificate and key go together)"
        if object["certificate"] == nil { report(path, "missing required key \"certificate\" \(together)") }
        if object["key"] == nil { report(path, "missing required key \"key\" \(together)") }
        let certificate = object["certificate"].flatMap { file($0, at: object.path("certificate")) }
        let key = object["key"].flatMap { file($0, at: object.path("key")) }
        let ca = object["ca"].flatMap { file($0, at: object.path("ca")) }
        let clientAuth = object["client_auth"].flatMap { bool($0, at: object.path("client_auth")) } ?? false
        if clientAuth && object["ca"] == nil {
            report(object.path("client_auth"), "true requires \"ca\", the PEM bundle that client certificates must be signed by")
        }
        guard issues.count == issuesBefore, let certificate, let key else { return nil }
        return TLSConfig(certificate: certificate, key: key, ca: ca, clientAuth: clientAuth)
    }

    /// Two listeners cannot bind overlapping addresses on one port: the same address, or a
    /// wildcard ("0.0.0.0" covers every IPv4 address, "::" every address) and anything else.
    mutating func checkAddressConflicts(_ listeners: [ListenerDraft]) {
        for j in listeners.indices {
            for i in 0..<j {
                let a = listeners[i]
                let b = listeners[j]
                guard let port = a.port, port == b.port, let hostA = a.host, let hostB = b.host,
                    let addressA = ListenerAddress(host: hostA), let addressB = ListenerAddress(host: hostB),
                    addressA.overlaps(addressB)
                else { continue }
                let shownA = ListenerConfig.address(host: hostA, port: port)
                let shownB = ListenerConfig.address(host: hostB, port: port)
                report(
                    JSONPath.member(b.jsonPath, "port"),
                    "\(shownB) conflicts with \(a.jsonPath) (\(shownA)): two listeners cannot share an address and port")
                break  // one report per listener is enough
            }
        }
    }
}
