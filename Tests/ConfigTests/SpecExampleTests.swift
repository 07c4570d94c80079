// The SPEC §3 example, loaded from a real file next to real TLS and userdb files.

import Foundation
import XCTest

@testable import BrokerConfig

final class SpecExampleTests: XCTestCase {
    // Verbatim from SPEC.md §3.
    static let specExample = """
        {
          "loops": 0,
          "listeners": [
            {"transport": "websocket", "host": "127.0.0.1", "port": 8080, "path": "/ws",
             "serializers": ["json", "msgpack"]},
            {"transport": "rawsocket", "host": "127.0.0.1", "port": 8081,
             "serializers": ["json", "msgpack"],
             "tls": {"certificate": "server.crt", "key": "server.key"}}
          ],
          "realms": [
            {"name": "com.myrealm",
             "auth": {"wampcra": {"userdb": "users.json"},
                      "anonymous": {"role": "guest"}},
             "roles": [
               {"name": "user",  "permissions": [{"uri": "com.myrealm.", "match": "prefix",
                                                  "publish": true, "subscribe": true}]},
               {"name": "guest", "permissions": [{"uri": "com.myrealm.public.", "match": "prefix",
                                                  "publish": false, "subscribe": true}]}]}
          ],
          "limits": {"max_message_bytes": 1048576, "max_session_outbound_bytes": 8388608,
                     "slow_consumer": "disconnect", "handshake_timeout_ms": 10000},
          "metrics": {"path": "/metrics"}
        }
        """

    func testLoadSpecExample() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let certificate = try dir.write("server.crt")
        let key = try dir.write("server.key")
        let userDB = try dir.write("users.json", "[]")
        let configPath = try dir.write("conf/../broker.json", Self.specExample)

        let config = try BrokerConfiguration.load(path: configPath)
        XCTAssertEqual(config.loops, 0)
        XCTAssertEqual(
            config.listeners,
            [
                ListenerConfig(transport: .websocket, host: "127.0.0.1", port: 8080, path: "/ws", serializers: [.json, .msgpack]),
                ListenerConfig(
                    transport: .rawsocket, host: "127.0.0.1", port: 8081, serializers: [.json, .msgpack],
                    tls: TLSConfig(certificate: certificate, key: key, ca: nil, clientAuth: false)),
            ])
        XCTAssertEqual(config.realms.count, 1)
        let realm = config.realms[0]
        XCTAssertEqual(realm.name, "com.myrealm")
        XCTAssertEqual(realm.wampcraUserDB, userDB)
        XCTAssertEqual(realm.anonymousRole, "guest")
        XCTAssertEqual(realm.roles.map(\.name), ["user", "guest"])
        XCTAssertEqual(realm.role(named: "user")?.permissions, [Permission(uri: "com.myrealm.", match: .prefix, publish: true, subscribe: true)])
        XCTAssertEqual(config.limits, LimitsConfig())
        XCTAssertEqual(config.metrics, MetricsConfig(path: "/metrics"))

        XCTAssertTrue(realm.isAllowed(role: "user", action: .publish, uri: "com.myrealm.chat.room1"))
        XCTAssertTrue(realm.isAllowed(role: "user", action: .subscribe, uri: "com.myrealm.public.news"))
        XCTAssertFalse(realm.isAllowed(role: "user", action: .publish, uri: "com.other.x"))
        XCTAssertTrue(realm.isAllowed(role: "guest", action: .subscribe, uri: "com.myrealm.public.news"))
        XCTAssertFalse(realm.isAllowed(role: "guest", action: .publish, uri: "com.myrealm.public.news"))
        XCTAssertFalse(realm.isAllowed(role: "guest", action: .subscribe, uri: "com.myrealm.private.x"))

        let summary = config.summary
        XCTAssertTrue(summary.contains("rawsocket 127.0.0.1:8081"), summary)
        XCTAssertTrue(summary.contains("TLS"), summary)
        XCTAssertTrue(summary.contains("wampcra (\(userDB))"), summary)
    }

    func testSpecExampleWithoutItsFilesNamesEachMissingFile() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let issues = configIssues(Self.specExample, baseDirectory: dir.path)
        XCTAssertEqual(
            issues,
            [
                ConfigIssue(path: "$.listeners[1].tls.certificate", message: "cannot use \"server.crt\": \(dir.path)/server.crt does not exist"),
                ConfigIssue(path: "$.listeners[1].tls.key", message: "cannot use \"server.key\": \(dir.path)/server.key does not exist"),
                ConfigIssue(path: "$.realms[0].auth.wampcra.userdb", message: "cannot use \"users.json\": \(dir.path)/users.json does not exist"),
            ])
    }

    func testAbsoluteAndRelativePathsResolve() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let ca = try dir.write("pki/ca.pem")
        try dir.write("pki/server.crt")
        try dir.write("pki/server.key")
        let listener = """
            {"transport": "rawsocket", "host": "::1", "port": 9000,
             "tls": {"certificate": "./pki/server.crt", "key": "pki/x/../server.key", "ca": "\(ca)", "client_auth": true}}
            """
        let config = parseConfig(ConfigDocument.withListener(listener), baseDirectory: dir.path)
        XCTAssertEqual(
            config?.listeners.first?.tls,
            TLSConfig(certificate: dir.path + "/pki/server.crt", key: dir.path + "/pki/server.key", ca: ca, clientAuth: true))
        XCTAssertEqual(config?.listeners.first?.address, "[::1]:9000")
    }

    func testLoadMissingFileNamesIt() {
        XCTAssertThrowsError(try BrokerConfiguration.load(path: "/nonexistent/dir/broker.json")) { error in
            XCTAssertEqual(
                (error as? ConfigError)?.issues,
                [ConfigIssue(path: "$", message: "cannot read the configuration file \"/nonexistent/dir/broker.json\": /nonexistent/dir/broker.json does not exist")])
        }
    }

    func testLoadDirectoryNamesIt() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        XCTAssertThrowsError(try BrokerConfiguration.load(path: dir.path)) { error in
            XCTAssertEqual((error as? ConfigError)?.issues.first?.message.contains("is a directory"), true, "\(error)")
        }
    }

    func testFilePathResolution() {
        XCTAssertEqual(ConfigFilePath.resolve("a.pem", against: "/etc/fb"), "/etc/fb/a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("/abs/a.pem", against: "/etc/fb"), "/abs/a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("../a.pem", against: "/etc/fb"), "/etc/a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("./x//y/./a.pem", against: "/etc/fb/"), "/etc/fb/x/y/a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("../../../a.pem", against: "/etc"), "/a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("a.pem", against: "."), "a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("../a.pem", against: "conf"), "a.pem")
        XCTAssertEqual(ConfigFilePath.resolve("../a.pem", against: "."), "../a.pem")
        XCTAssertEqual(ConfigFilePath.directory(of: "/etc/fb/broker.json"), "/etc/fb")
        XCTAssertEqual(ConfigFilePath.directory(of: "/broker.json"), "/")
        XCTAssertEqual(ConfigFilePath.directory(of: "broker.json"), ".")
    }
}
