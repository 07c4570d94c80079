// One test per validation rule: each checks the exact JSON path and message of the issue, and
// that the neighbouring valid values are still accepted (so a rule cannot pass by refusing all).

import XCTest

@testable import BrokerConfig

final class ValidationTests: XCTestCase {
    typealias Doc = ConfigDocument

    // MARK: - Shape of the document

    func testRootMustBeAnObject() {
        XCTAssertEqual(configIssues("[]"), [ConfigIssue(path: "$", message: "expected an object, got an empty array")])
        XCTAssertEqual(configIssues("\"x\""), [ConfigIssue(path: "$", message: "expected an object, got \"x\"")])
    }

    func testMinimalDocumentIsAccepted() {
        let config = parseConfig(Doc.with())
        XCTAssertEqual(config?.loops, 0)
        XCTAssertEqual(config?.limits, LimitsConfig())
        XCTAssertNil(config?.metrics, "no metrics key = no metrics endpoint")
        XCTAssertEqual(config?.listeners.first?.path, "/ws")
        XCTAssertEqual(config?.listeners.first?.serializers, [.json, .msgpack, .cbor])
    }

    func testUnknownKeysAreNamedWithTheAllowedOnes() {
        XCTAssertEqual(
            configIssues(#"{"listners": [], "realms": [\#(Doc.realm)]}"#),
            [
                ConfigIssue(
                    path: "$.listners",
                    message: "unknown key \"listners\" (did you mean \"listeners\"?); allowed keys: loops, listeners, realms, limits, metrics, cluster"),
                ConfigIssue(path: "$", message: "missing required key \"listeners\""),
            ])
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "websocket", "host": "127.0.0.1", "port": 1, "compression": true}"#)),
            [
                ConfigIssue(
                    path: "$.listeners[0].compression",
                    message: "unknown key \"compression\"; allowed keys: transport, host, port, path, serializers, tls")
            ])
        // Keys that are not identifiers are quoted in the path.
        XCTAssertEqual(configIssues(Doc.with(extra: #", "my key": 1"#)).map(\.path), [#"$["my key"]"#])
    }

    func testDuplicateKeysAreRefused() {
        // The reader refuses the second copy, naming its path and where it is in the text.
        XCTAssertEqual(
            configIssues("{\"loops\": 1,\n \"loops\": 2}"),
            [ConfigIssue(path: "$.loops", message: "line 2, column 2: duplicate key \"loops\" (each key may appear once)")])
        XCTAssertEqual(
            configIssues(#"{"listeners": [{"port": 1, "host": "a", "port": 2}]}"#),
            [ConfigIssue(
                path: "$.listeners[0].port",
                message: "line 1, column 41: duplicate key \"port\" (each key may appear once)")])
    }

    func testRequiredKeys() {
        XCTAssertEqual(
            configIssues(#"{"realms": [\#(Doc.realm)]}"#), [ConfigIssue(path: "$", message: "missing required key \"listeners\"")])
        XCTAssertEqual(
            configIssues(#"{"listeners": [\#(Doc.listener)]}"#), [ConfigIssue(path: "$", message: "missing required key \"realms\"")])
        XCTAssertEqual(
            configIssues(Doc.withListener("{}")),
            [
                ConfigIssue(path: "$.listeners[0]", message: "missing required key \"transport\""),
                ConfigIssue(path: "$.listeners[0]", message: "missing required key \"host\""),
                ConfigIssue(path: "$.listeners[0]", message: "missing required key \"port\""),
            ])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"auth": {"anonymous": {"role": "r"}}, "roles": [{"name": "r", "permissions": []}]}"#)),
            [ConfigIssue(path: "$.realms[0]", message: "missing required key \"name\"")])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": "r"}}, "roles": [{"name": "r"}]}"#)),
            [ConfigIssue(path: "$.realms[0].roles[0]", message: "missing required key \"permissions\"")])
    }

    func testAtLeastOneListenerAndOneRealm() {
        XCTAssertEqual(
            configIssues(Doc.with(listeners: "[]", realms: "[]")),
            [
                ConfigIssue(path: "$.listeners", message: "at least one listener is required"),
                ConfigIssue(path: "$.realms", message: "at least one realm is required"),
            ])
        XCTAssertEqual(
            configIssues(Doc.with(listeners: "{}")), [ConfigIssue(path: "$.listeners", message: "expected an array, got an empty object")])
    }

    // MARK: - loops

    func testLoopsRange() {
        for good in [0, 1, 256] { XCTAssertEqual(parseConfig(Doc.with(extra: #", "loops": \#(good)"#))?.loops, good) }
        for bad in ["-1", "257", "\"4\"", "1.5", "2e0", "true", "99999999999999999999"] {
            XCTAssertEqual(
                configIssues(Doc.with(extra: #", "loops": \#(bad)"#)),
                [ConfigIssue(path: "$.loops", message: "expected an integer from 0 to 256 (0 = one per core), got \(bad)")])
        }
    }

    // MARK: - Limits and metrics

    func testLimits() {
        let ceiling = 16 * 1024 * 1024
        let config = parseConfig(
            Doc.with(
                extra:
                    #", "limits": {"max_message_bytes": \#(ceiling), "max_session_outbound_bytes": \#(ceiling), "slow_consumer": "drop", "handshake_timeout_ms": 1}"#
            ))
        XCTAssertEqual(
            config?.limits,
            LimitsConfig(maxMessageBytes: ceiling, maxSessionOutboundBytes: ceiling, slowConsumer: .drop, handshakeTimeoutMs: 1))
        XCTAssertEqual(
            parseConfig(Doc.with(extra: #", "limits": {"handshake_timeout_ms": 500}"#))?.limits,
            LimitsConfig(handshakeTimeoutMs: 500), "unspecified limits keep their defaults")

        let messageRange = "expected an integer from 1 to 16777216 (16 MiB, the RawSocket ceiling)"
        for bad in ["0", "16777217", "-1", "1.5", "\"1MB\""] {
            XCTAssertEqual(
                configIssues(Doc.with(extra: #", "limits": {"max_message_bytes": \#(bad)}"#)),
                [ConfigIssue(path: "$.limits.max_message_bytes", message: "\(messageRange), got \(bad)")])
        }
        XCTAssertEqual(
            configIssues(
                Doc.with(extra: #", "limits": {"max_session_outbound_bytes": 0, "slow_consumer": "block", "handshake_timeout_ms": -5}"#)),
            [
                ConfigIssue(path: "$.limits.max_session_outbound_bytes", message: "expected a positive integer, got 0"),
                ConfigIssue(path: "$.limits.slow_consumer", message: "expected \"disconnect\" or \"drop\", got \"block\""),
                ConfigIssue(path: "$.limits.handshake_timeout_ms", message: "expected a positive integer, got -5"),
            ])
        XCTAssertEqual(
            configIssues(Doc.with(extra: #", "limits": {"max_message_bytes": 2000, "max_session_outbound_bytes": 1999}"#)),
            [
                ConfigIssue(
                    path: "$.limits.max_session_outbound_bytes",
                    message: "1999 is less than max_message_bytes (2000); a session must be able to hold at least one message")
            ])
        XCTAssertEqual(
            configIssues(Doc.with(extra: #", "limits": {"max_frame": 1}"#)),
            [
                ConfigIssue(
                    path: "$.limits.max_frame",
                    message: "unknown key \"max_frame\"; allowed keys: max_message_bytes, max_session_outbound_bytes, slow_consumer, "
                        + "handshake_timeout_ms, max_uri_bytes, max_subscriptions_per_session, max_list_option_entries, max_connections, "
                        + "max_connections_per_ip, frame_timeout_ms, idle_timeout_ms, max_retained_bytes")
            ])
    }

    func testMetrics() {
        XCTAssertEqual(parseConfig(Doc.with(extra: #", "metrics": {}"#))?.metrics, MetricsConfig(path: "/metrics"))
        XCTAssertEqual(parseConfig(Doc.with(extra: #", "metrics": {"path": "/stats"}"#))?.metrics, MetricsConfig(path: "/stats"))
        XCTAssertEqual(
            configIssues(Doc.with(extra: #", "metrics": {"path": "metrics"}"#)),
            [ConfigIssue(path: "$.metrics.path", message: "must start with \"/\", got \"metrics\"")])
        XCTAssertEqual(
            configIssues(Doc.with(extra: #", "metrics": "/metrics""#)),
            [ConfigIssue(path: "$.metrics", message: "expected an object, got \"/metrics\"")])
        // The metrics path must differ from every WebSocket listener's path (RawSocket has none).
        let listeners = #"""
            [{"transport": "websocket", "host": "127.0.0.1", "port": 1, "path": "/a"},
             {"transport": "websocket", "host": "127.0.0.1", "port": 2},
             {"transport": "rawsocket", "host": "127.0.0.1", "port": 3}]
            """#
        XCTAssertEqual(
            configIssues(Doc.with(listeners: listeners, extra: #", "metrics": {"path": "/ws"}"#)),
            [
                ConfigIssue(
                    path: "$.metrics.path", message: "\"/ws\" is also the WebSocket path of $.listeners[1]; metrics need a path of their own")
            ])
        XCTAssertNotNil(parseConfig(Doc.with(listeners: listeners, extra: #", "metrics": {"path": "/b"}"#)))
    }

    // MARK: - Many problems at once

    func testAllProblemsAreReportedTogether() {
        let json = #"""
            {
              "loops": 300,
              "listeners": [
                {"transport": "websocket", "host": "127.0.0.1", "port": 8080, "serializers": ["json", "json"]},
                {"transport": "rawsocket", "host": "127.0.0.1", "port": "80a", "path": "/x"}
              ],
              "realms": [
                {"name": "bad name", "auth": {"anonymous": {"role": "nobody"}},
                 "roles": [{"name": "r", "permissions": [{"uri": "a", "match": "regex", "publsh": true}]}]}
              ],
              "limits": {"slow_consumer": "wait"},
              "metrics": {"path": "/ws"}
            }
            """#
        XCTAssertEqual(
            configIssues(json).map(\.path),
            [
                "$.loops",
                "$.listeners[0].serializers[1]",
                "$.listeners[1].port",
                "$.listeners[1].path",
                "$.realms[0].name",
                "$.realms[0].roles[0].permissions[0].publsh",
                "$.realms[0].roles[0].permissions[0].match",
                "$.realms[0].auth.anonymous.role",
                "$.limits.slow_consumer",
                "$.metrics.path",
            ])
        let error = ConfigError(issues: configIssues(json))
        XCTAssertEqual(error.description.split(separator: "\n").count, 10)
        XCTAssertTrue(
            error.description.contains(
                #"$.realms[0].roles[0].permissions[0].publsh: unknown key "publsh" (did you mean "publish"?); allowed keys: uri, match, publish, subscribe"#),
            error.description)
    }
}
