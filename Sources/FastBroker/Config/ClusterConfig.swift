// ClusterConfig: the optional `cluster` section (SPEC §7) — this node's name and the NATS cluster
// it joins — and its validation. The node name becomes part of NATS subjects and KV keys, so it
// is held to the characters those can carry unescaped; server URLs are checked one by one (a
// comma list in one string is refused: libnats takes an array, not a list in one URL).

import BrokerSerialization

public struct ClusterConfig: Sendable, Equatable {
    /// Unique name of this node in the cluster: 1–64 of `[A-Za-z0-9_-]`.
    public var node: String
    /// `nats://host[:port]` URLs of the NATS cluster's servers, in the order given.
    public var servers: [String]
    /// Lifetime of a group-ownership lease in the JetStream KV bucket (SPEC §7, default 10 s).
    public var leaseTTLMs: Int

    public static let defaultLeaseTTLMs = 10_000
    public static let leaseTTLRange = 1_000...3_600_000
    public static let maxNodeNameBytes = 64

    public init(node: String, servers: [String], leaseTTLMs: Int = ClusterConfig.defaultLeaseTTLMs) {
        self.node = node
        self.servers = servers
        self.leaseTTLMs = leaseTTLMs
    }

    /// True for a node name that can stand in a NATS subject token and a KV key as it is.
    public static func isValidNodeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxNodeNameBytes && name.utf8.allSatisfy(isPlainSubjectByte)
    }

    /// `[A-Za-z0-9_-]`: the bytes a NATS subject token (and a KV key) can hold with no escaping.
    public static func isPlainSubjectByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// Why `url` is not a usable `nats://host[:port]` server URL, or nil when it is.
    static func problem(withServerURL url: String) -> String? {
        let scheme = "nats://"
        guard url.hasPrefix(scheme) else { return "must start with \"nats://\"" }
        if url.contains(where: { $0 == "," || $0.isWhitespace }) {
            return "must be one URL (list several servers as separate array elements)"
        }
        var hostPort = Substring(url.dropFirst(scheme.count))
        if let at = hostPort.lastIndex(of: "@") { hostPort = hostPort[hostPort.index(after: at)...] }  // user:pass@
        if hostPort.hasSuffix("/") { hostPort = hostPort.dropLast() }
        guard !hostPort.isEmpty, !hostPort.contains("/") else { return "must be nats://host[:port]" }
        // A bracketed IPv6 host ("[::1]:4222") keeps its colons inside the brackets.
        let portSeparator = hostPort.hasPrefix("[") ? hostPort.range(of: "]:")?.upperBound : hostPort.firstIndex(of: ":").map { hostPort.index(after: $0) }
        guard let portStart = portSeparator else { return nil }
        let portText = hostPort[portStart...]
        guard let port = Int(portText), (1...65535).contains(port) else {
            return "has port \(ConfigValueText.quoted(String(portText))); expected an integer from 1 to 65535"
        }
        let host = hostPort[..<hostPort.index(before: portStart)]
        return host.isEmpty || host == "[" ? "must name a host before the port" : nil
    }
}

extension ConfigDecoder {
    /// `cluster`: `{"node": NAME, "nats": {"servers": [URL, …], "lease_ttl_ms": N}}`.
    mutating func decodeCluster(_ node: JSONTreeNode, at path: String) -> ClusterConfig? {
        guard let object = self.object(node, at: path, allowed: ["node", "nats"]) else { return nil }
        let issuesBefore = issues.count

        var name: String? = nil
        if let nameNode = require(object, "node"), let value = string(nameNode, at: object.path("node")) {
            if ClusterConfig.isValidNodeName(value) {
                name = value
            } else {
                report(
                    object.path("node"),
                    "expected 1 to \(ClusterConfig.maxNodeNameBytes) characters from A-Z, a-z, 0-9, '_' and '-' "
                        + "(it names this node in NATS subjects), got \(ConfigValueText.quoted(value))")
            }
        }

        var servers: [String] = []
        var leaseTTLMs = ClusterConfig.defaultLeaseTTLMs
        if let natsNode = require(object, "nats"),
            let nats = self.object(natsNode, at: object.path("nats"), allowed: ["servers", "lease_ttl_ms"])
        {
            if let serversNode = require(nats, "servers"), let elements = array(serversNode, at: nats.path("servers")) {
                if elements.isEmpty { report(nats.path("servers"), "at least one NATS server URL is required") }
                var firstPathByURL: [String: String] = [:]
                for (i, element) in elements.enumerated() {
                    let elementPath = JSONPath.element(nats.path("servers"), i)
                    guard let url = string(element, at: elementPath) else { continue }
                    if let problem = ClusterConfig.problem(withServerURL: url) {
                        report(elementPath, "\(ConfigValueText.quoted(url)) \(problem)")
                    } else if let first = firstPathByURL[url] {
                        report(elementPath, "duplicate server \(ConfigValueText.quoted(url)) (first at \(first))")
                    } else {
                        firstPathByURL[url] = elementPath
                        servers.append(url)
                    }
                }
            }
            if let ttlNode = nats["lease_ttl_ms"] {
                let range = ClusterConfig.leaseTTLRange
                leaseTTLMs =
                    integer(
                        ttlNode, at: nats.path("lease_ttl_ms"), in: range,
                        "an integer from \(range.lowerBound) to \(range.upperBound) (milliseconds)") ?? leaseTTLMs
            }
        }

        guard issues.count == issuesBefore, let name else { return nil }
        return ClusterConfig(node: name, servers: servers, leaseTTLMs: leaseTTLMs)
    }
}
