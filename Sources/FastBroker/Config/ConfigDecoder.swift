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
    var maxURIBytes: Int? = LimitsConfig().maxURIBytes

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
}
