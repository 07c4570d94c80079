// PayloadTranscoder: exact values across formats — integers at the 2^53 edge, UInt64.max, Int64.min,
// floats (float 32 widened, shortest JSON text), unicode, the WAMP binary rule both ways, nested and
// empty containers, and the documented lossy corners (huge integer literals, NaN/infinity). Python's
// json/msgpack cross-check the same rules over a random corpus in MessagePackDifferentialTests.

import BrokerSerialization
import XCTest

final class PayloadTranscoderTests: XCTestCase {
    private func toMessagePack(_ json: String) -> [UInt8]? {
        var out: [UInt8] = [0xEE]  // existing content must survive
        let ok = Array(json.utf8).withUnsafeBytes { PayloadTranscoder.jsonToMessagePack($0, into: &out) }
        XCTAssertEqual(out.first, 0xEE)
        return ok ? Array(out.dropFirst()) : nil
    }

    private func toJSON(_ msgpack: [UInt8]) -> String? {
        var out: [UInt8] = []
        let ok = msgpack.withUnsafeBytes { PayloadTranscoder.messagePackToJSON($0, into: &out) }
        return ok ? String(decoding: out, as: UTF8.self) : nil
    }

    func testJSONToMessagePackExactBytes() throws {
        let cases: [(String, [UInt8])] = [
            ("[]", [0x90]), ("{}", [0x80]), ("[[],{}]", [0x92, 0x90, 0x80]),
            ("[0,-1,127,128,-32,-33]", MP.array([[0], [0xFF], [0x7F], [0xCC, 0x80], [0xE0], [0xD0, 0xDF]])),
            ("[9007199254740992,9007199254740993]", MP.array([MP.uint(1 << 53), MP.uint((1 << 53) + 1)])),
            ("[18446744073709551615,-9223372036854775808]", MP.array([MP.uint(.max), [0xD3, 0x80, 0, 0, 0, 0, 0, 0, 0]])),
            ("[18446744073709551616]", MP.array([MP.double(18446744073709551616.0)])),
            ("[-9223372036854775809]", MP.array([MP.double(-9223372036854775809.0)])),
            ("[-0, 1.0, 1E2, 0.1, -2.5e-3, 1e400]", MP.array([[0], MP.double(1), MP.double(100), MP.double(0.1),
                                                                MP.double(-0.0025), MP.double(.infinity)])),
            (#"{"a":true,"b":false,"c":null}"#, MP.map([("a", MP.true), ("b", MP.false), ("c", MP.null)])),
            (#"["é中😀","\u00e9\ud83d\ude00","\ud800","\"\\\/\n"]"#,
             MP.array([MP.str("é中😀"), MP.str("é😀"), MP.str("\u{FFFD}"), MP.str("\"\\/\n")])),
            (#"["\u0000AAH/","\u0000","\u0000QQ==","\u0000QR==","\u0000abc","a\u0000"]"#,
             MP.array([MP.bin([0, 1, 0xFF]), MP.bin([]), MP.bin([0x41]), MP.str("\u{0}QR=="), MP.str("\u{0}abc"), MP.str("a\u{0}")])),
            (#"{"\u0000AA==":1}"#, MP.map([("\u{0}AA==", [1])])),  // keys stay strings
            (" [ 1 , { \"k\" : [ ] } ] ", MP.array([[1], MP.map([("k", [0x90])])])),
        ]
        for (json, expected) in cases {
            XCTAssertEqual(toMessagePack(json), expected, json)
        }
        // Counts beyond fix sizes.
        let sixteen = "[" + (0..<16).map(String.init).joined(separator: ",") + "]"
        XCTAssertEqual(toMessagePack(sixteen), [0xDC, 0, 16] + (0..<16).map { UInt8($0) })
        let long = String(repeating: "x", count: 300)
        XCTAssertEqual(toMessagePack("[\"\(long)\"]"), MP.array([MP.str(long)]))
    }

    func testMessagePackToJSONExactText() {
        let cases: [([UInt8], String)] = [
            (MP.array([]), "[]"), (MP.map([]), "{}"),
            (MP.array([MP.uint(.max), [0xD3, 0x80, 0, 0, 0, 0, 0, 0, 0], MP.uint(1 << 53), [0xD0, 0xFF], [0xCF] + MP.be(5, 8)]),
             "[18446744073709551615,-9223372036854775808,9007199254740992,-1,5]"),
            (MP.array([MP.double(0.1), MP.double(3), MP.double(1e16), MP.double(-0.0), MP.float(0.1), MP.double(.leastNonzeroMagnitude)]),
             "[0.1,3.0,1e+16,-0.0,0.10000000149011612,5e-324]"),
            (MP.array([MP.double(.nan), MP.double(.infinity), MP.float(-.infinity)]), "[null,null,null]"),
            (MP.array([MP.bin([0, 1, 0xFF]), MP.bin([]), MP.bin(Array("hello".utf8))]),
             #"["\u0000AAH/","\u0000","\u0000aGVsbG8="]"#),
            (MP.map([("é\"\n", MP.str("中\u{1}😀"))]), "{\"é\\\"\\n\":\"中\\u0001😀\"}"),
            (MP.array([MP.null, MP.true, MP.false, MP.map([("a", MP.array([MP.map([])]))])]), #"[null,true,false,{"a":[{}]}]"#),
        ]
        for (msgpack, expected) in cases {
            XCTAssertEqual(toJSON(msgpack), expected, "\(msgpack)")
        }
    }

    func testRoundTripsPreserveValues() throws {
        let jsonTexts = [
            #"[9007199254740991,9007199254740992,9007199254740993,18446744073709551615,-9223372036854775808]"#,
            #"[0.1,2.5,-1.7976931348623157e+308,5e-324,1e+16,123456.789]"#,
            #"{"nested":{"list":[[],{},[{}]],"s":"é中😀\u0001"},"empty":"","bin":"\u0000AAECAwQ="}"#,
        ]
        for text in jsonTexts {
            let original = try JSONScanner.parse(Array(text.utf8)).get()
            let msgpack = try XCTUnwrap(toMessagePack(text))
            let json = try XCTUnwrap(toJSON(msgpack))
            XCTAssertEqual(try JSONScanner.parse(Array(json.utf8)).get(), original, text)
            XCTAssertEqual(toMessagePack(json), msgpack, "msgpack → JSON → msgpack is byte-identical here")
        }
        // msgpack with non-minimal encodings and float 32 → JSON → msgpack: same values.
        let msgpack = MP.array([[0xCF] + MP.be(7, 8), [0xD1, 0xFF, 0xFF], MP.float(2.5), [0xD9, 1, 0x61], MP.bin([9])])
        let back = try XCTUnwrap(toMessagePack(try XCTUnwrap(toJSON(msgpack))))
        XCTAssertEqual(back, MP.array([[7], [0xFF], MP.double(2.5), MP.str("a"), MP.bin([9])]))
        XCTAssertEqual(try msgpackParse(back).description(), try msgpackParse(msgpack).description())
    }

    func testMalformedInputIsRefusedAndLeavesOutputAlone() {
        for bad in ["[1,", "[1 2]", "{\"a\" 1}", "{1:2}", "]", "[" + String(repeating: "[", count: 70) + String(repeating: "]", count: 71)] {
            XCTAssertNil(toMessagePack(bad), bad)
        }
        for bad: [UInt8] in [[0x92, 0x01], [0xDB, 0xFF, 0xFF, 0xFF, 0xFF], [0x81, 0x01, 0x02], [0xD4, 0, 0], [0x91, 0x01, 0x02]] {
            XCTAssertNil(toJSON(bad), "\(bad)")
        }
        XCTAssertEqual(toMessagePack(""), [], "no payload: nothing written, success")
        XCTAssertEqual(toJSON([]), "")
    }

    func testTranscodeDispatch() {
        let json = Array("[1]".utf8)
        var out: [UInt8] = []
        json.withUnsafeBytes { _ = PayloadTranscoder.transcode($0, from: .json, to: .json, into: &out) }
        XCTAssertEqual(out, json)
        out = []
        json.withUnsafeBytes { _ = PayloadTranscoder.transcode($0, from: .json, to: .msgpack, into: &out) }
        XCTAssertEqual(out, [0x91, 0x01])
    }
}

private extension JSONValue {
    /// A comparable text form (JSONValue's == compares JSONNumber texts, which differ for 2.5 as float 32 vs 64 only in source).
    func description() -> String { canonicalForm(self) }
}
