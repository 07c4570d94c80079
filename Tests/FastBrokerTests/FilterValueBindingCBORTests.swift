// filter_values sent in CBOR bind like their JSON transcoding, as MessagePack ones do: integers
// exactly, half/single floats by their value, byte strings as the WAMP binary string, NaN as null,
// a repeated key keeps the first value.

import BrokerSerialization
import FilterVM
import XCTest

@testable import FastBroker

final class FilterValueBindingCBORTests: XCTestCase {
    private func bindCBOR(_ bytes: [UInt8]) -> Result<FilterValue, FilterValueProblem> {
        bytes.withUnsafeBytes { buffer in
            guard case .success(let span) = CBORScanner.scanValue(buffer) else { fatalError("invalid test CBOR \(bytes)") }
            return FilterValueBinding.value(buffer, span)
        }
    }

    func testCBORBindsLikeItsJSONTranscoding() throws {
        let tree: JSONValue = .object([
            ("n", .number(JSONNumber(Int64(-7)))), ("u", .number(JSONNumber(UInt64.max))),
            ("d", .number(JSONNumber(0.1)!)), ("s", .string("é")), ("l", .array([.bool(true), .null])),
            ("k", .number(JSONNumber(Int64(1)))), ("k", .number(JSONNumber(Int64(2)))),
        ])
        var cbor: [UInt8] = []
        CBORWriter.appendValue(tree, to: &cbor)
        var json: [UInt8] = []
        JSONWriter.appendValue(tree, to: &json)
        XCTAssertEqual(try bindCBOR(cbor).get(), try FilterValue(json: json))

        XCTAssertEqual(try bindCBOR([0x43, 1, 2, 3]).get(), .string("\u{0}AQID"))  // h'010203'
        XCTAssertEqual(try bindCBOR([0xF9, 0x49, 0x00]).get(), .number(FilterNumber(10)))  // half 10.0
        XCTAssertEqual(try bindCBOR([0xFA, 0x3F, 0xC0, 0x00, 0x00]).get(), try FilterValue(json: Array("1.5".utf8)))  // single 1.5
        XCTAssertEqual(try bindCBOR([0xF9, 0x7E, 0x00]).get(), .null)  // half NaN
    }
}
