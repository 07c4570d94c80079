// The `realms` rules (ConfigDecoder+Realms.swift), one test per rule: each checks the exact JSON
// path and message, and that the neighbouring valid values are still accepted.

import XCTest

@testable import BrokerConfig

final class RealmValidationTests: XCTestCase {
    typealias Doc = ConfigDocument

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
}
