// BrokerConfiguration: the whole broker configuration (SPEC §2, §3, §6): the embedded default,
// parsing and loading of the JSON file (every problem reported with its JSON path), and a short
// human summary printed at start-up.

import BrokerSerialization
import Foundation

public struct BrokerConfiguration: Sendable, Equatable {
    /// Event-loop threads; 0 = one per core.
    public var loops: Int
    public var listeners: [ListenerConfig]
    public var realms: [RealmConfig]
    public var limits: LimitsConfig
    /// nil = no metrics endpoint.
    public var metrics: MetricsConfig?
    /// nil = a stand-alone broker; otherwise the NATS cluster this node joins (SPEC §7).
    public var cluster: ClusterConfig?

    public init(
        loops: Int = 0, listeners: [ListenerConfig], realms: [RealmConfig], limits: LimitsConfig = LimitsConfig(),
        metrics: MetricsConfig? = MetricsConfig(), cluster: ClusterConfig? = nil
    ) {
        self.loops = loops
        self.listeners = listeners
        self.realms = realms
        self.limits = limits
        self.metrics = metrics
        self.cluster = cluster
    }

    /// SPEC §2: WebSocket on 127.0.0.1:8080 `/ws`, RawSocket on 127.0.0.1:8081, realm `realm1`
    /// open to anonymous (role "anonymous") with publish and subscribe on every URI.
    public static let `default` = BrokerConfiguration(
        loops: 0,
        listeners: [
            ListenerConfig(transport: .websocket, host: "127.0.0.1", port: 8080, path: "/ws"),
            ListenerConfig(transport: .rawsocket, host: "127.0.0.1", port: 8081),
        ],
        realms: [
            RealmConfig(
                name: "realm1", anonymousRole: "anonymous",
                roles: [
                    RoleConfig(
                        name: "anonymous",
                        permissions: [Permission(uri: "", match: .prefix, publish: true, subscribe: true)])
                ])
        ],
        limits: LimitsConfig(),
        metrics: MetricsConfig())

    /// `default` as configuration text: printed at start-up, and a starting point for a file.
    /// (A test checks that parsing it gives exactly `default`.)
    public static let defaultJSON = """
        {
          "loops": 0,
          "listeners": [
            {"transport": "websocket", "host": "127.0.0.1", "port": 8080, "path": "/ws",
             "serializers": ["json", "msgpack", "cbor"]},
            {"transport": "rawsocket", "host": "127.0.0.1", "port": 8081,
             "serializers": ["json", "msgpack", "cbor"]}
          ],
          "realms": [
            {"name": "realm1",
             "auth": {"anonymous": {"role": "anonymous"}},
             "roles": [
               {"name": "anonymous", "permissions": [{"uri": "", "match": "prefix",
                                                      "publish": true, "subscribe": true}]}]}
          ],
          "limits": {"max_message_bytes": 1048576, "max_session_outbound_bytes": 8388608,
                     "slow_consumer": "disconnect", "handshake_timeout_ms": 10000},
          "metrics": {"path": "/metrics"}
        }

        """

    /// Parses and validates configuration text. Relative file paths (TLS, userdb) are resolved
    /// against `baseDirectory` and must name readable files. Throws every problem found.
    public static func parse(_ bytes: [UInt8], baseDirectory: String) throws(ConfigError) -> BrokerConfiguration {
        let root: JSONTreeNode
        do {
            root = try JSONTreeReader.read(bytes)
        } catch {
            let (line, column) = error.lineAndColumn(in: bytes)
            throw ConfigError(issues: [
                ConfigIssue(
                    path: error.path,
                    message: (error.kind == .syntax ? "malformed JSON at line" : "line") + " \(line), column \(column): \(error.message)")
            ])
        }
        var decoder = ConfigDecoder(baseDirectory: baseDirectory)
        let configuration = decoder.decodeConfiguration(root)
        guard decoder.issues.isEmpty, let configuration else { throw ConfigError(issues: decoder.issues) }
        return configuration
    }

    /// Reads and parses the file at `path`; relative paths inside it are resolved against its
    /// directory (made absolute, so a later reload does not depend on the working directory).
    public static func load(path: String) throws(ConfigError) -> BrokerConfiguration {
        let absolute = ConfigFilePath.resolve(path, against: FileManager.default.currentDirectoryPath)
        if let problem = ConfigFilePath.problemReading(absolute) {
            throw ConfigError(issues: [
                ConfigIssue(path: "$", message: "cannot read the configuration file \(ConfigValueText.quoted(path)): \(problem)")
            ])
        }
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw ConfigError(issues: [
                ConfigIssue(path: "$", message: "cannot read the configuration file \(ConfigValueText.quoted(path))")
            ])
        }
        return try parse([UInt8](data), baseDirectory: ConfigFilePath.directory(of: absolute))
    }

    /// A few lines for the start-up log: listeners, realms, limits.
    public var summary: String {
        var lines: [String] = []
        lines.append("loops: " + (loops == 0 ? "one per core" : String(loops)))
        for listener in listeners {
            var line = "listener: \(listener.transport.rawValue) \(listener.address)"
            if listener.transport == .websocket { line += " path \(listener.path)" }
            line += ", serializers " + listener.serializers.map(\.rawValue).joined(separator: ", ")
            if let tls = listener.tls {
                line += ", TLS" + (tls.clientAuth ? " with client certificates required" : "")
            }
            lines.append(line)
        }
        for realm in realms {
            var auth: [String] = []
            if let role = realm.anonymousRole { auth.append("anonymous as \(role)") }
            if let userDB = realm.wampcraUserDB { auth.append("wampcra (\(userDB))") }
            if let userDB = realm.ticketUserDB { auth.append("ticket (\(userDB))") }
            if let userDB = realm.cryptosignUserDB { auth.append("cryptosign (\(userDB))") }
            let roles = realm.roles.map { "\($0.name) (\($0.permissions.count) permissions)" }
            lines.append(
                "realm: \(realm.name); auth: " + auth.joined(separator: ", ") + "; roles: " + roles.joined(separator: ", "))
        }
        lines.append(
            "limits: messages up to \(limits.maxMessageBytes) bytes, \(limits.maxSessionOutboundBytes) outbound bytes per session"
                + " (slow consumer: \(limits.slowConsumer.rawValue)), handshake timeout \(limits.handshakeTimeoutMs) ms")
        lines.append("metrics: " + (metrics.map { "GET \($0.path) on WebSocket listeners" } ?? "off"))
        if let cluster {
            lines.append("cluster: node \(cluster.node) via NATS " + cluster.servers.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
