// Differential test against Python's msgpack package (the independent implementation). Inputs and
// Python's verdicts/values come from Fixtures/generate_msgpack_differential.py (seeded; run it to
// regenerate) in Fixtures/msgpack_differential.txt, committed so the test needs no Python at run time.
// For each input: the scanner accepts exactly what Python accepts minus what the broker refuses by
// design (ext, non-str keys, depth > 64); decodeValue equals Python's unpackb (canonical form hashed
// the same way on both sides); scanMessage accepts exactly the arrays of at most 7 elements; the
// transcoder's JSON equals Python's value under the WAMP JSON rules; and msgpack → JSON → msgpack
// gives back the value (NaN/infinity excepted: null in JSON).

import BrokerSerialization
import SerializationSelfCheck
import Foundation
import XCTest

final class MessagePackDifferentialTests: XCTestCase {
    func testScannerDecoderAndTranscoderAgreeWithPythonMsgpack() throws {
        let url = repositoryRoot.appendingPathComponent("Tests/SerializationTests/Fixtures/msgpack_differential.txt")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 3000)
        var accepted = 0, refused = 0, messages = 0
        for (number, line) in lines.enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: String(fields[1])), "line \(number + 1)"))
            let where_ = "line \(number + 1)"
            try bytes.withUnsafeBytes { buffer in
                let scanned = MessagePackScanner.scanValue(buffer)
                switch (fields[0], scanned) {
                case ("A", .success(let span)):
                    accepted += 1
                    XCTAssertEqual(fnv1a64Hex(canonicalForm(JSONScanner.decodeValue(buffer, span))), String(fields[2]),
                                   "\(where_): decoded differently from Python")
                    switch MessagePackScanner.scanMessage(buffer) {
                    case .success(let view):
                        messages += 1
                        XCTAssertEqual(fields[5], "1", "\(where_): scanMessage accepted a non-message")
                        XCTAssertEqual(view.count, JSONArrayView(buffer: buffer, span: span).count)
                    case .failure(let error):
                        XCTAssertEqual(fields[5], "0", "\(where_): scanMessage refused a message: \(error)")
                    }
                    // msgpack → JSON: the WAMP JSON image of Python's value.
                    var json: [UInt8] = []
                    XCTAssertTrue(PayloadTranscoder.messagePackToJSON(buffer, into: &json), where_)
                    let jsonValue = try JSONScanner.parse(json).get()
                    XCTAssertEqual(fnv1a64Hex(canonicalForm(jsonValue)), String(fields[3]),
                                   "\(where_): JSON image differs: \(String(decoding: json, as: UTF8.self))")
                    // … → msgpack: the value again (binary restored, NaN/infinity now nil).
                    var back: [UInt8] = []
                    XCTAssertTrue(json.withUnsafeBytes { PayloadTranscoder.jsonToMessagePack($0, into: &back) }, where_)
                    XCTAssertEqual(fnv1a64Hex(canonicalForm(try msgpackParse(back))), String(fields[4]),
                                   "\(where_): msgpack → JSON → msgpack changed the value")
                    XCTAssertNil(MessagePackSelfCheck.check(buffer), where_)
                case ("R", .failure(let error)):
                    refused += 1
                    XCTAssertTrue((0...bytes.count).contains(error.offset))
                    if case .success = MessagePackScanner.scanMessage(buffer) {
                        XCTFail("\(where_): scanMessage accepted what Python refuses")
                    }
                case ("A", .failure(let error)):
                    XCTFail("\(where_): Python accepts, scanner refuses: \(error)")
                case ("R", .success):
                    XCTFail("\(where_): Python refuses (or the broker must), scanner accepts \(bytes)")
                default:
                    XCTFail("\(where_): bad fixture line")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 1000)
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(messages, 800)
    }
}
