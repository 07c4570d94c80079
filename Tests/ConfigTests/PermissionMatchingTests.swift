// Permission matching (exact / prefix / wildcard, as in Crossbar) and first-match-decides.

import XCTest

@testable import BrokerConfig

final class PermissionMatchingTests: XCTestCase {
    private func check(_ policy: MatchPolicy, _ table: [(String, String, Bool)], file: StaticString = #filePath, line: UInt = #line) {
        for (pattern, uri, expected) in table {
            XCTAssertEqual(
                Permission(uri: pattern, match: policy).matches(uri), expected, "\(policy) \"\(pattern)\" vs \"\(uri)\"", file: file, line: line)
        }
    }

    func testExact() {
        check(
            .exact,
            [
                ("com.a.b", "com.a.b", true),
                ("com.a.b", "com.a.bc", false),
                ("com.a.b", "com.a", false),
                ("com.a.b", "com.a.b.", false),
                ("com.a.b", "COM.A.B", false),
                ("com..b", "com.x.b", false),  // no wildcard meaning under exact
                ("com..b", "com..b", true),
                ("", "", true),
                ("", "a", false),
                // Bytewise, not Unicode canonical equivalence: precomposed é vs e + combining acute.
                ("caf\u{E9}", "cafe\u{301}", false),
            ])
    }

    func testPrefix() {
        check(
            .prefix,
            [
                ("", "anything.at.all", true),
                ("", "", true),
                ("com.myrealm.", "com.myrealm.a.b", true),
                ("com.myrealm.", "com.myrealm.", true),
                ("com.myrealm.", "com.myrealm", false),
                ("com.myrealm.", "com.myrealmx.a", false),
                ("com.myrealm", "com.myrealmx.a", true),  // a plain string prefix, as in Crossbar
                ("com.myrealm", "com.myrealm", true),
                ("com.myrealm", "com.myreal", false),
                ("com.myrealm.", "org.com.myrealm.a", false),
                ("caf\u{E9}", "cafe\u{301}.x", false),
            ])
    }

    func testWildcardAgreesWithAutobahn() {
        // Expected values computed with autobahn-python's wildcard pattern matcher
        // (autobahn.wamp.uri.Pattern(p, Pattern.URI_TARGET_HANDLER).match(u), 26.10.2): an empty
        // pattern component stands for exactly one (non-empty) component.
        check(
            .wildcard,
            [
                ("com..update", "com.x.update", true),
                ("com..update", "com.x.y.update", false),
                ("com..update", "com.update", false),
                ("com..update", "org.x.update", false),
                ("com..update", "com.x.updatex", false),
                ("..", "a.b", false),
                ("..", "a.b.c", true),
                (".", "a.b", true),
                ("com.x.", "com.x.y", true),
                ("com.x.", "com.x", false),
                ("com.x.", "com.x.y.z", false),
                (".x", "a.x", true),
                (".x", "x", false),
                ("com.myapp..event", "com.myapp.user.event", true),
                ("a..c", "a.bb.c", true),
                ("a..c", "a.b.cc", false),
                ("a..c", "a.b.c.d", false),
            ])
    }

    func testWildcardEdgeCases() {
        check(
            .wildcard,
            [
                // Patterns without empty components only match themselves.
                ("a.b.c", "a.b.c", true),
                ("a.b.c", "a.b.cd", false),
                ("a.b.c", "a.b", false),
                ("a.bc", "a.b", false),
                // An empty URI component is matched by an empty pattern component (so a wildcard
                // grant covers a wildcard subscription to the same pattern) but not by a literal one.
                ("com..update", "com..update", true),
                ("com.x.update", "com..update", false),
                ("com.x.", "com.x.", true),
                ("", "", true),
                ("", "a", true),
                ("", "a.b", false),
                (".", ".", true),
                ("..", "a..", true),
                ("a..", "a.b", false),
                ("a", "", false),
                ("", ".", false),
            ])
    }

    func testFirstMatchingPermissionDecides() {
        let role = RoleConfig(
            name: "r",
            permissions: [
                Permission(uri: "com.app.secret", match: .exact, publish: false, subscribe: false),
                Permission(uri: "com.app..status", match: .wildcard, publish: false, subscribe: true),
                Permission(uri: "com.app.", match: .prefix, publish: true, subscribe: true),
            ])
        let realm = RealmConfig(name: "realm1", anonymousRole: "r", roles: [role])

        XCTAssertEqual(role.permission(for: "com.app.secret"), role.permissions[0])
        XCTAssertEqual(role.permission(for: "com.app.x.status"), role.permissions[1])
        XCTAssertEqual(role.permission(for: "com.app.x"), role.permissions[2])
        XCTAssertNil(role.permission(for: "org.app.x"))

        // The earlier deny wins even though the later prefix grant also matches.
        XCTAssertFalse(realm.isAllowed(role: "r", action: .publish, uri: "com.app.secret"))
        XCTAssertFalse(realm.isAllowed(role: "r", action: .subscribe, uri: "com.app.secret"))
        XCTAssertTrue(realm.isAllowed(role: "r", action: .subscribe, uri: "com.app.x.status"))
        XCTAssertFalse(realm.isAllowed(role: "r", action: .publish, uri: "com.app.x.status"))
        XCTAssertTrue(realm.isAllowed(role: "r", action: .publish, uri: "com.app.x"))
        XCTAssertTrue(realm.isAllowed(role: "r", action: .publish, uri: "com.app.secret.sub"))  // prefix, not the exact deny
        // No match, or an unknown role: denied.
        XCTAssertFalse(realm.isAllowed(role: "r", action: .subscribe, uri: "org.app.x"))
        XCTAssertFalse(realm.isAllowed(role: "other", action: .subscribe, uri: "com.app.x"))
    }

    func testOrderComesFromTheConfigurationFile() throws {
        let config = parseConfig(
            ConfigDocument.withPermissions(
                #"[{"uri": "a.b", "match": "prefix", "subscribe": true}, {"uri": "a.", "match": "prefix", "publish": true}]"#))
        let realm = try XCTUnwrap(config?.realms.first)
        XCTAssertFalse(realm.isAllowed(role: "r", action: .publish, uri: "a.b.c"))
        XCTAssertTrue(realm.isAllowed(role: "r", action: .subscribe, uri: "a.b.c"))
        XCTAssertTrue(realm.isAllowed(role: "r", action: .publish, uri: "a.c"))
        XCTAssertFalse(realm.isAllowed(role: "r", action: .subscribe, uri: "a.c"))
    }

    func testLooseURIRules() {
        XCTAssertTrue(WAMPURIRule.isLooseNonEmpty("realm1"))
        XCTAssertTrue(WAMPURIRule.isLooseNonEmpty("com.Example-1.app"))
        XCTAssertFalse(WAMPURIRule.isLooseNonEmpty(""))
        XCTAssertFalse(WAMPURIRule.isLooseNonEmpty("a..b"))
        XCTAssertFalse(WAMPURIRule.isLooseNonEmpty("a."))
        XCTAssertFalse(WAMPURIRule.isLooseNonEmpty("a b"))
        XCTAssertFalse(WAMPURIRule.isLooseNonEmpty("a#"))
        XCTAssertTrue(WAMPURIRule.isLooseAllowingEmpty(""))
        XCTAssertTrue(WAMPURIRule.isLooseAllowingEmpty("com..x."))
        XCTAssertFalse(WAMPURIRule.isLooseAllowingEmpty("com.x\u{A0}"))  // no-break space is whitespace too
    }
}
