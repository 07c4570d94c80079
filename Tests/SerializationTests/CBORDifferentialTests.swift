// Differential test against Python's cbor2 package (the independent implementation). Inputs and
// cbor2's verdicts/values come from Fixtures/generate_cbor_differential.py (seeded; run it to
// regenerate) in Fixtures/cbor_differential.txt, committed so the test needs no Python at run time.
// For each input: the scanner accepts exactly what cbor2 accepts minus what the broker refuses by
// design (tags other than a leading 55799, undefined and other simple values, non-text keys,
// depth > 64; indefinite lengths are read after CBORDefiniteLengths rewrites them, as a connection
// does); decodeValue equals cbor2's value; scanMessage accepts exactly the
// arrays of at most 7 elements; CBOR → JSON gives cbor2's value under the WAMP JSON rules; CBOR →
// MessagePack gives the value again, and MessagePack → CBOR gives back the same value too.

import BrokerSerialization
import Foundation
import XCTest

final class CBORDifferentialTests: XCTestCase {
    func testScannerDecoderAndTranscodersAgreeWithPythonCbor2() throws {
        let url = repositoryRoot.appendingPathComponent("Tests/SerializationTests/Fixtures/cbor_differential.txt")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 3000)
        var accepted = 0, refused = 0, messages = 0
        for (number, line) in lines.enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            let original = [UInt8](try XCTUnwrap(Data(base64Encoded: String(fields[1])), "line \(number + 1)"))
            let where_ = "line \(number + 1)"
            // Indefinite lengths: rewritten with definite lengths first, as a connection does.
            var bytes = original
            if case .failure = original.withUnsafeBytes({ CBORScanner.scanValue($0) }),
               case .success(let definite)? = original.withUnsafeBytes({ CBORDefiniteLengths.rewrite($0) }) {
                bytes = definite
                XCTAssertNil(definite.withUnsafeBytes { CBORDefiniteLengths.rewrite($0) }, "\(where_): the rewrite left an indefinite length")
            }
            try bytes.withUnsafeBytes { buffer in
                switch (fields[0], CBORScanner.scanValue(buffer)) {
                case ("A", .success(let span)):
                    accepted += 1
                    XCTAssertEqual(hashFolded(JSONScanner.decodeValue(buffer, span)), String(fields[2]),
                                   "\(where_): decoded differently from cbor2")
                    switch CBORScanner.scanMessage(buffer) {
                    case .success(let view):
                        messages += 1
                        XCTAssertEqual(fields[5], "1", "\(where_): scanMessage accepted a non-message")
                        XCTAssertEqual(view.count, JSONArrayView(buffer: buffer, span: span).count)
                    case .failure(let error):
                        XCTAssertEqual(fields[5], "0", "\(where_): scanMessage refused a message: \(error)")
                    }
                    let item = UnsafeRawBufferPointer(rebasing: buffer[span.start..<span.end])
                    var json: [UInt8] = []
                    XCTAssertTrue(PayloadTranscoder.transcode(item, from: .cbor, to: .json, into: &json), where_)
                    XCTAssertEqual(hashFolded(try JSONScanner.parse(json).get()), String(fields[3]),
                                   "\(where_): JSON image differs: \(String(decoding: json, as: UTF8.self))")
                    var msgpack: [UInt8] = []
                    XCTAssertTrue(PayloadTranscoder.transcode(item, from: .cbor, to: .msgpack, into: &msgpack), where_)
                    XCTAssertEqual(hashFolded(try msgpackParse(msgpack)), String(fields[4]), "\(where_): CBOR → MessagePack changed the value")
                    var back: [UInt8] = []
                    XCTAssertTrue(msgpack.withUnsafeBytes { PayloadTranscoder.transcode($0, from: .msgpack, to: .cbor, into: &back) }, where_)
                    XCTAssertEqual(hashFolded(try CBORScanner.parse(back).get()), String(fields[4]), "\(where_): MessagePack → CBOR changed the value")
                case ("R", .failure(let error)):
                    refused += 1
                    XCTAssertTrue((0...bytes.count).contains(error.offset))
                    XCTAssertEqual(error.format, .cbor)
                    if case .success = CBORScanner.scanMessage(buffer) {
                        XCTFail("\(where_): scanMessage accepted what cbor2 refuses")
                    }
                case ("A", .failure(let error)):
                    XCTFail("\(where_): cbor2 accepts, scanner refuses: \(error)")
                case ("R", .success):
                    XCTFail("\(where_): cbor2 refuses (or the broker must), scanner accepts \(bytes)")
                default:
                    XCTFail("\(where_): bad fixture line")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 1000)
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(messages, 800)
    }

    /// cbor2 decodes a map into a dict: a duplicate key keeps its first position and its last value.
    private func hashFolded(_ v: JSONValue) -> String { fnv1a64Hex(canonicalForm(folded(v))) }

    private func folded(_ v: JSONValue) -> JSONValue {
        switch v {
        case .array(let elements): return .array(elements.map(folded))
        case .object(let members):
            var order: [String] = []
            var values: [String: JSONValue] = [:]
            for m in members {
                if values[m.key] == nil { order.append(m.key) }
                values[m.key] = folded(m.value)
            }
            return .object(order.map { (key: $0, value: values[$0]!) })
        default: return v
        }
    }
}
