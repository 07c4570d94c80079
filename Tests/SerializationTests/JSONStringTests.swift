// String tokens: escapes, surrogate pairs, lone surrogates (accepted, decoded as U+FFFD — see
// JSONScanner+Strings.swift), raw control characters and ill-formed UTF-8 (refused).

import BrokerSerialization
import XCTest

final class JSONStringTests: XCTestCase {
    private func decoded(_ token: String) throws -> String? {
        try withMessage("[\(token)]") { $0.string(0) }
    }

    func testEscapes() throws {
        XCTAssertEqual(try decoded(#""a\"b\\c\/d\be\ff\ng\rh\ti""#), "a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti")
        XCTAssertEqual(try decoded(#""\u0041\u00e9\u00E9\u4e2d\uFFFF""#), "Aéé中\u{FFFF}")
        XCTAssertEqual(try decoded(#""\u0000""#), "\u{0}")
        XCTAssertEqual(try decoded(#""""#), "")
        XCTAssertEqual(try decoded(#""plain ascii that is longer than eight bytes""#), "plain ascii that is longer than eight bytes")
        XCTAssertEqual(try decoded("\"raw é 中 😀 \u{10FFFF}\""), "raw é 中 😀 \u{10FFFF}")
    }

    func testSurrogatePairs() throws {
        XCTAssertEqual(try decoded(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(try decoded(#""\uD83D\uDE00x""#), "😀x")
        XCTAssertEqual(try decoded(#""\udbff\udfff""#), "\u{10FFFF}")
    }

    func testLoneSurrogatesAreAcceptedAndDecodeAsReplacementCharacter() throws {
        XCTAssertEqual(try decoded(#""\ud800""#), "\u{FFFD}")
        XCTAssertEqual(try decoded(#""\udc00""#), "\u{FFFD}")
        XCTAssertEqual(try decoded(#""a\ud83db""#), "a\u{FFFD}b")
        XCTAssertEqual(try decoded(#""\ude00\ud83d""#), "\u{FFFD}\u{FFFD}", "a reversed pair is two lone surrogates")
        XCTAssertEqual(try decoded(#""\ud83d\u0041""#), "\u{FFFD}A")
        XCTAssertEqual(try decoded(#""\ud83d\ud83d\ude00""#), "\u{FFFD}😀")
        try withMessage(#"[{"\ud800": 1}]"#) { m in
            XCTAssertEqual(m.object(0)?.unsignedInteger(forKey: "\u{FFFD}"), 1)
        }
    }

    func testRefusedEscapesAndControlCharacters() {
        let refused: [(String, String)] = [
            (#"["\x"]"#, "invalid escape sequence"),
            (#"["\u12"]"#, "\\u needs four hex digits"),
            (#"["\u12G4"]"#, "\\u needs four hex digits"),
            (#"["\U0041"]"#, "invalid escape sequence"),
            (#"["\'"]"#, "invalid escape sequence"),
            (#"["\"]"#, "unterminated string (opened at byte 1)"),
            ("[\"a\u{9}b\"]", "control character 0x09 must be escaped in a string"),
            ("[\"a\nb\"]", "control character 0x0A must be escaped in a string"),
            ("[\"abc", "unterminated string (opened at byte 1)"),
            ("['single']", "expected a value"),
        ]
        for (text, message) in refused {
            XCTAssertEqual(messageError(text)?.message, message, text)
        }
        XCTAssertNil(messageError("[\"a\u{7F}b\"]"), "DEL needs no escape")
        XCTAssertEqual(messageError([0x5B, 0x22, 0x61, 0x00, 0x62, 0x22, 0x5D])?.offset, 3, "raw NUL in a string")
    }

    func testIllFormedUTF8IsRefused() {
        let cases: [(String, [UInt8])] = [
            ("overlong slash", [0xC0, 0xAF]),
            ("overlong 2-byte", [0xC1, 0xBF]),
            ("overlong 3-byte", [0xE0, 0x80, 0xAF]),
            ("overlong 4-byte", [0xF0, 0x80, 0x80, 0xAF]),
            ("UTF-8 encoded high surrogate", [0xED, 0xA0, 0x80]),
            ("UTF-8 encoded low surrogate", [0xED, 0xBF, 0xBF]),
            ("CESU-8 pair", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]),
            ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
            ("F5 lead", [0xF5, 0x80, 0x80, 0x80]),
            ("FF byte", [0xFF]),
            ("FE byte", [0xFE]),
            ("lone continuation", [0x80]),
            ("truncated 2-byte", [0xC3]),
            ("truncated 3-byte", [0xE2, 0x82]),
            ("truncated 4-byte", [0xF0, 0x9F, 0x98]),
            ("bad continuation", [0xE2, 0x28, 0xA1]),
            ("5-byte form", [0xF8, 0x88, 0x80, 0x80, 0x80]),
        ]
        for (name, bad) in cases {
            let text: [UInt8] = Array("[\"ok".utf8) + bad + Array("x\"]".utf8)
            let error = messageError(text)
            XCTAssertEqual(error?.offset, 4, name)
            XCTAssertTrue(error?.message.contains("UTF-8") ?? false, "\(name): \(String(describing: error))")
        }
        // Well-formed boundaries are accepted.
        for good: [UInt8] in [[0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
                              [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF]] {
            XCTAssertNil(messageError(Array("[\"".utf8) + good + Array("\"]".utf8)), "\(good)")
        }
        // Non-ASCII outside strings is refused too.
        XCTAssertNotNil(messageError([0x5B, 0xC3, 0xA9, 0x5D]))
    }

    func testStringEqualsAgreesWithDecoding() throws {
        let tokens = [#""abc""#, #""a\u0062c""#, #""\ud83d\ude00""#, #""\ud800""#, #""é""#, #""\u00e9""#, #""a\\b""#, #""""#]
        let candidates = ["abc", "ab", "abcd", "😀", "\u{FFFD}", "é", "a\\b", "", "e\u{301}"]
        for token in tokens {
            try withMessage("[\(token)]") { m in
                let value = try XCTUnwrap(m.string(0))
                for var candidate in candidates {
                    let equal = candidate.withUTF8 { m.stringEquals(0, UnsafeRawBufferPointer($0)) }
                    // Byte equality, not Unicode canonical equivalence ("é" vs "e\u{301}").
                    XCTAssertEqual(equal, Array(value.utf8) == Array(candidate.utf8), "\(token) vs \(candidate)")
                }
            }
        }
    }
}
