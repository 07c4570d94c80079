// filter_values bound straight from message spans into FilterVM values: JSON binds exactly as
// FilterVM's own parser reads the same text, MessagePack binds like its JSON transcoding (bin as
// the WAMP binary string, NaN as null), and the old refusals (lone surrogates, numbers outside
// DynamoDB's N, nesting deeper than 32) still hold.

import BrokerSerialization
import FilterVM
import XCTest

@testable import FastBroker

final class FilterValueBindingTests: XCTestCase {
    private func bindJSON(_ text: String) -> Result<FilterValue, FilterValueProblem> {
        Array(text.utf8).withUnsafeBytes { buffer in
            guard case .success(let span) = JSONScanner.scanValue(buffer) else { fatalError("invalid test JSON \(text)") }
            return FilterValueBinding.value(buffer, span)
        }
    }

    private func bindMessagePack(_ bytes: [UInt8]) -> Result<FilterValue, FilterValueProblem> {
        bytes.withUnsafeBytes { buffer in
            guard case .success(let span) = MessagePackScanner.scanValue(buffer) else { fatalError("invalid test MessagePack") }
            return FilterValueBinding.value(buffer, span)
        }
    }

    func testJSONBindsAsFilterVMParsesIt() throws {
        let texts = [
            #"{"a": [1, -0.5, 1e3, "x\u00e9\ud83d\ude00", true, false, null], "m": {"k": 1, "k": 2}}"#,
            #""plain""#, "12345678901234567890123456789012345678", #"[[], {}, [{"z": [0]}]]"#, "-1E-130",
        ]
        for text in texts {
            XCTAssertEqual(try bindJSON(text).get(), try FilterValue(json: Array(text.utf8)), text)
        }
        // A repeated key: the first wins.
        XCTAssertEqual(try bindJSON(#"{"k": 1, "k": 2}"#).get(), .map(["k": .number(FilterNumber(1))]))
    }

    func testMessagePackBindsLikeItsJSONTranscoding() throws {
        let tree: JSONValue = .object([
            ("n", .number(JSONNumber(Int64(-7)))), ("u", .number(JSONNumber(UInt64.max))),
            ("d", .number(JSONNumber(0.1)!)), ("s", .string("é")), ("l", .array([.bool(true), .null])),
            ("k", .number(JSONNumber(Int64(1)))), ("k", .number(JSONNumber(Int64(2)))),
        ])
        var packed: [UInt8] = []
        MessagePackWriter.appendValue(tree, to: &packed)
        var json: [UInt8] = []
        JSONWriter.appendValue(tree, to: &json)
        XCTAssertEqual(try bindMessagePack(packed).get(), try FilterValue(json: json))

        var bin: [UInt8] = []
        let raw: [UInt8] = [1, 2, 3]
        raw.withUnsafeBytes { MessagePackWriter.appendBinary($0, to: &bin) }
        XCTAssertEqual(try bindMessagePack(bin).get(), .string("\u{0}AQID"))
        var nan: [UInt8] = []
        MessagePackWriter.appendDouble(.nan, to: &nan)
        XCTAssertEqual(try bindMessagePack(nan).get(), .null)
    }

    func testRefusals() {
        for (text, problem) in [
            (#""a\ud800x""#, "unpaired surrogate in \\u escape"), (#""\udc00""#, "unpaired surrogate in \\u escape"),
            (#""\ud800\u0041""#, "unpaired surrogate in \\u escape"), (#""\ud800""#, "unpaired surrogate in \\u escape"),
            (#"{"\ud800": 1}"#, "unpaired surrogate in \\u escape"),
            ("1e400", "number is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125)"),
            (String(repeating: "[", count: 33) + String(repeating: "]", count: 33), "value nested deeper than 32 levels"),
        ] {
            guard case .failure(let refused) = bindJSON(text) else { XCTFail("accepted \(text)"); continue }
            XCTAssertEqual(refused.message, problem, text)
        }
        XCTAssertNoThrow(try bindJSON(String(repeating: "[", count: 32) + String(repeating: "]", count: 32)).get())
        XCTAssertEqual(try bindJSON(#""\\ud800""#).get(), .string("\\ud800"))  // an escaped backslash, not an escape
    }
}
