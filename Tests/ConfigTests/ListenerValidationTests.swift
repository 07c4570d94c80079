// The `listeners` rules (ConfigDecoder+Listeners.swift), one test per rule: each checks the exact
// JSON path and message, and that the neighbouring valid values are still accepted.

import XCTest

@testable import BrokerConfig

final class ListenerValidationTests: XCTestCase {
    typealias Doc = ConfigDocument

    func testPortRange() {
        func listener(_ port: String) -> String { #"{"transport": "rawsocket", "host": "127.0.0.1", "port": \#(port)}"# }
        for good in [1, 8080, 65535] { XCTAssertEqual(parseConfig(Doc.withListener(listener(String(good))))?.listeners[0].port, good) }
        XCTAssertEqual(
            configIssues(Doc.with(listeners: "[\(Doc.listener), \(listener("\"80a\""))]")).map(\.description),
            [#"$.listeners[1].port: expected an integer from 1 to 65535, got "80a""#])
        for bad in ["0", "65536", "-80", "80.0", "8e3", "null"] {
            XCTAssertEqual(
                configIssues(Doc.withListener(listener(bad))),
                [ConfigIssue(path: "$.listeners[0].port", message: "expected an integer from 1 to 65535, got \(bad)")])
        }
    }

    func testTransportValues() {
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "http", "host": "127.0.0.1", "port": 80}"#)),
            [ConfigIssue(path: "$.listeners[0].transport", message: "expected \"websocket\" or \"rawsocket\", got \"http\"")])
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "WebSocket", "host": "127.0.0.1", "port": 80}"#)).map(\.path),
            ["$.listeners[0].transport"])
    }

    func testHostMustBeANumericAddress() {
        for good in ["127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1"] {
            XCTAssertEqual(
                parseConfig(Doc.withListener(#"{"transport": "websocket", "host": "\#(good)", "port": 80}"#))?.listeners[0].host, good)
        }
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "websocket", "host": "localhost", "port": 80}"#)),
            [
                ConfigIssue(
                    path: "$.listeners[0].host",
                    message: "expected a numeric IPv4 or IPv6 address (e.g. \"127.0.0.1\", \"0.0.0.0\", \"::1\"), got \"localhost\"")
            ])
        for bad in ["", "127.0.0.256", "1.2.3", " 127.0.0.1"] {
            XCTAssertEqual(
                configIssues(Doc.withListener(#"{"transport": "websocket", "host": "\#(bad)", "port": 80}"#)).map(\.path),
                ["$.listeners[0].host"], bad)
        }
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "websocket", "host": 127, "port": 80}"#)),
            [ConfigIssue(path: "$.listeners[0].host", message: "expected a string, got 127")])
    }

    func testDuplicateAddressesAmongListeners() {
        func listener(_ host: String, _ port: Int, _ transport: String = "websocket") -> String {
            #"{"transport": "\#(transport)", "host": "\#(host)", "port": \#(port)}"#
        }
        XCTAssertEqual(
            configIssues(Doc.with(listeners: "[\(listener("127.0.0.1", 8080)), \(listener("127.0.0.1", 8080, "rawsocket"))]")),
            [
                ConfigIssue(
                    path: "$.listeners[1].port",
                    message: "127.0.0.1:8080 conflicts with $.listeners[0] (127.0.0.1:8080): two listeners cannot share an address and port")
            ])
        // Wildcards overlap the specific addresses they cover.
        let conflicting: [(String, String)] = [("0.0.0.0", "127.0.0.1"), ("127.0.0.1", "0.0.0.0"), ("::", "127.0.0.1"), ("::1", "::"), ("::1", "::1")]
        for (a, b) in conflicting {
            XCTAssertEqual(
                configIssues(Doc.with(listeners: "[\(listener(a, 9000)), \(listener(b, 9000))]")).map(\.path), ["$.listeners[1].port"],
                "\(a) vs \(b)")
        }
        let compatible: [(String, Int, String, Int)] = [
            ("127.0.0.1", 9000, "127.0.0.2", 9000), ("0.0.0.0", 9000, "::1", 9000), ("127.0.0.1", 9000, "127.0.0.1", 9001),
        ]
        for (a, pa, b, pb) in compatible {
            XCTAssertEqual(
                parseConfig(Doc.with(listeners: "[\(listener(a, pa)), \(listener(b, pb))]"))?.listeners.count, 2, "\(a) vs \(b)")
        }
    }

    func testWebSocketPath() {
        XCTAssertEqual(
            parseConfig(Doc.withListener(#"{"transport": "websocket", "host": "127.0.0.1", "port": 80, "path": "/wamp"}"#))?
                .listeners[0].path, "/wamp")
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "websocket", "host": "127.0.0.1", "port": 80, "path": "ws"}"#)),
            [ConfigIssue(path: "$.listeners[0].path", message: "must start with \"/\", got \"ws\"")])
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "websocket", "host": "127.0.0.1", "port": 80, "path": "/a b"}"#)),
            [ConfigIssue(path: "$.listeners[0].path", message: "must be a plain HTTP path without spaces, '?' or '#', got \"/a b\"")])
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "rawsocket", "host": "127.0.0.1", "port": 80, "path": "/ws"}"#)),
            [ConfigIssue(path: "$.listeners[0].path", message: "only websocket listeners have a path (this one is rawsocket)")])
        XCTAssertEqual(
            configIssues(Doc.withListener(#"{"transport": "websocket", "host": "127.0.0.1", "port": 80, "path": 1}"#)),
            [ConfigIssue(path: "$.listeners[0].path", message: "expected a string, got 1")])
    }

    func testSerializers() {
        func listener(_ serializers: String) -> String {
            #"{"transport": "websocket", "host": "127.0.0.1", "port": 80, "serializers": \#(serializers)}"#
        }
        XCTAssertEqual(parseConfig(Doc.withListener(listener(#"["msgpack"]"#)))?.listeners[0].serializers, [.msgpack])
        XCTAssertEqual(parseConfig(Doc.withListener(listener(#"["msgpack", "json"]"#)))?.listeners[0].serializers, [.msgpack, .json])
        XCTAssertEqual(
            configIssues(Doc.withListener(listener("[]"))),
            [ConfigIssue(path: "$.listeners[0].serializers", message: "at least one serializer is required (\"json\", \"msgpack\" or \"cbor\")")])
        XCTAssertEqual(
            configIssues(Doc.withListener(listener(#"["json", "msgpack", "json"]"#))),
            [ConfigIssue(path: "$.listeners[0].serializers[2]", message: "\"json\" is listed twice")])
        XCTAssertEqual(parseConfig(Doc.withListener(listener(#"["json", "cbor"]"#)))?.listeners[0].serializers, [.json, .cbor])
        XCTAssertEqual(
            configIssues(Doc.withListener(listener(#"["json", "ubjson"]"#))),
            [ConfigIssue(path: "$.listeners[0].serializers[1]", message: "expected \"json\", \"msgpack\" or \"cbor\", got \"ubjson\"")])
        XCTAssertEqual(
            configIssues(Doc.withListener(listener(#""json""#))),
            [ConfigIssue(path: "$.listeners[0].serializers", message: "expected an array, got \"json\"")])
    }

    func testTLSRules() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let crt = try dir.write("s.crt")
        let key = try dir.write("s.key")
        let ca = try dir.write("ca.pem")
        func issues(_ tls: String) -> [ConfigIssue] {
            configIssues(
                Doc.withListener(#"{"transport": "rawsocket", "host": "127.0.0.1", "port": 80, "tls": \#(tls)}"#), baseDirectory: dir.path)
        }
        func parsed(_ tls: String) -> TLSConfig? {
            parseConfig(
                Doc.withListener(#"{"transport": "rawsocket", "host": "127.0.0.1", "port": 80, "tls": \#(tls)}"#), baseDirectory: dir.path)?
                .listeners[0].tls
        }
        XCTAssertEqual(parsed(#"{"certificate": "s.crt", "key": "s.key"}"#), TLSConfig(certificate: crt, key: key))
        XCTAssertEqual(
            parsed(#"{"certificate": "s.crt", "key": "s.key", "ca": "ca.pem", "client_auth": true}"#),
            TLSConfig(certificate: crt, key: key, ca: ca, clientAuth: true))
        // A CA without client_auth is accepted (client certificates are then optional-checked by the TLS layer).
        XCTAssertEqual(parsed(#"{"certificate": "s.crt", "key": "s.key", "ca": "ca.pem"}"#)?.clientAuth, false)

        XCTAssertEqual(
            issues(#"{"certificate": "s.crt"}"#),
            [ConfigIssue(path: "$.listeners[0].tls", message: "missing required key \"key\" (certificate and key go together)")])
        XCTAssertEqual(
            issues(#"{"key": "s.key"}"#),
            [ConfigIssue(path: "$.listeners[0].tls", message: "missing required key \"certificate\" (certificate and key go together)")])
        XCTAssertEqual(
            issues(#"{"certificate": "s.crt", "key": "s.key", "client_auth": true}"#),
            [
                ConfigIssue(
                    path: "$.listeners[0].tls.client_auth",
                    message: "true requires \"ca\", the PEM bundle that client certificates must be signed by")
            ])
        XCTAssertEqual(
            issues(#"{"certificate": "s.crt", "key": "s.key", "client_auth": "yes"}"#),
            [ConfigIssue(path: "$.listeners[0].tls.client_auth", message: "expected true or false, got \"yes\"")])
        XCTAssertEqual(
            issues(#"{"certificate": "missing.crt", "key": "s.key", "ca": "/nonexistent/ca.pem"}"#),
            [
                ConfigIssue(
                    path: "$.listeners[0].tls.certificate", message: "cannot use \"missing.crt\": \(dir.path)/missing.crt does not exist"),
                ConfigIssue(path: "$.listeners[0].tls.ca", message: "cannot use \"/nonexistent/ca.pem\": /nonexistent/ca.pem does not exist"),
            ])
        XCTAssertEqual(
            issues(#"{"certificate": ".", "key": ""}"#),
            [
                ConfigIssue(path: "$.listeners[0].tls.certificate", message: "cannot use \".\": \(dir.path) is a directory, not a file"),
                ConfigIssue(path: "$.listeners[0].tls.key", message: "expected a non-empty string"),
            ])
        XCTAssertEqual(
            issues(#"{"certificate": "s.crt", "key": "s.key", "password": "x"}"#),
            [
                ConfigIssue(
                    path: "$.listeners[0].tls.password", message: "unknown key \"password\"; allowed keys: certificate, key, ca, client_auth")
            ])
    }
}
