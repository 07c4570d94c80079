// MessagePackScanner acceptance and refusal: every type at every width and at its boundaries, the
// length boundaries of str/bin/array/map (8/16/32-bit forms), and everything refused: ext types,
// 0xC1, invalid UTF-8, non-string map keys, lying lengths, truncation at every cut point, depth,
// trailing bytes, and envelope rules (top-level array of at most 7 elements). Expected bytes are
// built by hand from the spec's format table (MP in MessagePackTestSupport.swift).

import BrokerSerialization
import SerializationSelfCheck
import XCTest

final class MessagePackScanTests: XCTestCase {
    // MARK: - Integers of every width at their limits

    func testIntegersAtEveryWidthDecodeExactly() throws {
        let unsignedCases: [([UInt8], UInt64)] = [
            ([0x00], 0), ([0x7F], 127),  // positive fixint
            ([0xCC, 0x00], 0), ([0xCC, 0xFF], 255),
            ([0xCD, 0x00, 0x00], 0), ([0xCD, 0xFF, 0xFF], 65535),
            ([0xCE] + MP.be(0, 4), 0), ([0xCE] + MP.be(0xFFFF_FFFF, 4), 4_294_967_295),
            ([0xCF] + MP.be(0, 8), 0), ([0xCF] + MP.be(UInt64.max, 8), UInt64.max),
            ([0xCF] + MP.be(1 << 53, 8), 1 << 53),
            ([0xD0, 0x7F], 127), ([0xD1, 0x7F, 0xFF], 32767), ([0xD2] + MP.be(0x7FFF_FFFF, 4), 2_147_483_647),
            ([0xD3] + MP.be(UInt64(Int64.max), 8), UInt64(Int64.max)),
        ]
        for (bytes, expected) in unsignedCases {
            try withMsgpackMessage(MP.array([bytes])) { m in
                XCTAssertEqual(m.kind(0), .number, "\(bytes)")
                XCTAssertEqual(m.unsignedInteger(0), expected, "\(bytes)")
            }
            XCTAssertEqual(canonicalForm(try msgpackParse(bytes)), "i\(expected)", "\(bytes)")
        }
        let negativeCases: [([UInt8], Int64)] = [
            ([0xFF], -1), ([0xE0], -32),  // negative fixint
            ([0xD0, 0x80], -128), ([0xD0, 0xFF], -1),
            ([0xD1, 0x80, 0x00], -32768), ([0xD2] + MP.be(0x8000_0000, 4), -2_147_483_648),
            ([0xD3] + MP.be(UInt64(bitPattern: Int64.min), 8), Int64.min),
        ]
        for (bytes, expected) in negativeCases {
            try withMsgpackMessage(MP.array([bytes])) { m in
                XCTAssertEqual(m.kind(0), .number)
                XCTAssertNil(m.unsignedInteger(0), "negative \(expected) is no WAMP id")
            }
            let value = try msgpackParse(bytes)
            XCTAssertEqual(canonicalForm(value), "i\(expected)", "\(bytes)")
            bytes.withUnsafeBytes { buffer in
                let span = try! MessagePackScanner.scanValue(buffer).get()
                XCTAssertEqual(JSONScanner.integer(buffer, span), expected)
            }
        }
    }

    func testFloatsAreNumbersButNotIntegers() throws {
        let cases: [([UInt8], Double)] = [
            (MP.double(1.0), 1.0), (MP.double(-0.0), -0.0), (MP.double(.greatestFiniteMagnitude), .greatestFiniteMagnitude),
            (MP.double(.leastNonzeroMagnitude), .leastNonzeroMagnitude), (MP.float(0.1), Double(Float(0.1))), (MP.float(.infinity), .infinity),
            (MP.double(.infinity), .infinity), (MP.double(-.infinity), -.infinity),
        ]
        for (bytes, expected) in cases {
            try withMsgpackMessage(MP.array([bytes])) { m in
                XCTAssertEqual(m.kind(0), .number)
                XCTAssertNil(m.unsignedInteger(0), "a float 1.0 is not an id")
            }
            guard case .number(let n) = try msgpackParse(bytes) else { return XCTFail("\(bytes)") }
            XCTAssertEqual(n.double.bitPattern, expected.bitPattern, "\(bytes)")
            XCTAssertNil(n.integer)
        }
        guard case .number(let nan) = try msgpackParse(MP.double(.nan)) else { return XCTFail() }
        XCTAssertTrue(nan.double.isNaN)
        XCTAssertEqual(nan.text, "NaN")
        XCTAssertEqual(try msgpackParse(MP.float(0.1)), .number(JSONNumber(Double(Float(0.1)))!), "float 32 widened exactly")
    }

    func testNilAndBooleans() throws {
        try withMsgpackMessage(MP.array([MP.null, MP.true, MP.false])) { m in
            XCTAssertEqual(m.kind(0), .null)
            XCTAssertEqual(m.kind(1), .true)
            XCTAssertEqual(m.kind(2), .false)
        }
    }

    // MARK: - Length boundaries

    func testStringLengthBoundaries() throws {
        // fixstr 0 and 31, str 8 at 32 and 255 (and a non-minimal str 8 of 3), str 16 at 256 and
        // 65535, str 32 at 65536.
        for (header, length) in [([0xA0], 0), ([0xBF], 31), ([0xD9, 32], 32), ([0xD9, 255], 255), ([0xD9, 3], 3),
                                 ([0xDA] + MP.be(256, 2), 256), ([0xDA] + MP.be(65535, 2), 65535),
                                 ([0xDB] + MP.be(65536, 4), 65536), ([0xDB] + MP.be(0, 4), 0)] as [([UInt8], Int)] {
            let text = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            let bytes = header + text
            try withMsgpackMessage(MP.array([bytes])) { m in
                XCTAssertEqual(m.kind(0), .string)
                XCTAssertEqual(m.string(0), String(decoding: text, as: UTF8.self), "length \(length)")
                XCTAssertEqual(m.rawString(0).map(Array.init), text)
                XCTAssertTrue(text.withUnsafeBytes { m.stringEquals(0, $0) })
                XCTAssertEqual(m.bytes(0).count, bytes.count)
            }
            // One byte short is refused, naming the declared length.
            if length > 0 {
                let error = try XCTUnwrap(msgpackMessageError(MP.array([Array(bytes.dropLast())])))
                XCTAssertTrue(error.message.contains("declares \(length) bytes"), error.message)
            }
        }
    }

    func testBinaryLengthBoundaries() throws {
        for (header, length) in [([0xC4, 0], 0), ([0xC4, 255], 255), ([0xC5] + MP.be(256, 2), 256),
                                 ([0xC5] + MP.be(65535, 2), 65535), ([0xC6] + MP.be(65536, 4), 65536)] as [([UInt8], Int)] {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let bytes = header + payload
            try withMsgpackMessage(MP.array([bytes])) { m in
                XCTAssertEqual(m.kind(0), .binary)
                XCTAssertNil(m.string(0))
            }
            XCTAssertEqual(try msgpackParse(bytes), .binary(payload), "bin of \(length)")
        }
    }

    func testArrayAndMapCountBoundaries() throws {
        for (header, count) in [([0x90], 0), ([0x9F], 15), ([0xDC] + MP.be(16, 2), 16), ([0xDC] + MP.be(65535, 2), 65535),
                                ([0xDD] + MP.be(65536, 4), 65536), ([0xDC] + MP.be(0, 2), 0)] as [([UInt8], Int)] {
            let bytes = header + [UInt8](repeating: 0x01, count: count)
            try withMsgpackMessage(MP.array([bytes])) { m in
                let array = try XCTUnwrap(m.array(0))
                XCTAssertEqual(array.count, count)
                XCTAssertEqual(Array(array).count, count)
                XCTAssertEqual(array.containsUnsignedInteger(1), count > 0)
            }
        }
        for (header, count) in [([0x80], 0), ([0x8F], 15), ([0xDE] + MP.be(16, 2), 16), ([0xDE] + MP.be(65535, 2), 65535),
                                ([0xDF] + MP.be(65536, 4), 65536)] as [([UInt8], Int)] {
            // Keys "k0", "k1", … (fixstr), values their index as uint.
            var bytes = header
            for k in 0..<count { bytes += MP.str("k\(k)") + MP.uint(UInt64(k)) }
            try withMsgpackMessage(MP.array([bytes])) { m in
                let object = try XCTUnwrap(m.object(0))
                XCTAssertEqual(Array(object).count, count)
                XCTAssertEqual(object.isEmpty, count == 0)
                if count > 0 {
                    XCTAssertEqual(object.unsignedInteger(forKey: "k0"), 0)
                    XCTAssertEqual(object.value(forKey: "k\(count - 1)").flatMap { JSONScanner.unsignedInteger(m.buffer, $0) },
                                   UInt64(count - 1))
                }
                XCTAssertNil(object.value(forKey: "absent"))
            }
        }
    }

    // MARK: - Refusals

    func testExtensionTypesAreRefused() {
        let exts: [[UInt8]] = [[0xD4, 1, 0], [0xD5, 1, 0, 0], [0xD6, 1] + [UInt8](repeating: 0, count: 4),
                               [0xD7, 0xFF] + [UInt8](repeating: 0, count: 8), [0xD8, 1] + [UInt8](repeating: 0, count: 16),
                               [0xC7, 1, 5, 0], [0xC8, 0, 1, 5, 0], [0xC9, 0, 0, 0, 1, 5, 0]]
        for ext in exts {
            let error = msgpackMessageError(MP.array([[0x10], ext]))
            XCTAssertEqual(error?.offset, 2, "\(ext)")
            XCTAssertTrue(error?.message.contains("extension types") ?? false, error?.message ?? "accepted \(ext)")
            XCTAssertTrue(error?.description.hasPrefix("invalid MessagePack at byte 2") ?? false, error?.description ?? "")
            XCTAssertNotNil(msgpackValueError(MP.map([("k", ext)])), "ext nested in a map")
        }
        XCTAssertTrue(msgpackMessageError(MP.array([[0xC1]]))?.message.contains("0xC1") ?? false)
    }

    func testCutOffExtensionHeaderIsRefusedAsAnExtensionType() {
        // The length field of ext 8/16/32 runs past the end: still named as an ext type, not as a
        // truncated header (the header reader cannot read a length, the scanner refuses the type).
        for ext: [UInt8] in [[0xC7], [0xC8, 0], [0xC9, 0, 0]] {
            let inMessage = msgpackMessageError([0x92, 0x10] + ext)
            XCTAssertEqual(inMessage?.offset, 2, "\(ext)")
            XCTAssertEqual(inMessage?.message.contains("extension types"), true, inMessage?.message ?? "accepted \(ext)")
            let alone = msgpackValueError(ext)
            XCTAssertEqual(alone?.offset, 0, "\(ext)")
            XCTAssertEqual(alone?.message.contains("extension types"), true, alone?.message ?? "accepted \(ext)")
            let asMessage = msgpackMessageError(ext)
            XCTAssertEqual(asMessage?.message.hasPrefix("a WAMP message must be a MessagePack array, found ext"), true,
                           asMessage?.message ?? "accepted \(ext)")
        }
    }

    func testInvalidUTF8IsRefused() {
        let bad: [[UInt8]] = [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF],
                              [0x80], [0xE2, 0x82], [0x61, 0xC3], [0xF0, 0x9F, 0x98]]
        for b in bad {
            let error = msgpackMessageError(MP.array([MP.strBytes([0x61] + b + [0x62])]))
            XCTAssertTrue(error?.message.contains("invalid UTF-8") ?? false, "\(b): \(String(describing: error))")
            XCTAssertEqual(error?.offset, b.first == 0x61 ? 4 : 3, "offset of the bad byte")
        }
        // Valid edges: U+0000, U+007F, U+0080, U+FFFF, U+10FFFF, and an 8-byte ASCII run then non-ASCII.
        for good in ["\u{0}", "\u{7F}", "\u{80}", "\u{FFFF}", "\u{10FFFF}", "abcdefgh€", "😀abcdefghijklmnop"] {
            XCTAssertNil(msgpackMessageError(MP.array([MP.str(good)])), good.debugDescription)
        }
        // bin carries any bytes.
        XCTAssertNil(msgpackMessageError(MP.array([MP.bin([0xFF, 0xC0, 0xED, 0xA0, 0x80])])))
    }

    func testNonStringMapKeysAreRefused() {
        for key: [UInt8] in [[0x01], MP.null, MP.bin([0x6B]), MP.array([]), MP.double(1), MP.true] {
            let message = MP.array([[0x10], [0x81] + key + [0x01]])
            let error = msgpackMessageError(message)
            XCTAssertEqual(error?.offset, 3, "offset of the key")
            XCTAssertTrue(error?.message.contains("map key must be a string") ?? false, "\(key): \(String(describing: error))")
        }
    }

    func testLyingLengthsAreRefusedWithoutTrustingThem() {
        let lies: [[UInt8]] = [
            [0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x61],  // str 32 of 4 GiB
            [0xC6, 0xFF, 0xFF, 0xFF, 0xFF],  // bin 32 of 4 GiB
            [0xDD, 0xFF, 0xFF, 0xFF, 0xFF, 0xC0],  // array 32 of 4 G elements
            [0xDF, 0x7F, 0xFF, 0xFF, 0xFF, 0xA0, 0xC0],  // map 32
            [0xDC, 0x00, 0x03, 0xC0, 0xC0],  // 3 elements, 2 bytes
            [0xDE, 0x00, 0x02, 0xA0, 0xC0, 0xA0],  // 2 pairs, 3 bytes
            [0x93, 0xC0],
        ]
        for lie in lies {
            let error = msgpackMessageError(MP.array([lie]))
            XCTAssertNotNil(error, "\(lie)")
            XCTAssertTrue(error?.message.contains("declares") ?? false, error?.message ?? "")
        }
        // A top-level array that lies about its count.
        XCTAssertTrue(msgpackMessageError([0x95, 0x10, 0x01])?.message.contains("declares 5 elements") ?? false)
    }

    func testTruncationAtEveryCutPointIsRefused() throws {
        let message = MP.array([
            [0x10], MP.uint(1 << 53), MP.map([("acknowledge", MP.true), ("exclude", MP.array([MP.uint(70000)]))]),
            MP.str("com.example.topic"),
            MP.array([MP.double(1.5), MP.float(2.5), MP.bin([1, 2, 3]), [0xD3] + MP.be(UInt64(bitPattern: Int64.min), 8),
                      MP.str(String(repeating: "x", count: 300)), MP.strBytes(Array("é中😀".utf8))]),
            MP.map([("nested", MP.map([("deep", MP.array([MP.null, MP.false]))]))]),
        ])
        XCTAssertNil(msgpackMessageError(message))
        for cut in 0..<message.count {
            let prefix = Array(message[..<cut])
            let error = msgpackMessageError(prefix)
            XCTAssertNotNil(error, "prefix of \(cut) bytes accepted")
            if let error { XCTAssertTrue((0...cut).contains(error.offset), "offset \(error.offset) for cut \(cut)") }
            XCTAssertNil(prefix.withUnsafeBytes { MessagePackSelfCheck.check($0) })
        }
    }

    func testDepthLimit() {
        func nested(_ levels: Int) -> [UInt8] {
            [UInt8](repeating: 0x91, count: levels - 1) + [0x90]
        }
        XCTAssertNil(msgpackMessageError(nested(64)), "64 levels, the message array included")
        let error = msgpackMessageError(nested(65))
        XCTAssertEqual(error?.offset, 64)
        XCTAssertTrue(error?.message.contains("nesting deeper than 64") ?? false)
        XCTAssertNotNil(msgpackValueError(nested(65)))
        // Maps count the same way.
        XCTAssertNotNil(msgpackMessageError([0x91] + Array(repeating: [0x81, 0xA0], count: 64).flatMap { $0 } + [0xC0]))
        XCTAssertNil(msgpackMessageError([0x91] + Array(repeating: [0x81, 0xA0], count: 63).flatMap { $0 } + [0xC0]))
    }

    func testEnvelopeRules() {
        XCTAssertEqual(msgpackMessageError([])?.message, "empty input")
        XCTAssertTrue(msgpackMessageError(MP.map([]))?.message.contains("must be a MessagePack array") ?? false)
        XCTAssertTrue(msgpackMessageError(MP.str("x"))?.message.contains("found fixstr") ?? false)
        XCTAssertNil(msgpackMessageError(MP.array(Array(repeating: [0x01], count: 7))))
        XCTAssertTrue(msgpackMessageError(MP.array(Array(repeating: [0x01], count: 8)))?.message.contains("at most 7") ?? false)
        let trailing = msgpackMessageError(MP.array([[0x01]]) + [0xC0])
        XCTAssertEqual(trailing?.offset, 2)
        XCTAssertTrue(trailing?.message.contains("after the top-level value") ?? false)
        XCTAssertNotNil(msgpackValueError([0x01, 0x02]))
        // A non-minimal top-level header (array 16 of 2) is fine.
        XCTAssertNil(msgpackMessageError([0xDC, 0x00, 0x02, 0x01, 0x02]))
        // The shared error type names the format.
        XCTAssertEqual(msgpackMessageError([0xC0])?.format, .msgpack)
        XCTAssertEqual(messageError("{}")?.format, .json)
        XCTAssertTrue(messageError("{}")?.description.hasPrefix("invalid JSON") ?? false)
    }

    func testWireFormatDispatch() throws {
        let json = Array(#"[16,1,{},"t"]"#.utf8)
        let msgpack = MP.array([[0x10], [0x01], MP.map([]), MP.str("t")])
        for (format, bytes) in [(WireFormat.json, json), (.msgpack, msgpack)] {
            try bytes.withUnsafeBytes { buffer in
                let view = try format.scanMessage(buffer).get()
                XCTAssertEqual(view.format, format)
                XCTAssertEqual(view.count, 4)
                XCTAssertEqual(view.span(2).format, format)
            }
        }
        XCTAssertNotNil(msgpack.withUnsafeBytes { try? WireFormat.json.scanMessage($0).get() } == nil ? 1 : nil)
    }
}
