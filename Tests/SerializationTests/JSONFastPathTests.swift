// The JSON scanner's word-at-a-time paths at their edges: strings of every short length with each
// byte that needs attention ('"', '\\', a control byte, non-ASCII) at each offset, strings and digit
// runs that end where fewer than 8 bytes remain, and integer reading around the SWAR limits (8 and 16
// digits, 2^53, 2^64 − 1, 2^64, a number too close to the buffer's end for an 8-byte load).

import BrokerSerialization
import XCTest

final class JSONFastPathTests: XCTestCase {
    /// `count` plain letters (a, b, c, …), so a misplaced offset shows in the decoded text.
    private func letters(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(ascii: "a") + UInt8($0 % 26) }
    }

    private let quote = UInt8(ascii: "\"")

    func testPlainStringsOfEveryShortLengthInAMessageAndAtTheEnd() throws {
        for length in 0...17 {
            let content = letters(length)
            // In a message (bytes follow the string) and as a lone value (the string ends the buffer).
            try withMessage([UInt8(ascii: "[")] + [quote] + content + [quote, UInt8(ascii: "]")]) { m in
                XCTAssertEqual(m.span(0), JSONSpan(start: 1, end: length + 3, kind: .string), "length \(length)")
                XCTAssertEqual(m.rawString(0).map { Array($0) }, content, "length \(length)")
                XCTAssertEqual(m.string(0), String(decoding: content, as: UTF8.self))
            }
            let value = [quote] + content + [quote]
            XCTAssertEqual(value.withUnsafeBytes { try? JSONScanner.scanValue($0).get() },
                           JSONSpan(start: 0, end: length + 2, kind: .string), "length \(length)")
            // Unterminated: the scan runs off the end of the buffer in every alignment.
            let open = [quote] + content
            XCTAssertEqual(valueError(open)?.offset, open.count, "length \(length)")
            XCTAssertEqual(valueError(open)?.message, "unterminated string (opened at byte 0)")
        }
    }

    func testEachAttentionByteAtEachOffset() throws {
        for length in 1...17 {
            for offset in 0..<length {
                var content = letters(length)
                let at = 2 + offset  // the byte's offset in `["…"]`
                func message(_ middle: [UInt8]) -> [UInt8] {
                    [UInt8(ascii: "["), quote] + middle + [quote, UInt8(ascii: "]")]
                }
                let label = "length \(length), offset \(offset)"

                // A quote ends the string early; the byte after it is not ',' or ']'.
                content[offset] = quote
                let early = messageError(message(content))
                XCTAssertEqual(early?.offset, at + 1, label)
                XCTAssertEqual(early?.message, "expected ',' or ']'", label)

                // An escape: accepted, decoded, and the raw bytes are not the text.
                content = letters(length)
                let escaped = Array(content[..<offset]) + Array(#"\n"#.utf8) + Array(content[offset...])
                try withMessage(message(escaped)) { m in
                    XCTAssertNil(m.rawString(0), label)
                    var expected = content
                    expected.insert(0x0A, at: offset)
                    XCTAssertEqual(m.string(0).map { Array($0.utf8) }, expected, label)
                }

                // A raw control byte.
                for control: UInt8 in [0x00, 0x0A, 0x1F] {
                    content = letters(length)
                    content[offset] = control
                    let error = messageError(message(content))
                    XCTAssertEqual(error?.offset, at, label)
                    XCTAssertEqual(error?.message, "control character 0x\(control < 16 ? "0" : "")\(String(control, radix: 16, uppercase: true)) must be escaped in a string", label)
                }

                // Non-ASCII: a valid 2-, 3- and 4-byte sequence in place of the letter is kept raw.
                for sequence: [UInt8] in [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80]] {
                    content = letters(length)
                    content.replaceSubrange(offset...offset, with: sequence)
                    try withMessage(message(content)) { m in
                        XCTAssertEqual(m.rawString(0).map { Array($0) }, content, label)
                    }
                }
                // Ill-formed UTF-8 at the offset, with the exact diagnosis.
                let illFormed: [([UInt8], String)] = [
                    ([0x80], "invalid UTF-8 byte 0x80"),
                    ([0xC0, 0x80], "invalid UTF-8 (overlong encoding)"),
                    ([0xE0, 0x80, 0x80], "invalid UTF-8 (overlong, surrogate or out of range)"),
                    ([0xED, 0xA0, 0x80], "invalid UTF-8 (overlong, surrogate or out of range)"),
                    ([0xF4, 0x90, 0x80, 0x80], "invalid UTF-8 (overlong, surrogate or out of range)"),
                    ([0xC3, 0x41], "invalid UTF-8 (truncated sequence)"),
                ]
                for (sequence, expected) in illFormed {
                    content = letters(length)
                    content.replaceSubrange(offset...offset, with: sequence)
                    let error = messageError(message(content))
                    XCTAssertEqual(error?.offset, at, "\(label) \(sequence)")
                    XCTAssertEqual(error?.message, expected, "\(label) \(sequence)")
                }
            }
        }
    }

    func testEscapeFlagIsPerElement() throws {
        try withMessage(#"[16, 1, {"k\u0041": "v\n"}, "plain", "esc\\aped", ["\t"], "last"]"#) { m in
            XCTAssertEqual(m.rawString(3).map { String(decoding: $0, as: UTF8.self) }, "plain")
            XCTAssertNil(m.rawString(4))
            XCTAssertEqual(m.string(4), "esc\\aped")
            XCTAssertEqual(m.rawString(6).map { String(decoding: $0, as: UTF8.self) }, "last",
                           "an escape inside an earlier container marks nothing")
            let key: String = "kA"
            let options = try XCTUnwrap(m.object(2))
            XCTAssertEqual(options.value(forKey: key).map { options.decodeString($0) }, "v\n")
        }
    }

    func testDigitRunsOfEveryLengthWithTheStopAtEachOffset() {
        for length in 1...25 {
            let digits = (0..<length).map { UInt8(ascii: "1") + UInt8($0 % 9) }
            XCTAssertNil(messageError([UInt8(ascii: "[")] + digits + [UInt8(ascii: "]")]), "\(length) digits")
            XCTAssertNil(valueError(digits), "\(length) digits ending the buffer")
            XCTAssertNil(valueError([UInt8(ascii: "-")] + digits + Array(".5e-7".utf8)), "\(length) digits with fraction")
            XCTAssertNil(valueError(Array("0.".utf8) + digits + Array("E+".utf8) + digits), "\(length)-digit fraction and exponent")
            // A non-digit inside the run ends the number there: what follows is refused at its offset.
            for offset in 1..<length {
                var bad = digits
                bad[offset] = UInt8(ascii: "x")
                let error = messageError([UInt8(ascii: "[")] + bad + [UInt8(ascii: "]")])
                XCTAssertEqual(error?.offset, 1 + offset, "\(length) digits, stop at \(offset)")
                XCTAssertEqual(error?.message, "expected ',' or ']'")
            }
        }
        XCTAssertEqual(valueError(Array("-".utf8))?.message, "unexpected end of input in a number")
        XCTAssertEqual(valueError(Array("-x".utf8))?.message, "expected a digit in a number")
        XCTAssertEqual(valueError(Array("12345678.".utf8))?.message, "expected a digit after '.' in a number")
        XCTAssertEqual(valueError(Array("123456789e".utf8))?.offset, 10)
        XCTAssertEqual(valueError(Array("123456789e".utf8))?.message, "expected a digit in a number's exponent")
        XCTAssertEqual(messageError("[0123456789]")?.message, "leading zeros are not allowed in numbers")
    }

    func testUnsignedIntegerAroundTheWordLimits() throws {
        // Every length from 1 to 20 digits, in a message where the 8-byte loads fit and where they do not.
        let all = Array("98765432109876543210".utf8)
        for length in 1...20 {
            let digits = Array(all[0..<length])
            let expected = UInt64(String(decoding: digits, as: UTF8.self))
            try withMessage([UInt8(ascii: "[")] + digits + [UInt8(ascii: "]")]) { m in
                XCTAssertEqual(m.unsignedInteger(0), expected, "\(length) digits at the end")
            }
            try withMessage([UInt8(ascii: "[")] + digits + Array(", \"padding past eight bytes\"]".utf8)) { m in
                XCTAssertEqual(m.unsignedInteger(0), expected, "\(length) digits with room after")
            }
        }
        let cases: [(String, UInt64?)] = [
            ("0", 0), ("9", 9), ("10", 10), ("99999999", 99_999_999), ("100000000", 100_000_000),
            ("9999999999999999", 9_999_999_999_999_999), ("10000000000000000", 10_000_000_000_000_000),
            ("9007199254740992", 9_007_199_254_740_992), ("9007199254740993", 9_007_199_254_740_993),
            ("18446744073709551615", UInt64.max), ("18446744073709551616", nil), ("99999999999999999999", nil),
            ("-0", nil), ("-1", nil), ("1e5", nil), ("1E5", nil), ("1.0", nil), ("12345678.5", nil),
            ("1234567890123.5", nil), ("123456789012e5", nil), ("-123456789012", nil),
        ]
        for (literal, expected) in cases {
            for suffix in ["]", ", 1, 2, 3, 4]"] {
                try withMessage("[\(literal)\(suffix)") { m in
                    XCTAssertEqual(m.unsignedInteger(0), expected, "\(literal)\(suffix)")
                }
            }
        }
    }
}
