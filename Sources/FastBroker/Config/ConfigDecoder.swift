// ConfigDecoder: turns the JSON tree into a BrokerConfiguration, checking every rule of SPEC §3
// and §6. It never stops at the first problem: each one is recorded with its JSON path, a value
// that is wrong is skipped, and checks that span several values (duplicates, role references,
// metrics vs WebSocket paths) run on whatever parsed cleanly.

import BrokerSerialization
import Foundation

/// An object's members by key (first occurrence), with the object's own path.
struct ConfigObject {
    let path: String
    private let members: [String: JSONTreeNode]

    init(path: String, members: [String: JSONTreeNode]) {
        self.path = path
        self.members = members
    }

    subscript(key: String) -> JSONTreeNode? { members[key] }

    func path(_ key: String) -> String { JSONPath.member(path, key) }
}

struct ConfigDecoder {
    let baseDirectory: String
    private(set) var issues: [ConfigIssue] = []
    /// limits.max_uri_bytes for permission URIs; nil while `limits` is invalid (its own issue
    /// is reported; judging URIs by a default would add misleading ones).
    private var maxURIBytes: Int? = LimitsConfig().maxURIBytes

    init(baseDirectory: String) { self.baseDirectory = baseDirectory }

    mutating func report(_ path: String, _ message: String) {
        issues.append(ConfigIssue(path: path, message: message))
    }

    // MARK: - Top level

    mutating func decodeConfiguration(_ root: JSONTreeNode) -> BrokerConfiguration? {
        guard let object = self.object(root, at: "$", allowed: ["loops", "listeners", "realms", "limits", "metrics", "cluster"]) else {
            return nil
        }
        let issuesBefore = issues.count

        var loops = 0
        if let node = object["loops"] {
            loops = integer(node, at: object.path("loops"), in: 0...256, "an integer from 0 to 256 (0 = one per core)") ?? 0
        }

        // Every listener as far as it parsed: cross-checks also see listeners with other mistakes.
        var listeners: [ListenerDraft] = []
        if let node = require(object, "listeners"), let elements = array(node, at: object.path("listeners")) {
            if elements.isEmpty { report(object.path("listeners"), "at least one listener is required") }
            for (i, element) in elements.enumerated() {
                if let draft = decodeListener(element, at: JSONPath.element(object.path("listeners"), i)) { listeners.append(draft) }
            }
            checkAddressConflicts(listeners)
        }

        // Limits before realms (permission URIs are checked against limits.max_uri_bytes), by a
        // decoder of their own so their issues still come after the realms', in document order.
        var limits = LimitsConfig()
        var limitsIssues: [ConfigIssue] = []
        if let node = object["limits"] {
            var limitsDecoder = ConfigDecoder(baseDirectory: baseDirectory)
            let decoded = limitsDecoder.decodeLimits(node, at: object.path("limits"))
            limits = decoded ?? limits
            maxURIBytes = decoded?.maxURIBytes
            limitsIssues = limitsDecoder.issues
        }

        var realms: [RealmConfig] = []
        if let node = require(object, "realms"), let elements = array(node, at: object.path("realms")) {
            if elements.isEmpty { report(object.path("realms"), "at least one realm is required") }
            var firstPathByName: [String: String] = [:]
            for (i, element) in elements.enumerated() {
                let path = JSONPath.element(object.path("realms"), i)
                guard let realm = decodeRealm(element, at: path) else { continue }
                if let first = firstPathByName[realm.name] {
                    report(JSONPath.member(path, "name"), "duplicate realm name \(ConfigValueText.quoted(realm.name)) (first at \(first))")
                } else {
                    firstPathByName[realm.name] = path
                }
                realms.append(realm)
            }
        }
        issues.append(contentsOf: limitsIssues)

        var metrics: MetricsConfig? = nil
        if let node = object["metrics"] {
            metrics = decodeMetrics(node, at: object.path("metrics"))
            if let metrics {
                for listener in listeners where listener.transport == .websocket && listener.path == metrics.path {
                    report(
                        JSONPath.member(object.path("metrics"), "path"),
                        "\(ConfigValueText.quoted(metrics.path)) is also the WebSocket path of \(listener.jsonPath); "
                            + "metrics need a path of their own")
                }
            }
        }

        var cluster: ClusterConfig? = nil
        if let node = object["cluster"] { cluster = decodeCluster(node, at: object.path("cluster")) }

        guard issues.count == issuesBefore else { return nil }
        return BrokerConfiguration(
            loops: loops, listeners: listeners.compactMap(\.config), realms: realms, limits: limits, metrics: metrics,
            cluster: cluster)
    }

    // MARK: - Listeners

    /// A listener as far as it parsed; `config` is set only when all of it is valid.
    private struct ListenerDraft {
        var jsonPath: String
        var transport: TransportKind?
        var host: String?
        var port: Int?
        var path: String?  // nil when the given path is invalid
        var config: ListenerConfig?
    }

    private mutating func decodeListener(_ node: JSONTreeNode, at path: String) -> ListenerDraft? {
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
    private mutating func decodeHost(_ node: JSONTreeNode, at path: String) -> String? {
        guard let host = string(node, at: path) else { return nil }
        guard ListenerAddress(host: host) != nil else {
            report(path, "expected a numeric IPv4 or IPv6 address (e.g. \"127.0.0.1\", \"0.0.0.0\", \"::1\"), got \(ConfigValueText.quoted(host))")
            return nil
        }
        return host
    }

    private mutating func decodeSerializers(_ node: JSONTreeNode, at path: String) -> [SerializerKind]? {
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

    private mutating func decodeTLS(_ node: JSONTreeNode, at path: String) -> TLSConfig? {
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
    private mutating func checkAddressConflicts(_ listeners: [ListenerDraft]) {
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

    // MARK: - Realms

    private mutating func decodeRealm(_ node: JSONTreeNode, at path: String) -> RealmConfig? {
        guard let object = self.object(node, at: path, allowed: ["name", "auth", "roles"]) else { return nil }
        let issuesBefore = issues.count

        let name = require(object, "name").flatMap { string($0, at: object.path("name")) }
        if let name, !WAMPURIRule.isLooseNonEmpty(name) {
            report(
                object.path("name"),
                "\(ConfigValueText.quoted(name)) is not a valid realm URI: expected dot-separated non-empty components "
                    + "without whitespace or '#' (e.g. \"realm1\", \"com.example.app\")")
        }

        var userDBs: [String: String] = [:]   // method → userdb path
        var anonymousRole: (name: String, jsonPath: String)? = nil
        var keepAuthid = false
        let userDBMethods = ["wampcra", "ticket", "cryptosign"]
        let noAuth = "a realm needs at least one authentication method: \"anonymous\", \"wampcra\", \"ticket\" or \"cryptosign\""
        if let authNode = object["auth"] {
            if let auth = self.object(authNode, at: object.path("auth"), allowed: ["anonymous"] + userDBMethods) {
                if auth["anonymous"] == nil && userDBMethods.allSatisfy({ auth[$0] == nil }) { report(auth.path, noAuth) }
                for method in userDBMethods {
                    if let node = auth[method], let entry = self.object(node, at: auth.path(method), allowed: ["userdb"]) {
                        userDBs[method] = require(entry, "userdb").flatMap { file($0, at: entry.path("userdb")) }
                    }
                }
                if let node = auth["anonymous"],
                   let anonymous = self.object(node, at: auth.path("anonymous"), allowed: ["role", "keep_authid"]) {
                    if let role = require(anonymous, "role").flatMap({ string($0, at: anonymous.path("role"), nonEmpty: true) }) {
                        anonymousRole = (role, anonymous.path("role"))
                    }
                    keepAuthid = anonymous["keep_authid"].flatMap { bool($0, at: anonymous.path("keep_authid")) } ?? false
                }
            }
        } else {
            report(path, "missing required key \"auth\" (\(noAuth))")
        }

        var roles: [RoleConfig] = []
        var roleNames: [String] = []
        var allRoleNamesKnown = false  // false while some role's name is missing or malformed
        if let rolesNode = require(object, "roles"), let elements = array(rolesNode, at: object.path("roles")) {
            allRoleNamesKnown = true
            if elements.isEmpty { report(object.path("roles"), "at least one role is required (a realm without roles grants nothing)") }
            var firstPathByName: [String: String] = [:]
            for (i, element) in elements.enumerated() {
                let rolePath = JSONPath.element(object.path("roles"), i)
                let (roleName, role) = decodeRole(element, at: rolePath)
                guard let roleName else {
                    allRoleNamesKnown = false
                    continue
                }
                if let first = firstPathByName[roleName] {
                    report(JSONPath.member(rolePath, "name"), "duplicate role name \(ConfigValueText.quoted(roleName)) (first at \(first))")
                } else {
                    firstPathByName[roleName] = rolePath
                    roleNames.append(roleName)
                }
                if let role { roles.append(role) }
            }
        }

        // Judged only against a complete list of role names, so one typo is not reported twice.
        if let anonymousRole, allRoleNamesKnown, !roleNames.contains(anonymousRole.name) {
            let known = roleNames.isEmpty ? "none" : roleNames.map { ConfigValueText.quoted($0) }.joined(separator: ", ")
            var message = "no role named \(ConfigValueText.quoted(anonymousRole.name)) in this realm (roles: \(known))"
            if let guess = ConfigKeySuggestion.closest(to: anonymousRole.name, in: roleNames) {
                message += "; did you mean \(ConfigValueText.quoted(guess))?"
            }
            report(anonymousRole.jsonPath, message)
        }

        guard issues.count == issuesBefore, let name else { return nil }
        return RealmConfig(name: name, wampcraUserDB: userDBs["wampcra"], anonymousRole: anonymousRole?.name,
                           anonymousKeepsAuthid: keepAuthid, roles: roles, ticketUserDB: userDBs["ticket"],
                           cryptosignUserDB: userDBs["cryptosign"])
    }

    /// The role's name (when valid, even if its permissions are not) and the role (when all valid).
    private mutating func decodeRole(_ node: JSONTreeNode, at path: String) -> (String?, RoleConfig?) {
        guard let object = self.object(node, at: path, allowed: ["name", "permissions"]) else { return (nil, nil) }
        let issuesBefore = issues.count
        let name = require(object, "name").flatMap { string($0, at: object.path("name"), nonEmpty: true) }
        var permissions: [Permission] = []
        if let node = require(object, "permissions"), let elements = array(node, at: object.path("permissions")) {
            for (i, element) in elements.enumerated() {
                if let permission = decodePermission(element, at: JSONPath.element(object.path("permissions"), i)) {
                    permissions.append(permission)
                }
            }
        }
        guard issues.count == issuesBefore, let name else { return (name, nil) }
        return (name, RoleConfig(name: name, permissions: permissions))
    }

    private mutating func decodePermission(_ node: JSONTreeNode, at path: String) -> Permission? {
        guard let object = self.object(node, at: path, allowed: ["uri", "match", "publish", "subscribe"]) else { return nil }
        let issuesBefore = issues.count
        let uri = require(object, "uri").flatMap { string($0, at: object.path("uri")) }
        let match = object["match"].map { choice($0, at: object.path("match"), MatchPolicy.self) } ?? .exact
        let publish = object["publish"].flatMap { bool($0, at: object.path("publish")) } ?? false
        let subscribe = object["subscribe"].flatMap { bool($0, at: object.path("subscribe")) } ?? false
        if let uri {
            if let maxURIBytes, uri.utf8.count > maxURIBytes {
                report(object.path("uri"), "a URI of \(uri.utf8.count) bytes is longer than limits.max_uri_bytes (\(maxURIBytes))")
            } else if !WAMPURIRule.isLooseAllowingEmpty(uri) {
                report(object.path("uri"), "\(ConfigValueText.quoted(uri)) is not a valid URI pattern: whitespace and '#' are not allowed")
            } else if uri.isEmpty && match == .exact {
                report(
                    object.path("uri"),
                    "an empty URI with \"match\": \"exact\" matches nothing; use \"match\": \"prefix\" to match every URI")
            }
        }
        guard issues.count == issuesBefore, let uri, let match else { return nil }
        return Permission(uri: uri, match: match, publish: publish, subscribe: subscribe)
    }

    // MARK: - Limits and metrics

    private mutating func decodeLimits(_ node: JSONTreeNode, at path: String) -> LimitsConfig? {
        let keys = ["max_message_bytes", "max_session_outbound_bytes", "slow_consumer", "handshake_timeout_ms",
                    "max_uri_bytes", "max_subscriptions_per_session", "max_list_option_entries", "max_connections",
                    "max_connections_per_ip", "frame_timeout_ms", "idle_timeout_ms", "max_retained_bytes"]
        guard let object = self.object(node, at: path, allowed: keys) else { return nil }
        let issuesBefore = issues.count
        var limits = LimitsConfig()
        let ceiling = LimitsConfig.maxMessageBytesCeiling
        if let node = object["max_message_bytes"],
            let value = integer(node, at: object.path("max_message_bytes"), in: 1...ceiling,
                                "an integer from 1 to \(ceiling) (16 MiB, the RawSocket ceiling)")
        {
            limits.maxMessageBytes = value
        }
        if let node = object["max_session_outbound_bytes"],
            let value = integer(node, at: object.path("max_session_outbound_bytes"), in: 1...Int.max, "a positive integer")
        {
            limits.maxSessionOutboundBytes = value
        }
        if let node = object["slow_consumer"], let value = choice(node, at: object.path("slow_consumer"), SlowConsumerPolicy.self) {
            limits.slowConsumer = value
        }
        if let node = object["handshake_timeout_ms"],
            let value = integer(node, at: object.path("handshake_timeout_ms"), in: 1...Int.max, "a positive integer")
        {
            limits.handshakeTimeoutMs = value
        }
        // The remaining limits are plain counts and durations.
        let int32 = Int(Int32.max)
        let counts: [(String, WritableKeyPath<LimitsConfig, Int>, ClosedRange<Int>, String)] = [
            ("max_uri_bytes", \.maxURIBytes, 1...ceiling, "an integer from 1 to \(ceiling)"),
            ("max_subscriptions_per_session", \.maxSubscriptionsPerSession, 1...int32, "an integer from 1 to \(int32)"),
            ("max_list_option_entries", \.maxListOptionEntries, 0...int32, "an integer from 0 to \(int32)"),
            ("max_connections", \.maxConnections, 1...int32, "an integer from 1 to \(int32)"),
            ("max_connections_per_ip", \.maxConnectionsPerIP, 1...int32, "an integer from 1 to \(int32)"),
            ("frame_timeout_ms", \.frameTimeoutMs, 1...int32, "an integer from 1 to \(int32)"),
            ("idle_timeout_ms", \.idleTimeoutMs, 0...int32, "an integer from 0 to \(int32) (0 = off)"),
            ("max_retained_bytes", \.maxRetainedBytes, 0...Int.max, "a non-negative integer"),
        ]
        for (key, field, range, expected) in counts {
            if let node = object[key], let value = integer(node, at: object.path(key), in: range, expected) {
                limits[keyPath: field] = value
            }
        }
        if issues.count == issuesBefore && limits.maxSessionOutboundBytes < limits.maxMessageBytes {
            // Otherwise a single maximal event would overflow an idle session's buffer.
            report(
                object.path("max_session_outbound_bytes"),
                "\(limits.maxSessionOutboundBytes) is less than max_message_bytes (\(limits.maxMessageBytes)); "
                    + "a session must be able to hold at least one message")
        }
        return issues.count == issuesBefore ? limits : nil
    }

    private mutating func decodeMetrics(_ node: JSONTreeNode, at path: String) -> MetricsConfig? {
        guard let object = self.object(node, at: path, allowed: ["path"]) else { return nil }
        guard let pathNode = object["path"] else { return MetricsConfig() }
        guard let value = string(pathNode, at: object.path("path")) else { return nil }
        if !value.hasPrefix("/") {
            report(object.path("path"), "must start with \"/\", got \(ConfigValueText.quoted(value))")
            return nil
        }
        if value.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace }) {
            report(object.path("path"), "must be a plain HTTP path without spaces, '?' or '#', got \(ConfigValueText.quoted(value))")
            return nil
        }
        return MetricsConfig(path: value)
    }

    // MARK: - Typed accessors (each reports its own problem and returns nil)

    /// The node as an object whose keys are all in `allowed`; unknown keys are reported (the reader
    /// already refused duplicates).
    mutating func object(_ node: JSONTreeNode, at path: String, allowed: [String]) -> ConfigObject? {
        guard case .object(let members) = node.value else {
            report(path, "expected an object, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        var byKey: [String: JSONTreeNode] = [:]
        for member in members {
            let memberPath = JSONPath.member(path, member.key)
            guard allowed.contains(member.key) else {
                var message = "unknown key \(ConfigValueText.quoted(member.key))"
                if let guess = ConfigKeySuggestion.closest(to: member.key, in: allowed) {
                    message += " (did you mean \(ConfigValueText.quoted(guess))?)"
                }
                message += "; allowed keys: " + allowed.joined(separator: ", ")
                report(memberPath, message)
                continue
            }
            byKey[member.key] = member.node
        }
        return ConfigObject(path: path, members: byKey)
    }

    mutating func require(_ object: ConfigObject, _ key: String) -> JSONTreeNode? {
        guard let node = object[key] else {
            report(object.path, "missing required key \(ConfigValueText.quoted(key))")
            return nil
        }
        return node
    }

    mutating func array(_ node: JSONTreeNode, at path: String) -> [JSONTreeNode]? {
        guard case .array(let elements) = node.value else {
            report(path, "expected an array, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        return elements
    }

    mutating func string(_ node: JSONTreeNode, at path: String, nonEmpty: Bool = false) -> String? {
        guard case .string(let value) = node.value else {
            report(path, "expected a string, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        if nonEmpty && value.isEmpty {
            report(path, "expected a non-empty string")
            return nil
        }
        return value
    }

    private mutating func bool(_ node: JSONTreeNode, at path: String) -> Bool? {
        guard case .bool(let value) = node.value else {
            report(path, "expected true or false, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        return value
    }

    /// An integer within `range`; `expected` describes the range in the message.
    mutating func integer(_ node: JSONTreeNode, at path: String, in range: ClosedRange<Int>, _ expected: String) -> Int? {
        guard case .number(let text, let isInteger) = node.value, isInteger, let value = Int(text), range.contains(value) else {
            report(path, "expected \(expected), got \(ConfigValueText.describe(node.value))")
            return nil
        }
        return value
    }

    /// One of an enumeration's raw values.
    private mutating func choice<E: RawRepresentable & CaseIterable>(
        _ node: JSONTreeNode, at path: String, _ type: E.Type
    ) -> E? where E.RawValue == String {
        if case .string(let text) = node.value, let value = E(rawValue: text) { return value }
        let names = E.allCases.map(\.rawValue)
        var message = "expected \(ConfigValueText.list(names)), got \(ConfigValueText.describe(node.value))"
        if case .string(let text) = node.value, let guess = ConfigKeySuggestion.closest(to: text, in: names) {
            message += " (did you mean \(ConfigValueText.quoted(guess))?)"
        }
        report(path, message)
        return nil
    }

    /// A non-empty path string, resolved against the configuration's directory, naming a readable file.
    private mutating func file(_ node: JSONTreeNode, at path: String) -> String? {
        guard let written = string(node, at: path, nonEmpty: true) else { return nil }
        let resolved = ConfigFilePath.resolve(written, against: baseDirectory)
        if let problem = ConfigFilePath.problemReading(resolved) {
            report(path, "cannot use \(ConfigValueText.quoted(written)): \(problem)")
            return nil
        }
        return resolved
    }
}
