// The cold-path tree reader (config, userdb): duplicate keys are refused at any depth with the
// path and position of the second copy, a large object is not checked quadratically, errors point
// at the offending byte, and paths quote keys that are not identifiers.

import BrokerSerialization
import XCTest

final class JSONTreeReaderTests: XCTestCase {
    private func readError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONTreeReadError? {
        do {
            _ = try JSONTreeReader.read(Array(text.utf8))
            XCTFail("accepted \(text.debugDescription)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testDuplicateKeysAreRefusedAtAnyDepth() {
        let bytes = Array("{\"a\": [{\"b\": 1,\n  \"b\": 2}]}".utf8)
        let error = readError(String(decoding: bytes, as: UTF8.self))
        XCTAssertEqual(error?.kind, .duplicateKey)
        XCTAssertEqual(error?.path, "$.a[0].b")
        XCTAssertEqual(error?.message, "duplicate key \"b\" (each key may appear once)")
        XCTAssertEqual(error.map { "\($0.lineAndColumn(in: bytes))" }, "(line: 2, column: 3)")
        // Equal keys in different objects are fine.
        XCTAssertNoThrow(try JSONTreeReader.read(Array(#"{"a": {"k": 1}, "b": {"k": 2}}"#.utf8)))
    }

    func testManyKeysReadInLinearTime() throws {
        let count = 200_000
        let text = "{" + (0..<count).map { "\"k\($0)\": \($0)" }.joined(separator: ",") + "}"
        let start = ContinuousClock.now
        let root = try JSONTreeReader.read(Array(text.utf8))
        guard case .object(let members) = root.value else { return XCTFail("not an object") }
        XCTAssertEqual(members.count, count)
        // Quadratic duplicate checking would take minutes here.
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(20))
        let duplicated = "{" + (0..<count).map { "\"k\($0)\": 0" }.joined(separator: ",") + ",\"k7\": 1}"
        XCTAssertEqual(readError(duplicated)?.path, "$.k7")
    }

    func testInvalidUTF8IsReportedAtTheOffendingByte() {
        let bytes: [UInt8] = Array(#"{"s": "ab"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        XCTAssertThrowsError(try JSONTreeReader.read(bytes)) { error in
            let e = error as? JSONTreeReadError
            XCTAssertEqual(e?.offset, 9)
            XCTAssertEqual(e?.path, "$.s")
            XCTAssertEqual(e?.message, "string is not valid UTF-8")
        }
    }

    func testPathsQuoteKeysThatAreNotIdentifiers() {
        XCTAssertEqual(JSONPath().key("listeners").index(1).key("port").description, "$.listeners[1].port")
        XCTAssertEqual(JSONPath().key("odd key").key("9lives").key("a\"b").description, #"$["odd key"]["9lives"]["a\"b"]"#)
        XCTAssertEqual(readError(#"{"my key": {"x": 1, "x": 2}}"#)?.path, #"$["my key"].x"#)
    }
}
