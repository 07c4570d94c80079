// The one WAMP URI rule (loose, as Autobahn checks it) against the Unicode White_Space table:
// every scalar of the Basic Multilingual Plane inside a component is accepted exactly when it is
// neither whitespace, '#', '.', NUL nor one of the ASCII separators Python's `\s` also matches.

import WampURI
import XCTest

final class WAMPURIRuleTests: XCTestCase {
    func testEveryBMPScalarAgainstTheWhiteSpaceProperty() {
        var checked = 0
        for value in UInt32(0)...0xFFFF {
            guard let scalar = Unicode.Scalar(value), scalar != "." else { continue }
            let uri = "com.a" + String(Character(scalar)) + "b.x"
            let refused = scalar.properties.isWhitespace || scalar == "#" || value == 0 || (0x1C...0x1F).contains(value)
            XCTAssertEqual(WAMPURIRule.isLooseNonEmpty(uri), !refused, "U+\(String(value, radix: 16, uppercase: true))")
            XCTAssertEqual(WAMPURIRule.isLooseAllowingEmpty(uri), !refused, "U+\(String(value, radix: 16, uppercase: true))")
            checked += 1
        }
        XCTAssertEqual(checked, 0xFFFF + 1 - 2048 - 1)   // all but the surrogates and '.'
    }

    func testWhitespaceAtTheEndOfTheBytesIsStillFound() {
        // A multi-byte sequence cut short by the end of the URI must not be read past.
        for text in ["a\u{A0}", "a\u{3000}", "a\u{2029}", "a\u{1680}", "\u{205F}"] {
            XCTAssertFalse(WAMPURIRule.isLooseNonEmpty(text), text.debugDescription)
        }
        let cut: [UInt8] = [UInt8(ascii: "a"), 0xE2, 0x80]   // truncated U+20xx: not whitespace
        XCTAssertTrue(cut.withUnsafeBytes { WAMPURIRule.isLoose($0, allowingEmptyComponents: false) })
    }

    func testComponents() {
        for good in ["realm1", "com.Example-1.app", "a.b.c", "caf\u{E9}.menu", "x\u{200B}y"] {
            XCTAssertTrue(WAMPURIRule.isLooseNonEmpty(good), good)
            XCTAssertTrue(WAMPURIRule.isLooseAllowingEmpty(good), good)
        }
        for emptyComponent in ["", ".", "a..b", "a.", ".a"] {
            XCTAssertFalse(WAMPURIRule.isLooseNonEmpty(emptyComponent), emptyComponent)
            XCTAssertTrue(WAMPURIRule.isLooseAllowingEmpty(emptyComponent), emptyComponent)
        }
        for bad in ["a b", "a\tb", "a\nb", "a#b", "#", "a\u{0}b", "a.\u{A0}"] {
            XCTAssertFalse(WAMPURIRule.isLooseNonEmpty(bad), bad.debugDescription)
            XCTAssertFalse(WAMPURIRule.isLooseAllowingEmpty(bad), bad.debugDescription)
        }
    }

    func testMatchPoliciesOnBytes() {
        XCTAssertTrue(MatchPolicy.wildcard.matches(pattern: Array("com..update".utf8), uri: Array("com.x.update".utf8)))
        XCTAssertFalse(MatchPolicy.wildcard.matches(pattern: Array("com..update".utf8), uri: Array("com.x.y.update".utf8)))
        XCTAssertTrue(MatchPolicy.prefix.matches(pattern: Array("com.a".utf8), uri: Array("com.ab".utf8)))
        XCTAssertFalse(MatchPolicy.exact.matches(pattern: Array("caf\u{E9}".utf8), uri: Array("cafe\u{301}".utf8)))
    }
}
