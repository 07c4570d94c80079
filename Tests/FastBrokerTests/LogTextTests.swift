// LogText: client text quoted in log lines (escaped, capped) and in ABORT/ERROR messages (capped).

import XCTest
@testable import FastBroker

final class LogTextTests: XCTestCase {
    func testShortPlainTextIsUnchanged() {
        XCTAssertEqual(LogText.escaped("wamp.close.normal"), "wamp.close.normal")
        XCTAssertEqual(LogText.capped("café ☕"), "café ☕")
    }

    func testControlCharactersAreEscaped() {
        XCTAssertEqual(LogText.escaped("a\nb\r\tc"), #"a\nb\r\tc"#)
        XCTAssertEqual(LogText.escaped("nul\u{0}esc\u{1B}del\u{7F}c1\u{85}ls\u{2028}"),
                       #"nul\u{0}esc\u{1B}del\u{7F}c1\u{85}ls\u{2028}"#)
        XCTAssertEqual(LogText.escaped(#"fake \n"#), #"fake \\n"#, "a literal backslash-n cannot pass for an escape")
        XCTAssertEqual(LogText.capped("a\nb"), "a\nb", "capped alone does not escape (JSON encodes it)")
    }

    func testLongTextIsCutAtACharacterBoundaryAndNamesItsLength() {
        let long = String(repeating: "é", count: 150)   // 300 bytes
        let cut = LogText.capped(long)
        XCTAssertEqual(cut, String(repeating: "é", count: 100) + "…(300 bytes)")
        let newlines = String(repeating: "\n", count: 1000)
        let escaped = LogText.escaped(newlines)
        XCTAssertEqual(escaped, String(repeating: #"\n"#, count: 100) + "…(1000 bytes)")
        let controls = String(repeating: "\u{1}", count: 100_000)
        XCTAssertLessThanOrEqual(LogText.escaped(controls).utf8.count, LogText.maxQuotedBytes + 20)
    }
}
