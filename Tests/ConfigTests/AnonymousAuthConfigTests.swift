// `auth.anonymous.keep_authid` (SPEC §3): optional bool, default false; anything else is an issue
// naming its JSON path, and a misspelt key gets a suggestion.

import XCTest

@testable import BrokerConfig

final class AnonymousAuthConfigTests: XCTestCase {
    private func realm(anonymous: String) -> String {
        ConfigDocument.withRealm(
            #"{"name": "realm1", "auth": {"anonymous": \#(anonymous)}, "roles": [{"name": "r", "permissions": []}]}"#)
    }

    func testKeepAuthidDefaultsToFalse() {
        XCTAssertEqual(parseConfig(realm(anonymous: #"{"role": "r"}"#))?.realms.first?.anonymousKeepsAuthid, false)
    }

    func testKeepAuthidIsRead() {
        XCTAssertEqual(parseConfig(realm(anonymous: #"{"role": "r", "keep_authid": true}"#))?.realms.first?.anonymousKeepsAuthid, true)
        XCTAssertEqual(parseConfig(realm(anonymous: #"{"role": "r", "keep_authid": false}"#))?.realms.first?.anonymousKeepsAuthid, false)
    }

    func testKeepAuthidOfTheWrongTypeNamesItsPath() {
        for (value, shown) in [(#""yes""#, #""yes""#), ("1", "1"), ("null", "null")] {
            XCTAssertEqual(
                configIssues(realm(anonymous: #"{"role": "r", "keep_authid": \#(value)}"#)),
                [ConfigIssue(path: "$.realms[0].auth.anonymous.keep_authid", message: "expected true or false, got \(shown)")],
                value)
        }
    }

    func testMisspeltKeepAuthidIsSuggested() {
        XCTAssertEqual(
            configIssues(realm(anonymous: #"{"role": "r", "keep_authids": true}"#)),
            [ConfigIssue(path: "$.realms[0].auth.anonymous.keep_authids",
                         message: "unknown key \"keep_authids\" (did you mean \"keep_authid\"?); allowed keys: role, keep_authid")])
    }
}
