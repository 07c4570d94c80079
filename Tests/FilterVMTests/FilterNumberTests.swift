// FilterNumber: exact decimal parsing, normalisation, ordering and DynamoDB N limits.

import XCTest

@testable import FilterVM

final class FilterNumberTests: XCTestCase {
    func n(_ text: String) -> FilterNumber {
        guard let number = FilterNumber(text: text) else {
            XCTFail("\(text) should parse")
            return .zero
        }
        return number
    }

    func testEqualSpellingsAreEqualAndHashEqual() {
        let spellings = ["1", "1.0", "1.000", "10E-1", "0.1e1", "100e-2"]
        for s in spellings {
            XCTAssertEqual(n(s), n("1"), s)
            XCTAssertEqual(n(s).hashValue, n("1").hashValue, s)
        }
        XCTAssertEqual(n("-0"), n("0"))
        XCTAssertEqual(n("0.000"), .zero)
        XCTAssertEqual(n("12.50"), n("12.5"))
        XCTAssertEqual(n("1E+3"), n("1000"))
    }

    func testOrderingIsExactBeyondDouble() {
        // These differ only past Double's 53-bit mantissa: a Double comparison would say equal.
        XCTAssertLessThan(n("12345678901234567890123"), n("12345678901234567890124"))
        XCTAssertNotEqual(n("9007199254740993"), n("9007199254740992"))
        XCTAssertLessThan(n("0.1000000000000000000000000000000000001"), n("0.1000000000000000000000000000000000002"))
        XCTAssertLessThan(n("-5"), n("-4.99"))
        XCTAssertLessThan(n("-0.001"), n("0"))
        XCTAssertLessThan(n("0"), n("1E-130"))
        XCTAssertLessThan(n("99"), n("100"))
        XCTAssertLessThan(n("-100"), n("-99"))
        XCTAssertLessThan(n("0.5"), n("2"))
    }

    func testIntInitMatchesText() {
        for i in [0, 1, -1, 7, 10, 42, -1000, 123_456_789, Int.max, Int.min] {
            XCTAssertEqual(FilterNumber(i), n(String(i)), "\(i)")
        }
    }

    func testLimits() {
        XCTAssertNotNil(FilterNumber(text: "99999999999999999999999999999999999999"))  // 38 digits
        XCTAssertNil(FilterNumber(text: "999999999999999999999999999999999999991"))  // 39 significant
        XCTAssertNotNil(FilterNumber(text: "1000000000000000000000000000000000000000"))  // 40 digits, 1 significant
        XCTAssertNotNil(FilterNumber(text: "9.9999999999999999999999999999999999999E+125"))
        XCTAssertNil(FilterNumber(text: "1E+126"))
        XCTAssertNotNil(FilterNumber(text: "1E-130"))
        XCTAssertNil(FilterNumber(text: "1E-131"))
        XCTAssertNil(FilterNumber(text: "1e999999999999"))
    }

    func testRejectsNonJSONNumbers() {
        for bad in ["", "-", "+1", "01", ".5", "5.", "1e", "1e+", "0x10", "1 ", " 1", "NaN", "--1", "1.2.3"] {
            XCTAssertNil(FilterNumber(text: bad), bad)
        }
    }

    func testDescriptionRoundTrips() {
        for s in ["0", "1", "-1", "12.5", "0.001", "1E+100", "1.5E-50", "123456789012345678901234567890", "-0.5",
            "99999999999999999999999999999999999999", "0.0000001"]
        {
            let text = n(s).description
            XCTAssertEqual(FilterNumber(text: text), n(s), "\(s) → \(text)")
        }
        XCTAssertEqual(n("12.50").description, "12.5")
        XCTAssertEqual(n("1E+3").description, "1000")
    }
}
