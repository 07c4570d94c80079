// The embedded default (SPEC §2) and its JSON text must agree, and describe what SPEC §2 says.

import XCTest

@testable import BrokerConfig

final class DefaultConfigurationTests: XCTestCase {
    func testDefaultJSONParsesToDefault() throws {
        let parsed = try BrokerConfiguration.parse(Array(BrokerConfiguration.defaultJSON.utf8), baseDirectory: "/tmp")
        XCTAssertEqual(parsed, BrokerConfiguration.default)
    }

    func testDefaultJSONIsValidJSONForPython() throws {
        // Cross-check with an independent parser: Python's json module must accept the text too.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import json,sys; json.load(sys.stdin)"]
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(BrokerConfiguration.defaultJSON.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testDefaultMatchesSpec() {
        let config = BrokerConfiguration.default
        XCTAssertEqual(config.loops, 0)
        XCTAssertEqual(config.listeners.count, 2)
        XCTAssertEqual(config.listeners[0].transport, .websocket)
        XCTAssertEqual(config.listeners[0].address, "127.0.0.1:8080")
        XCTAssertEqual(config.listeners[0].path, "/ws")
        XCTAssertEqual(config.listeners[0].serializers, [.json, .msgpack, .cbor])
        XCTAssertNil(config.listeners[0].tls)
        XCTAssertEqual(config.listeners[1].transport, .rawsocket)
        XCTAssertEqual(config.listeners[1].address, "127.0.0.1:8081")
        XCTAssertEqual(config.realms.map(\.name), ["realm1"])
        let realm = config.realms[0]
        XCTAssertEqual(realm.anonymousRole, "anonymous")
        XCTAssertNil(realm.wampcraUserDB)
        for uri in ["com.example.topic", "a", "wamp.session.on_join", ""] {
            XCTAssertTrue(realm.isAllowed(role: "anonymous", action: .publish, uri: uri), uri)
            XCTAssertTrue(realm.isAllowed(role: "anonymous", action: .subscribe, uri: uri), uri)
        }
        XCTAssertFalse(realm.isAllowed(role: "someone-else", action: .publish, uri: "a"))
        XCTAssertEqual(config.limits, LimitsConfig())
        XCTAssertEqual(config.limits.maxMessageBytes, 1_048_576)
        XCTAssertEqual(config.limits.maxSessionOutboundBytes, 8_388_608)
        XCTAssertEqual(config.limits.slowConsumer, .disconnect)
        XCTAssertEqual(config.limits.handshakeTimeoutMs, 10_000)
        XCTAssertEqual(config.metrics?.path, "/metrics")
    }

    func testSummaryNamesListenersRealmsAndLimits() {
        let summary = BrokerConfiguration.default.summary
        XCTAssertTrue(summary.contains("websocket 127.0.0.1:8080 path /ws"), summary)
        XCTAssertTrue(summary.contains("rawsocket 127.0.0.1:8081"), summary)
        XCTAssertTrue(summary.contains("realm: realm1"), summary)
        XCTAssertTrue(summary.contains("anonymous as anonymous"), summary)
        XCTAssertTrue(summary.contains("1048576"), summary)
        XCTAssertTrue(summary.contains("/metrics"), summary)
        XCTAssertFalse(summary.contains("TLS"), summary)
    }
}
