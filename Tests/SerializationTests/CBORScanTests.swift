// CBORScanner, the CBOR views, CBORWriter and the CBOR transcodings: hand-built encodings from
// RFC 8949's tables (Appendix A examples where they fit), every refusal with the message that names
// what was wrong, half/single floats, the self-describe tag, and exact bytes across all three formats.

import BrokerSerialization
import XCTest

/// CBOR bytes built by hand from RFC 8949 §3 (so expected bytes do not come from the writer under test).
enum CB {
    static func head(_ major: UInt8, _ v: UInt64) -> [UInt8] {
        let m = major << 5
        return v < 24 ? [m | UInt8(v)] : v <= 0xFF ? [m | 24, UInt8(v)] : v <= 0xFFFF ? [m | 25] + MP.be(v, 2)
            : v <= 0xFFFF_FFFF ? [m | 26] + MP.be(v, 4) : [m | 27] + MP.be(v, 8)
    }
    static func array(_ elements: [[UInt8]]) -> [UInt8] { head(4, UInt64(elements.count)) + elements.flatMap { $0 } }
    static func map(_ members: [(String, [UInt8])]) -> [UInt8] {
        head(5, UInt64(members.count)) + members.flatMap { text($0.0) + $0.1 }
    }
    static func text(_ s: String) -> [UInt8] { head(3, UInt64(s.utf8.count)) + Array(s.utf8) }
    static func bytes(_ b: [UInt8]) -> [UInt8] { head(2, UInt64(b.count)) + b }
    static func uint(_ v: UInt64) -> [UInt8] { head(0, v) }
    static func negative(_ v: Int64) -> [UInt8] { head(1, UInt64(-1 - v)) }
    static func double(_ d: Double) -> [UInt8] { [0xFB] + MP.be(d.bitPattern, 8) }
}

final class CBORScanTests: XCTestCase {
    private func messageError(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { buffer in
            if case .failure(let error) = CBORScanner.scanMessage(buffer) { return error.description }
            return nil
        }
    }

    private func value(_ bytes: [UInt8]) throws -> JSONValue { try CBORScanner.parse(bytes).get() }

    func testPublishMessageViews() throws {
        let publish = CB.array([CB.uint(16), CB.uint(1 << 40), CB.map([("acknowledge", [0xF5])]), CB.text("com.topic"),
                                CB.array([CB.uint(1), CB.bytes([0, 0xFF])]), CB.map([("x", CB.negative(-500)), ("é", [0xF6])])])
        try publish.withUnsafeBytes { buffer in
            let view = try CBORScanner.scanMessage(buffer).get()
            XCTAssertEqual(view.format, .cbor)
            XCTAssertEqual(view.count, 6)
            XCTAssertEqual(view.unsignedInteger(0), 16)
            XCTAssertEqual(view.unsignedInteger(1), 1 << 40)
            XCTAssertEqual(view.object(2)?.bool(forKey: "acknowledge"), true)
            XCTAssertEqual(view.string(3), "com.topic")
            XCTAssertTrue("com.topic".utf8.withContiguousStorageIfAvailable { view.stringEquals(3, UnsafeRawBufferPointer($0)) }!)
            XCTAssertEqual(view.rawString(3).map { Array($0) }, Array("com.topic".utf8))
            XCTAssertEqual(view.array(4)?.count, 2)
            XCTAssertEqual(view.object(5)?.decodeValue(view.object(5)!.value(forKey: "x")!), .number(JSONNumber(Int64(-500))))
            XCTAssertEqual(Array(view.bytes(4)), CB.array([CB.uint(1), CB.bytes([0, 0xFF])]))
        }
    }

    func testScalarsIncludingHalfAndSingleFloats() throws {
        // RFC 8949 Appendix A: f9 3c00 = 1.0, f9 7bff = 65504.0, f9 0001 = 5.960464477539063e-8,
        // f9 0400 = 0.00006103515625, f9 c400 = -4.0, fa 47c35000 = 100000.0, f9 7c00 = Infinity.
        let items: [[UInt8]] = [[0xF9, 0x3C, 0x00], [0xF9, 0x7B, 0xFF], [0xF9, 0x00, 0x01], [0xF9, 0x04, 0x00],
                                [0xF9, 0xC4, 0x00], [0xFA, 0x47, 0xC3, 0x50, 0x00], [0x1B] + MP.be(.max, 8),
                                [0x3B] + MP.be(UInt64(Int64.max), 8)]
        var json: [UInt8] = []
        XCTAssertTrue(CB.array(items).withUnsafeBytes { PayloadTranscoder.transcode($0, from: .cbor, to: .json, into: &json) })
        XCTAssertEqual(String(decoding: json, as: UTF8.self),
                       "[1.0,65504.0,5.960464477539063e-08,6.103515625e-05,-4.0,100000.0,18446744073709551615,-9223372036854775808]")
        var inf: [UInt8] = []
        XCTAssertTrue(([0x82, 0xF9, 0x7C, 0x00, 0x3B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8]).withUnsafeBytes {
            PayloadTranscoder.transcode($0, from: .cbor, to: .json, into: &inf)
        })
        XCTAssertEqual(String(decoding: inf, as: UTF8.self), "[null,-1.8446744073709552e+19]")  // -2^64 → nearest double
    }

    func testSelfDescribeTagInFrontOfTheMessage() throws {
        let hello = [0xD9, 0xD9, 0xF7] + CB.array([CB.uint(1), CB.text("realm1"), CB.map([])])
        try hello.withUnsafeBytes { buffer in
            let view = try CBORScanner.scanMessage(buffer).get()
            XCTAssertEqual(view.unsignedInteger(0), 1)
            XCTAssertEqual(view.string(1), "realm1")
        }
    }

    func testRefusalsNameWhatWasWrong() {
        let cases: [([UInt8], String)] = [
            ([], "invalid CBOR at byte 0: empty input"),
            ([0xD9, 0xD9, 0xF7], "invalid CBOR at byte 3: unexpected end of input after the self-describe tag, expected the message array"),
            (CB.map([]), "invalid CBOR at byte 0: a WAMP message must be a CBOR array, found map"),
            ([0x9F, 0x01, 0xFF], "invalid CBOR at byte 0: a WAMP message must be a definite-length CBOR array, found an indefinite-length array"),
            (CB.array(Array(repeating: [0], count: 8)), "invalid CBOR at byte 0: a WAMP message has at most 7 elements, this array declares 8"),
            (CB.array([[0x10], [0xC1, 0x01]]), "invalid CBOR at byte 2: CBOR tag 1 at byte 2 is not allowed in WAMP messages (only the self-describe tag 55799 in front of the whole message)"),
            (CB.array([[0x10], [0xD9, 0xD9, 0xF7, 0x01]]), "invalid CBOR at byte 2: CBOR tag 55799 at byte 2 is not allowed in WAMP messages (only the self-describe tag 55799 in front of the whole message)"),
            (CB.array([[0xF7]]), "invalid CBOR at byte 1: CBOR undefined at byte 1 is not allowed in WAMP messages (no other serializer can carry it)"),
            (CB.array([[0xF0]]), "invalid CBOR at byte 1: CBOR simple value 16 at byte 1 is not allowed in WAMP messages (only false, true and null)"),
            (CB.array([[0x5F, 0x41, 0x61, 0xFF]]), "invalid CBOR at byte 1: indefinite-length CBOR byte string at byte 1 (a connection rewrites such a message with definite lengths first, see CBORDefiniteLengths)"),
            (CB.array([[0xFF]]), "invalid CBOR at byte 1: unexpected CBOR break code 0xFF at byte 1"),
            (CB.array([[0x1C]]), "invalid CBOR at byte 1: reserved CBOR additional information 28 at byte 1"),
            (CB.array([[0xA1, 0x01, 0x02]]), "invalid CBOR at byte 2: map key must be a text string (WAMP dictionaries have string keys), found unsigned integer"),
            (CB.array([[0x62, 0xC0, 0xAF]]), "invalid CBOR at byte 2: invalid UTF-8 in a text string (byte 0xC0)"),
            (CB.array([[0x7A, 0xFF, 0xFF, 0xFF, 0xFF]]), "invalid CBOR at byte 6: text string at byte 1 declares 4294967295 bytes, only 0 remain"),
            (CB.array([[0x9B] + MP.be(.max, 8)]), "invalid CBOR at byte 1: array at byte 1 declares 18446744073709551615 elements, only 0 bytes remain"),
            (CB.array([[0x19, 0x01]]), "invalid CBOR at byte 3: unexpected end of input in the unsigned integer header at byte 1"),
            (CB.array([[0x01]]) + [0x01], "invalid CBOR at byte 2: unexpected data after the top-level item (1 trailing bytes)"),
        ]
        for (bytes, expected) in cases {
            XCTAssertEqual(messageError(bytes), expected, "\(bytes)")
        }
    }

    func testNestingIsBoundedWithoutRecursionOnInput() {
        var deep: [UInt8] = [0x81]
        for _ in 0..<70 { deep.append(0x81) }
        deep.append(0x01)
        XCTAssertEqual(messageError(deep), "invalid CBOR at byte 64: nesting deeper than 64 levels")
        let ok = Array(repeating: UInt8(0x81), count: 64) + [0x01]
        XCTAssertNil(messageError(ok))
    }

    func testWriterUsesShortestHeads() {
        var out: [UInt8] = []
        CBORWriter.appendValue(.array([.number(JSONNumber(UInt64(23))), .number(JSONNumber(UInt64(24))), .number(JSONNumber(Int64(-25))),
                                       .number(JSONNumber(UInt64(65536))), .string("a"), .binary([1]), .null, .bool(true),
                                       .object([("k", .number(JSONNumber(1.5)!))])]), to: &out)
        XCTAssertEqual(out, CB.array([[0x17], [0x18, 0x18], [0x38, 0x18], [0x1A, 0, 1, 0, 0], [0x61, 0x61], [0x41, 1], [0xF6], [0xF5],
                                      CB.map([("k", CB.double(1.5))])]))
    }

    func testTranscodingAcrossAllThreeFormatsKeepsBinaryAndValues() throws {
        let cbor = CB.array([CB.bytes([0, 1, 0xFF]), CB.text("\u{0}x"), CB.uint(.max), CB.negative(.min), CB.double(0.1),
                             CB.map([("b", CB.bytes([]))])])
        var json: [UInt8] = []
        XCTAssertTrue(cbor.withUnsafeBytes { PayloadTranscoder.transcode($0, from: .cbor, to: .json, into: &json) })
        XCTAssertEqual(String(decoding: json, as: UTF8.self),
                       #"["\u0000AAH/","\u0000x",18446744073709551615,-9223372036854775808,0.1,{"b":"\u0000"}]"#)
        var back: [UInt8] = []
        XCTAssertTrue(json.withUnsafeBytes { PayloadTranscoder.transcode($0, from: .json, to: .cbor, into: &back) })
        XCTAssertEqual(back, cbor)
        var msgpack: [UInt8] = []
        XCTAssertTrue(cbor.withUnsafeBytes { PayloadTranscoder.transcode($0, from: .cbor, to: .msgpack, into: &msgpack) })
        XCTAssertEqual(msgpack, MP.array([MP.bin([0, 1, 0xFF]), MP.str("\u{0}x"), MP.uint(.max), [0xD3, 0x80, 0, 0, 0, 0, 0, 0, 0],
                                          MP.double(0.1), MP.map([("b", MP.bin([]))])]))
        var again: [UInt8] = []
        XCTAssertTrue(msgpack.withUnsafeBytes { PayloadTranscoder.transcode($0, from: .msgpack, to: .cbor, into: &again) })
        XCTAssertEqual(again, cbor)
        // Half and single floats become 64-bit floats in MessagePack.
        var widened: [UInt8] = []
        XCTAssertTrue(([0x82, 0xF9, 0x3E, 0x00, 0xFA, 0x3F, 0xC0, 0x00, 0x00] as [UInt8]).withUnsafeBytes {
            PayloadTranscoder.transcode($0, from: .cbor, to: .msgpack, into: &widened)
        })
        XCTAssertEqual(widened, MP.array([MP.double(1.5), MP.double(1.5)]))
    }

    func testMalformedInputToTranscoderLeavesOutputUnchanged() {
        var out: [UInt8] = [7]
        XCTAssertFalse(([0x82, 0x01] as [UInt8]).withUnsafeBytes { PayloadTranscoder.transcode($0, from: .cbor, to: .json, into: &out) })
        XCTAssertFalse(([0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8]).withUnsafeBytes {
            PayloadTranscoder.transcode($0, from: .cbor, to: .msgpack, into: &out)
        })
        XCTAssertEqual(out, [7])
    }

    private func rewritten(_ bytes: [UInt8]) -> Result<[UInt8], JSONScanError>? {
        bytes.withUnsafeBytes { CBORDefiniteLengths.rewrite($0) }
    }

    func testIndefiniteLengthsAreRewrittenWithDefiniteOnes() throws {
        // RFC 8949 Appendix A: (_ h'0102', h'030405'), (_ "strea", "ming"), [_ ], [_ 1, [2, 3], [_ 4, 5]],
        // {_ "a": 1, "b": [_ 2, 3]}, inside a message so the scanner reads the result.
        let cases: [([UInt8], [UInt8])] = [
            ([0x5F, 0x42, 0x01, 0x02, 0x43, 0x03, 0x04, 0x05, 0xFF], CB.bytes([1, 2, 3, 4, 5])),
            ([0x7F, 0x65] + Array("strea".utf8) + [0x64] + Array("ming".utf8) + [0xFF], CB.text("streaming")),
            ([0x9F, 0xFF], CB.array([])),
            ([0x9F, 0x01, 0x82, 0x02, 0x03, 0x9F, 0x04, 0x05, 0xFF, 0xFF], CB.array([[1], CB.array([[2], [3]]), CB.array([[4], [5]])])),
            ([0xBF, 0x61, 0x61, 0x01, 0x61, 0x62, 0x9F, 0x02, 0x03, 0xFF, 0xFF], CB.map([("a", [1]), ("b", CB.array([[2], [3]]))])),
        ]
        for (indefinite, definite) in cases {
            let message = [0x85, 0x10, 0x01, 0xA0, 0x61, 0x74] + [0x81] + indefinite
            XCTAssertEqual(try XCTUnwrap(rewritten(message)).get(), [0x85, 0x10, 0x01, 0xA0, 0x61, 0x74, 0x81] + definite)
        }
        // A whole indefinite message, after the self-describe tag.
        XCTAssertEqual(try XCTUnwrap(rewritten([0xD9, 0xD9, 0xF7, 0x9F, 0x01, 0x66] + Array("realm1".utf8) + [0xBF, 0xFF, 0xFF])).get(),
                       [0xD9, 0xD9, 0xF7] + CB.array([[1], CB.text("realm1"), CB.map([])]))
        // No indefinite item before the first problem: the scanner's own error stands.
        XCTAssertNil(rewritten(CB.array([[0x01]])))
        XCTAssertNil(rewritten(CB.array([[0xC1, 0x01]]) + [0x9F]))
    }

    func testMalformedIndefiniteItemsNameWhatWasWrong() {
        let cases: [([UInt8], String)] = [
            ([0x81, 0x9F, 0x01], "invalid CBOR at byte 3: unexpected end of input, the indefinite-length array at byte 1 has no break code"),
            ([0x81, 0x5F, 0x61, 0x61, 0xFF], "invalid CBOR at byte 2: a chunk of the indefinite-length byte string at byte 1 must be a definite-length byte string, found text string"),
            ([0x81, 0x7F, 0x7F, 0xFF, 0xFF], "invalid CBOR at byte 2: a chunk of the indefinite-length text string at byte 1 must be a definite-length text string, found text string"),
            ([0x81, 0xBF, 0x61, 0x61, 0xFF], "invalid CBOR at byte 4: the indefinite-length map at byte 1 ends after a key, without its value"),
            ([0x82, 0x9F, 0xFF, 0x9B] + MP.be(.max, 8), "invalid CBOR at byte 3: array at byte 3 declares 18446744073709551615 elements, only 0 bytes remain"),
            ([0x81, 0x9F, 0xFF, 0x00], "invalid CBOR at byte 3: unexpected data after the top-level item (1 trailing bytes)"),
            (Array(repeating: 0x9F, count: 70), "invalid CBOR at byte 64: nesting deeper than 64 levels"),
        ]
        for (bytes, expected) in cases {
            guard case .failure(let error)? = rewritten(bytes) else { return XCTFail("rewrite accepted \(bytes)") }
            XCTAssertEqual(error.description, expected)
        }
    }

    func testPublishPathAllocatesNothing() throws {
        guard let counter = ThreadAllocationCounter.pointer() else { return XCTFail("jemalloc's counter is not available") }
        let bytes = CB.array([CB.uint(16), CB.uint(1 << 40), CB.map([("acknowledge", [0xF5]), ("exclude_me", [0xF4]),
                                                                   ("exclude", CB.array([CB.uint(1), CB.uint(300)]))]),
                              CB.text("com.topic"), CB.array([CB.uint(1), CB.bytes([0, 0xFF])]), CB.map([("x", [0xF9, 0x3C, 0x00])])])
        var sink: UInt64 = 0
        var before = counter.pointee
        bytes.withUnsafeBytes { buffer in
            for round in 0..<201 {
                if round == 1 { before = counter.pointee }
                guard case .success(let m) = CBORScanner.scanMessage(buffer) else { return XCTFail("refused") }
                guard let code = m.unsignedInteger(0), let request = m.unsignedInteger(1), let options = m.object(2),
                      m.kind(3) == .string, let topic = m.rawString(3) else { return XCTFail("shape") }
                sink &+= code &+ request &+ UInt64(topic.count)
                if options.bool(forKey: "acknowledge") == true { sink &+= 1 }
                if options.bool(forKey: "exclude_me") == false { sink &+= 1 }
                if let exclude = options.array(forKey: "exclude"), exclude.containsUnsignedInteger(300) { sink &+= 1 }
                sink &+= UInt64(m.bytes(4).count + m.bytes(5).count)
                "com.topic".utf8.withContiguousStorageIfAvailable { if m.stringEquals(3, UnsafeRawBufferPointer($0)) { sink &+= 1 } }
            }
        }
        XCTAssertEqual(counter.pointee - before, 0, "CBOR scanMessage + publish-path accessors allocated")
        // Per round: 16 + 2^40 + 9 (topic) + 3 (options) + 5 + 6 (args, kwargs bytes) + 1 (topic equal).
        XCTAssertEqual(sink, 201 * ((1 << 40) + 40))
    }
}
