// Integer extraction for ids (exact, non-negative, up to UInt64.max) and the number grammar.

import BrokerSerialization
import XCTest

final class JSONNumberTests: XCTestCase {
    private func id(_ literal: String) throws -> UInt64? {
        try withMessage("[\(literal)]") { $0.unsignedInteger(0) }
    }

    func testUnsignedIntegerRange() throws {
        XCTAssertEqual(try id("0"), 0)
        XCTAssertEqual(try id("9007199254740991"), 9_007_199_254_740_991)
        XCTAssertEqual(try id("9007199254740992"), 9_007_199_254_740_992)  // 2^53, the WAMP id maximum
        XCTAssertEqual(try id("9007199254740993"), 9_007_199_254_740_993)  // beyond Double's exact range
        XCTAssertEqual(try id("18446744073709551615"), UInt64.max)
        XCTAssertNil(try id("18446744073709551616"))
        XCTAssertNil(try id("99999999999999999999"))
        XCTAssertNil(try id("123456789012345678901234567890"))
    }

    func testUnsignedIntegerRefusesNonIntegers() throws {
        for literal in ["-1", "-0", "1.0", "1e3", "1E3", "1.5", "0.0", "2e0", "true", "\"1\"", "null", "[1]"] {
            XCTAssertNil(try id(literal), literal)
        }
    }

    func testSignedIntegerAndDecodedNumbers() throws {
        try withMessage("[-9223372036854775808, 9223372036854775807, 9223372036854775808, -0, 1.5e3]") { m in
            XCTAssertEqual(JSONScanner.integer(m.buffer, m.span(0)), Int64.min)
            XCTAssertEqual(JSONScanner.integer(m.buffer, m.span(1)), Int64.max)
            XCTAssertNil(JSONScanner.integer(m.buffer, m.span(2)))
            XCTAssertEqual(JSONScanner.integer(m.buffer, m.span(3)), 0)
            XCTAssertNil(JSONScanner.integer(m.buffer, m.span(4)))
            guard case .number(let n) = JSONScanner.decodeValue(m.buffer, m.span(4)) else { return XCTFail() }
            XCTAssertEqual(n.text, "1.5e3")
            XCTAssertEqual(n.double, 1500)
            XCTAssertNil(n.integer)
            guard case .number(let big) = JSONScanner.decodeValue(m.buffer, m.span(2)) else { return XCTFail() }
            XCTAssertEqual(big.text, "9223372036854775808")
            XCTAssertNil(big.integer)
            XCTAssertEqual(big.double, 9_223_372_036_854_775_808.0)
        }
        XCTAssertEqual(JSONNumber(text: "1e999")?.double, .infinity)
        XCTAssertEqual(JSONNumber(text: "-12")?.integer, -12)
        XCTAssertNil(JSONNumber(text: "012"))
        XCTAssertNil(JSONNumber(text: " 1"))
        XCTAssertNil(JSONNumber(text: "1 2"))
        XCTAssertNil(JSONNumber(Double.nan))
    }

    func testNumberGrammar() {
        let accepted = ["0", "-0", "1", "-1", "10", "0.5", "-0.5", "1e5", "1E5", "1e+5", "1e-5", "1.25e-005", "0e0",
                        "123456789012345678901234567890", "1e999", "-1e-999"]
        let refused = ["01", "-01", "00", "1.", ".1", "-", "+1", "1e", "1e+", "1.e3", "0x10", "1_000", "--1", "-.5",
                       "1.5.5", "1e5e5", "NaN", "Infinity", "-Infinity", "infinity", "nan", "1f", "0.", "-", "1ee5"]
        for n in accepted { XCTAssertNil(messageError("[\(n)]"), n) }
        for n in refused { XCTAssertNotNil(messageError("[\(n)]"), n) }
        XCTAssertEqual(messageError("[01]")?.description, "invalid JSON at byte 1: leading zeros are not allowed in numbers")
        XCTAssertEqual(messageError("[1.]")?.description, "invalid JSON at byte 3: expected a digit after '.' in a number")
    }
}
