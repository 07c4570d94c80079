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

    // MARK: - Listeners

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

    // MARK: - Realms

    func testRealmNamesFollowTheLooseWAMPURIRule() {
        for good in ["realm1", "com.myrealm", "realm-1", "MyRealm", "a.b_c.d9"] {
            XCTAssertEqual(
                parseConfig(Doc.withRealm(#"{"name": "\#(good)", "auth": {"anonymous": {"role": "r"}}, "roles": [{"name": "r", "permissions": []}]}"#))?
                    .realms[0].name, good)
        }
        for bad in ["", "my realm", "a..b", ".a", "a.", "a#b", "\\t"] {
            let issues = configIssues(
                Doc.withRealm(#"{"name": "\#(bad)", "auth": {"anonymous": {"role": "r"}}, "roles": [{"name": "r", "permissions": []}]}"#))
            XCTAssertEqual(issues.map(\.path), ["$.realms[0].name"], bad)
            XCTAssertTrue(issues.first?.message.contains("is not a valid realm URI") ?? false, "\(issues)")
        }
    }

    func testRealmNamesAreUnique() {
        XCTAssertEqual(
            configIssues(Doc.with(realms: "[\(Doc.realm), \(Doc.realm)]")),
            [ConfigIssue(path: "$.realms[1].name", message: "duplicate realm name \"realm1\" (first at $.realms[0])")])
    }

    func testRolesAreUniquePerRealmButMayRepeatAcrossRealms() {
        XCTAssertEqual(
            configIssues(
                Doc.withRealm(
                    #"{"name": "realm1", "auth": {"anonymous": {"role": "a"}}, "roles": [{"name": "a", "permissions": []}, {"name": "b", "permissions": []}, {"name": "a", "permissions": []}]}"#
                )),
            [ConfigIssue(path: "$.realms[0].roles[2].name", message: "duplicate role name \"a\" (first at $.realms[0].roles[0])")])
        let other = #"{"name": "realm2", "auth": {"anonymous": {"role": "anon"}}, "roles": [{"name": "anon", "permissions": []}]}"#
        XCTAssertEqual(parseConfig(Doc.with(realms: "[\(Doc.realm), \(other)]"))?.realms.map(\.name), ["realm1", "realm2"])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": "a"}}, "roles": []}"#)),
            [
                ConfigIssue(path: "$.realms[0].roles", message: "at least one role is required (a realm without roles grants nothing)"),
                ConfigIssue(path: "$.realms[0].auth.anonymous.role", message: "no role named \"a\" in this realm (roles: none)"),
            ])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": "a"}}, "roles": [{"name": "", "permissions": []}]}"#)),
            [ConfigIssue(path: "$.realms[0].roles[0].name", message: "expected a non-empty string")])
    }

    func testAnonymousRoleMustNameARoleOfTheRealm() {
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": "guest"}}, "roles": [{"name": "anon", "permissions": []}]}"#)),
            [ConfigIssue(path: "$.realms[0].auth.anonymous.role", message: "no role named \"guest\" in this realm (roles: \"anon\")")])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": "gest"}}, "roles": [{"name": "admin", "permissions": []}, {"name": "guest", "permissions": []}]}"#)),
            [
                ConfigIssue(
                    path: "$.realms[0].auth.anonymous.role",
                    message: "no role named \"gest\" in this realm (roles: \"admin\", \"guest\"); did you mean \"guest\"?")
            ])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {}}, "roles": [{"name": "anon", "permissions": []}]}"#)),
            [ConfigIssue(path: "$.realms[0].auth.anonymous", message: "missing required key \"role\"")])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": 1}}, "roles": [{"name": "anon", "permissions": []}]}"#)),
            [ConfigIssue(path: "$.realms[0].auth.anonymous.role", message: "expected a string, got 1")])
    }

    func testTicketAndCryptosignUserDBs() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let shared = try dir.write("users.json", "[]")
        let keys = try dir.write("keys.json", "[]")
        let config = parseConfig(Doc.withRealm(#"{"name": "realm1", "auth": {"wampcra": {"userdb": "users.json"}, "#
            + #""ticket": {"userdb": "users.json"}, "cryptosign": {"userdb": "keys.json"}}, "#
            + #""roles": [{"name": "user", "permissions": []}]}"#), baseDirectory: dir.path)
        XCTAssertEqual(config?.realms[0].wampcraUserDB, shared)
        XCTAssertEqual(config?.realms[0].ticketUserDB, shared)
        XCTAssertEqual(config?.realms[0].cryptosignUserDB, keys)
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"cryptosign": {"userdb": "nope.json", "pubkey": "x"}}, "#
                + #""roles": [{"name": "user", "permissions": []}]}"#), baseDirectory: dir.path),
            [ConfigIssue(path: "$.realms[0].auth.cryptosign.pubkey", message: "unknown key \"pubkey\"; allowed keys: userdb"),
             ConfigIssue(path: "$.realms[0].auth.cryptosign.userdb", message: "cannot use \"nope.json\": \(dir.path)/nope.json does not exist")])
    }

    func testWampcraUserDB() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let userDB = try dir.write("db/users.json", "[]")
        func realm(_ wampcra: String) -> String {
            Doc.withRealm(#"{"name": "realm1", "auth": {"wampcra": \#(wampcra)}, "roles": [{"name": "user", "permissions": []}]}"#)
        }
        let config = parseConfig(realm(#"{"userdb": "db/users.json"}"#), baseDirectory: dir.path)
        XCTAssertEqual(config?.realms[0].wampcraUserDB, userDB)
        XCTAssertNil(config?.realms[0].anonymousRole, "no anonymous key: anonymous HELLOs are refused")
        XCTAssertEqual(
            configIssues(realm(#"{"userdb": "nope.json"}"#), baseDirectory: dir.path),
            [ConfigIssue(path: "$.realms[0].auth.wampcra.userdb", message: "cannot use \"nope.json\": \(dir.path)/nope.json does not exist")])
        XCTAssertEqual(
            configIssues(realm(#"{"userdb": ["users.json"]}"#), baseDirectory: dir.path),
            [ConfigIssue(path: "$.realms[0].auth.wampcra.userdb", message: "expected a string, got an array")])
        XCTAssertEqual(
            configIssues(realm("{}"), baseDirectory: dir.path),
            [ConfigIssue(path: "$.realms[0].auth.wampcra", message: "missing required key \"userdb\"")])
    }

    func testRealmNeedsAnAuthMethod() {
        let roles = #""roles": [{"name": "r", "permissions": []}]"#
        let needs = "a realm needs at least one authentication method: \"anonymous\", \"wampcra\", \"ticket\" or \"cryptosign\""
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {}, \#(roles)}"#)), [ConfigIssue(path: "$.realms[0].auth", message: needs)])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", \#(roles)}"#)),
            [ConfigIssue(path: "$.realms[0]", message: "missing required key \"auth\" (\(needs))")])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"scram": {}}, \#(roles)}"#)),
            [
                ConfigIssue(path: "$.realms[0].auth.scram",
                            message: "unknown key \"scram\"; allowed keys: anonymous, wampcra, ticket, cryptosign"),
                ConfigIssue(path: "$.realms[0].auth", message: needs),
            ])
        XCTAssertEqual(
            configIssues(Doc.withRealm(#"{"name": "realm1", "auth": {"ticket": {}}, \#(roles)}"#)),
            [ConfigIssue(path: "$.realms[0].auth.ticket", message: "missing required key \"userdb\"")])
    }

    func testPermissionFields() {
        XCTAssertEqual(
            parseConfig(Doc.withPermissions(#"[{"uri": "com.a"}]"#))?.realms[0].roles[0].permissions,
            [Permission(uri: "com.a", match: .exact, publish: false, subscribe: false)], "match defaults to exact, actions to false")
        XCTAssertEqual(
            parseConfig(Doc.withPermissions(#"[{"uri": "com..b", "match": "wildcard", "subscribe": true}]"#))?.realms[0].roles[0].permissions,
            [Permission(uri: "com..b", match: .wildcard, publish: false, subscribe: true)])
        let at = "$.realms[0].roles[0].permissions[0]"
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": "com.a", "match": "glob"}]"#)),
            [ConfigIssue(path: at + ".match", message: "expected \"exact\", \"prefix\" or \"wildcard\", got \"glob\"")])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": "com.a", "match": "prefx"}]"#)),
            [
                ConfigIssue(
                    path: at + ".match", message: "expected \"exact\", \"prefix\" or \"wildcard\", got \"prefx\" (did you mean \"prefix\"?)")
            ])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": "com.a", "publish": "true", "subscribe": 1}]"#)),
            [
                ConfigIssue(path: at + ".publish", message: "expected true or false, got \"true\""),
                ConfigIssue(path: at + ".subscribe", message: "expected true or false, got 1"),
            ])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": 5}]"#)), [ConfigIssue(path: at + ".uri", message: "expected a string, got 5")])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"publish": true}]"#)), [ConfigIssue(path: at, message: "missing required key \"uri\"")])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": "com.a b", "match": "prefix"}]"#)),
            [ConfigIssue(path: at + ".uri", message: "\"com.a b\" is not a valid URI pattern: whitespace and '#' are not allowed")])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": ""}]"#)),
            [
                ConfigIssue(
                    path: at + ".uri", message: "an empty URI with \"match\": \"exact\" matches nothing; use \"match\": \"prefix\" to match every URI")
            ])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"[{"uri": "a", "allow": {"publish": true}}]"#)),
            [ConfigIssue(path: at + ".allow", message: "unknown key \"allow\"; allowed keys: uri, match, publish, subscribe")])
        XCTAssertEqual(
            configIssues(Doc.withPermissions(#"["com.a"]"#)), [ConfigIssue(path: at, message: "expected an object, got \"com.a\"")])
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
