// A corpus of nasty inputs in the style of JSONTestSuite (written for this project), each with the
// verdict RFC 8259 requires; plus the limits (nesting depth 64, huge numbers, long inputs).

import BrokerSerialization
import XCTest

final class JSONAcceptRejectTests: XCTestCase {
    /// Texts every strict parser must accept (as a whole JSON text; most are also WAMP-shaped arrays).
    static let accepted: [String] = [
        "[]", "[ ]", " [1] ", "\t[\n1\r]\n", "[[]]", "[{}]", "[[[[[]]]]]", #"[""]"#, #"["\u0000"]"#,
        "[0]", "[-0]", "[-0.0]", "[0e1]", "[0E+1]", "[1e-1]", "[123.456e-789]", "[1E400]",
        "[100000000000000000000000000000000000000000000000000000000000000000000000000000000000]",
        "[-123456789012345678901234567890.0e-10]", "[true, false, null]", #"[{"a": {"b": {"c": []}}}]"#,
        #"[{"": 0}]"#, #"[{"a": 1, "a": 2}]"#, #"["\/\\\"\b\f\n\r\t"]"#, #"["\u2028\u2029"]"#, #"["\uFEFF"]"#,
        "[\"\u{7F}\"]", #"["\ud800"]"#, #"["\udfff\ud800"]"#, "[\"\u{FFFF}\u{10FFFF}\"]", #"["\\u0000"]"#,
        // not WAMP-shaped, valid JSON texts
        "1", "\"x\"", "null", " true ", "{}", #"{"a":[1,{"b":null}]}"#, "-5e-3",
    ]

    /// Texts every strict parser must refuse.
    static let refused: [String] = [
        "", " ", "[", "]", "[1,]", "[,1]", "[1,,2]", "[,]", "[1 2]", "[01]", "[-01]", "[1.]", "[.1]", "[1.e1]",
        "[+1]", "[1e]", "[1e+]", "[-]", "[0x1]", "[Infinity]", "[-Infinity]", "[NaN]", "[nan]", "[nul]", "[tru]",
        "[True]", "[NULL]", "[truex]", "[nulll]", #"["\x"]"#, #"["\u"]"#, #"["\u00"]"#, #"["\u00zz"]"#, #"["\a"]"#,
        "['a']", #"["a"#, #"["a]"#, #"[{"a"}]"#, #"[{"a":}]"#, #"[{"a" 1}]"#, #"[{a: 1}]"#, #"[{"a":1,}]"#,
        #"[{,}]"#, #"[{"a":1 "b":2}]"#, #"[{1: 2}]"#, "[{}", "[{]}", "[}", "[1]]", "[1] [2]", "[1] x", "[1]\u{0}",
        "[\u{0}]", "[1,\u{0}2]", "[\"\u{1F}\"]", "[\"\t\"]", "\u{FEFF}[1]", "[\u{A0}1]", "[\u{B}1]", "[\u{C}1]",
        "[1]\u{C}", "//c\n[1]", "[1]/**/", "[1;2]", "[\"a\" : 1]", "[[]", "[[[]]", "{\"a\":1", "{\"a\"::1}",
        "[-1-2]", "[1e1.5]", "[2.e3]", "[1 000]", "[\"\\\"]", "[\"\\ \"]", "[ttrue]", "[fals]",
    ]

    func testAcceptedCorpus() {
        for text in Self.accepted {
            XCTAssertNil(valueError(Array(text.utf8)), "should accept: \(text.debugDescription)")
            if text.utf8.first(where: { $0 > 0x20 }) == UInt8(ascii: "[") {
                XCTAssertNil(messageError(text), "should accept as a message: \(text.debugDescription)")
            }
        }
    }

    func testRefusedCorpus() {
        for text in Self.refused {
            let error = valueError(Array(text.utf8))
            XCTAssertNotNil(error, "should refuse: \(text.debugDescription)")
            XCTAssertNotNil(messageError(text), "should refuse as a message: \(text.debugDescription)")
            if let error { XCTAssertTrue((0...text.utf8.count).contains(error.offset), "\(text.debugDescription): \(error)") }
        }
    }

    func testNestingLimitIs64() {
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNil(messageError(deepest))
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertEqual(messageError(tooDeep)?.description, "invalid JSON at byte 64: nesting deeper than 64 levels")
        let objects = "[" + String(repeating: #"{"a":"#, count: 63) + "1" + String(repeating: "}", count: 63) + "]"
        XCTAssertNil(messageError(objects))
        let tooDeepObjects = "[" + String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64) + "]"
        XCTAssertNotNil(messageError(tooDeepObjects))
        // 10000 open brackets (and the balanced form) are refused quickly, without recursion.
        XCTAssertEqual(messageError(String(repeating: "[", count: 10_000))?.offset, 64)
        XCTAssertEqual(messageError(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000))?.offset, 64)
        XCTAssertEqual(messageError("[" + String(repeating: "{\"a\":[", count: 5000))?.message, "nesting deeper than 64 levels")
    }

    func testLargeInputs() throws {
        let hugeNumber = "[" + String(repeating: "9", count: 100_000) + "]"
        try withMessage(hugeNumber) { m in
            XCTAssertEqual(m.kind(0), .number)
            XCTAssertNil(m.unsignedInteger(0))
        }
        let manyElements = "[16, 1, {}, \"t\", [" + Array(repeating: "1.5", count: 50_000).joined(separator: ",") + "]]"
        try withMessage(manyElements) { m in XCTAssertEqual(m.span(4).end, manyElements.utf8.count - 1) }
        let longString = "[\"" + String(repeating: "abcdéfgh", count: 20_000) + "\"]"
        try withMessage(longString) { m in XCTAssertEqual(m.string(0)?.count, 160_000) }
    }

    func testErrorOffsetsPointAtTheOffendingByte() {
        let cases: [(String, Int)] = [
            ("[1,]", 3), ("[1 2]", 3), ("[01]", 1), ("[1.]", 3), ("[.1]", 1), (#"["\x"]"#, 2), ("[nul]", 1),
            ("[1] x", 4), ("[\"ab", 4), ("\u{FEFF}[1]", 0), (#"[{"a":1,}]"#, 8), ("[1", 2),
        ]
        for (text, offset) in cases {
            XCTAssertEqual(messageError(text)?.offset, offset, text.debugDescription)
        }
    }
}
