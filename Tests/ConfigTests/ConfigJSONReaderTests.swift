// The configuration's JSON reader: malformed input is refused with line, column and JSON path;
// valid input (escapes, Unicode, numbers) reads exactly.

import XCTest

import BrokerSerialization
@testable import BrokerConfig

final class ConfigJSONReaderTests: XCTestCase {
    private func syntaxError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigIssue? {
        let issues = configIssues(text, file: file, line: line)
        XCTAssertEqual(issues.count, 1, "\(issues)", file: file, line: line)
        return issues.first
    }

    private func lineAndColumn(_ issue: ConfigIssue?) -> String? {
        guard let message = issue?.message, let at = message.range(of: "at line ") else { return nil }
        return String(message[at.upperBound...].prefix { $0 != ":" })
    }

    func testPositionsAgreeWithPython() {
        // Line and column where Python's json module (json.JSONDecodeError.lineno/colno) reports
        // the same documents' errors.
        let vectors: [(String, String)] = [
            ("{\"loops\": 0,\n \"listeners\" []}", "2, column 14"),
            ("{\n  \"loops\": 0\n  \"realms\": []\n}", "3, column 3"),
            ("{\"a\": [1, 2,, 3]}", "1, column 13"),
            ("{\"a\": tru}", "1, column 7"),
            ("{\"a\": \"x\ny\"}", "1, column 9"),
            ("{\"a\": 1} x", "1, column 10"),
            ("", "1, column 1"),
            ("{\"a\": 01}", "1, column 8"),
            ("{\"\u{E9}\": 1 2}", "1, column 9"),
        ]
        for (text, expected) in vectors {
            XCTAssertEqual(lineAndColumn(syntaxError(text)), expected, text.debugDescription)
        }
    }

    func testMessagesNameThePathAndTheProblem() {
        XCTAssertEqual(
            syntaxError("{\"listeners\": [{\"port\": 80,}]}"),
            ConfigIssue(path: "$.listeners[0]", message: "malformed JSON at line 1, column 28: trailing comma before '}'"))
        XCTAssertEqual(
            syntaxError("{\"realms\": [1, 2,]}"),
            ConfigIssue(path: "$.realms", message: "malformed JSON at line 1, column 18: trailing comma before ']'"))
        XCTAssertEqual(
            syntaxError("{\n  // comment\n}"),
            ConfigIssue(path: "$", message: "malformed JSON at line 2, column 3: comments are not allowed in JSON"))
        XCTAssertEqual(
            syntaxError("{\"limits\": {\"max_message_bytes\": 1"),
            ConfigIssue(
                path: "$.limits",
                message: "malformed JSON at line 1, column 35: expected ',' or '}' after the value of \"max_message_bytes\", found the end of the document"))
        XCTAssertEqual(
            syntaxError("{'loops': 1}"),
            ConfigIssue(path: "$", message: "malformed JSON at line 1, column 2: expected a key in double quotes, found '''"))
        XCTAssertEqual(
            syntaxError("{\"loops\": NaN}"),
            ConfigIssue(path: "$.loops", message: "malformed JSON at line 1, column 11: expected a value, found 'N'"))
        XCTAssertEqual(syntaxError("   \n ")?.message, "malformed JSON at line 2, column 2: the document is empty")
    }

    func testStringProblems() {
        XCTAssertEqual(syntaxError("{\"a\": \"\\x\"}")?.message, "malformed JSON at line 1, column 9: invalid escape '\\x' in a string")
        XCTAssertEqual(syntaxError("{\"a\": \"\\uD800\"}")?.message.contains("unpaired surrogate \\uD800"), true)
        XCTAssertEqual(syntaxError("{\"a\": \"\\uDC00\"}")?.message.contains("unpaired surrogate \\uDC00"), true)
        XCTAssertEqual(syntaxError("{\"a\": \"\\u12G4\"}")?.message.contains("four hex digits"), true)
        XCTAssertEqual(syntaxError("{\"a\": \"abc")?.message.contains("unterminated string"), true)
        let invalidUTF8: [UInt8] = Array("{\"a\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        XCTAssertThrowsError(try BrokerConfiguration.parse(invalidUTF8, baseDirectory: "/")) { error in
            XCTAssertEqual((error as? ConfigError)?.issues.first?.path, "$.a")
            XCTAssertEqual((error as? ConfigError)?.issues.first?.message.contains("not valid UTF-8"), true)
        }
    }

    func testNumberProblems() {
        for (text, problem) in [
            ("{\"a\": -}", "expected a digit after '-'"), ("{\"a\": 1.}", "expected a digit after '.'"),
            ("{\"a\": 1e}", "expected a digit in the exponent"), ("{\"a\": +1}", "expected a value, found '+'"),
            ("{\"a\": 007}", "leading zeros"),
        ] {
            XCTAssertEqual(syntaxError(text)?.message.contains(problem), true, text)
        }
    }

    func testDeepNestingIsRefusedNotCrashed() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertEqual(syntaxError(deep)?.message.contains("nesting deeper than"), true)
    }

    func testValidValuesReadExactly() throws {
        let text = "\u{FEFF}{\"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00 \u{1F600}\", \"n\": [-0, 12, -3.5e+2, 1E-2], \"l\": [true, false, null, {}, []]}"
        let root = try JSONTreeReader.read(Array(text.utf8))
        guard case .object(let members) = root.value, members.count == 3 else { return XCTFail("\(root)") }
        guard case .string(let s) = members[0].node.value else { return XCTFail("\(members[0])") }
        XCTAssertEqual(s, "a\"b\\c/d\u{8}\u{C}\n\r\t\u{E9}\u{1F600} \u{1F600}")
        guard case .array(let numbers) = members[1].node.value else { return XCTFail("\(members[1])") }
        let texts = numbers.compactMap { node -> String? in
            if case .number(let t, let isInteger) = node.value { return "\(t)/\(isInteger)" }
            return nil
        }
        XCTAssertEqual(texts, ["-0/true", "12/true", "-3.5e+2/false", "1E-2/false"])
        guard case .array(let literals) = members[2].node.value else { return XCTFail("\(members[2])") }
        XCTAssertEqual(literals.count, 5)
    }

    func testRandomBytesNeverCrash() {
        // Mutations of a valid document: every result is either a configuration or issues.
        var generator = SystemRandomNumberGenerator()
        let base = Array(BrokerConfiguration.defaultJSON.utf8)
        for _ in 0..<2000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let i = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: i)
                }
            }
            do {
                _ = try BrokerConfiguration.parse(bytes, baseDirectory: "/nonexistent")
            } catch {
                XCTAssertFalse(error.issues.isEmpty)
                for issue in error.issues { XCTAssertTrue(issue.path.hasPrefix("$"), issue.description) }
            }
        }
    }
}
