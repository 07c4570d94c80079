// JSONEscape: every two-character escape, \u scalars in each UTF-8 length, surrogate pairs, and
// each failure with the exact place it reports (the readers turn those places into columns).

import XCTest
import WireCodec

final class JSONEscapeTests: XCTestCase {
    private func unicode(_ text: String) -> JSONEscape.Unicode {
        JSONEscape.unicode(Array(text.utf8), 0)
    }

    func testTwoCharacterEscapes() {
        let cases: [(Character, UInt8)] = [("\"", 0x22), ("\\", 0x5C), ("/", 0x2F), ("b", 0x08), ("f", 0x0C),
                                           ("n", 0x0A), ("r", 0x0D), ("t", 0x09)]
        for (c, byte) in cases { XCTAssertEqual(JSONEscape.simple(c.asciiValue!), byte, "\\\(c)") }
        for c in ["u", "x", "0", "N", "'"] as [Character] { XCTAssertNil(JSONEscape.simple(c.asciiValue!), "\\\(c)") }
    }

    func testHexDigits() {
        XCTAssertEqual((0...255).compactMap { JSONEscape.hexDigit(UInt8($0)) }.count, 22)
        XCTAssertEqual(JSONEscape.hexDigit(UInt8(ascii: "a")), 10)
        XCTAssertEqual(JSONEscape.hexDigit(UInt8(ascii: "F")), 15)
        XCTAssertNil(JSONEscape.hexDigit(UInt8(ascii: "g")))
    }

    func testScalarsAndPairs() {
        XCTAssertEqual(unicode("0041\""), .scalar(0x41, end: 4))
        XCTAssertEqual(unicode("00e9"), .scalar(0xE9, end: 4))
        XCTAssertEqual(unicode("20AC"), .scalar(0x20AC, end: 4))
        XCTAssertEqual(unicode("D83D\\uDE00x"), .scalar(0x1F600, end: 10))
        for (text, scalar) in [("0041", "A"), ("00e9", "é"), ("20AC", "€"), ("D83D\\uDE00", "😀")] {
            guard case .scalar(let value, _) = unicode(text) else { return XCTFail(text) }
            var out: [UInt8] = []
            JSONEscape.appendUTF8(value, to: &out)
            XCTAssertEqual(out, Array(scalar.utf8), text)
        }
    }

    func testFailuresSayWhere() {
        XCTAssertEqual(unicode("12G4"), .badHex(at: 2))
        XCTAssertEqual(unicode("12"), .badHex(at: 2))   // the text ended
        XCTAssertEqual(unicode("D800\\u12Z4"), .badHex(at: 8))
        XCTAssertEqual(unicode("DC00"), .unpairedSurrogate(0xDC00, end: 4))
        XCTAssertEqual(unicode("D800"), .unpairedSurrogate(0xD800, end: 4))
        XCTAssertEqual(unicode("D800x"), .unpairedSurrogate(0xD800, end: 4))
        XCTAssertEqual(unicode("D800\\u0041"), .unpairedSurrogate(0xD800, end: 10))
        XCTAssertEqual(unicode("D800\\uD800"), .unpairedSurrogate(0xD800, end: 10))
    }
}
