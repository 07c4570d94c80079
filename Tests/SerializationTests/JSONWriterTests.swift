// The writer: exact output for the forms the broker sends, escaping, numbers, and the round trip
// decodeValue(scan(write(v))) == v over seeded random values.

import BrokerSerialization
import TestSupport
import XCTest

final class JSONWriterTests: XCTestCase {
    private func written(_ body: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        body(&out)
        return String(decoding: out, as: UTF8.self)
    }

    func testStrings() {
        XCTAssertEqual(written { JSONWriter.appendString("plain", to: &$0) }, #""plain""#)
        XCTAssertEqual(written { JSONWriter.appendString("q\"b\\s/", to: &$0) }, #""q\"b\\s/""#)
        XCTAssertEqual(written { JSONWriter.appendString("\n\r\t\u{8}\u{C}\u{0}\u{1F}\u{7F}", to: &$0) },
                       #""\n\r\t\u0008\u000c\u0000\u001f"# + "\u{7F}\"")
        XCTAssertEqual(written { JSONWriter.appendString("é中😀\u{2028}", to: &$0) }, "\"é中😀\u{2028}\"")
        let bad: [UInt8] = [0x61, 0xC0, 0xAF, 0x62, 0xED, 0xA0, 0x80, 0xE2, 0x82]
        let repaired = written { out in bad.withUnsafeBytes { JSONWriter.appendString($0, to: &out) } }
        XCTAssertEqual(repaired, "\"a\u{FFFD}\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\"")
        XCTAssertNil(valueError(Array(repaired.utf8)))
    }

    func testIntegersAndBooleans() {
        XCTAssertEqual(written { JSONWriter.appendUInt(0, to: &$0) }, "0")
        XCTAssertEqual(written { JSONWriter.appendUInt(9_007_199_254_740_992, to: &$0) }, "9007199254740992")
        XCTAssertEqual(written { JSONWriter.appendUInt(UInt64.max, to: &$0) }, "18446744073709551615")
        XCTAssertEqual(written { JSONWriter.appendInt(-1, to: &$0) }, "-1")
        XCTAssertEqual(written { JSONWriter.appendInt(Int64.min, to: &$0) }, "-9223372036854775808")
        XCTAssertEqual(written { JSONWriter.appendBool(true, to: &$0); JSONWriter.appendBool(false, to: &$0) }, "truefalse")
    }

    func testDoubles() {
        let cases: [(Double, String)] = [
            (0.1, "0.1"), (3.0, "3.0"), (-0.0, "-0.0"), (1e16, "1e+16"), (1.5e-7, "1.5e-07"), (123.456, "123.456"),
            (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (.nan, "null"), (.infinity, "null"),
        ]
        for (v, text) in cases {
            XCTAssertEqual(written { JSONWriter.appendDouble(v, to: &$0) }, text)
        }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let v = Double(bitPattern: rng.next())
            guard v.isFinite else { continue }
            let text = written { JSONWriter.appendDouble(v, to: &$0) }
            XCTAssertNil(valueError(Array(text.utf8)), text)
            XCTAssertEqual(Double(text), v, text)
        }
    }

    func testNumberTextIsWrittenVerbatim() {
        XCTAssertEqual(written { JSONWriter.appendValue(try! parse("[1.50, -0, 1E+2, 123456789012345678901234567890]"), to: &$0) },
                       "[1.50,-0,1E+2,123456789012345678901234567890]")
        let broken = JSONNumber(text: "not a number", integer: 5, double: 5)
        XCTAssertEqual(written { JSONWriter.appendNumber(broken, to: &$0) }, "5")
        let brokenDouble = JSONNumber(text: "", integer: nil, double: 0.25)
        XCTAssertEqual(written { JSONWriter.appendNumber(brokenDouble, to: &$0) }, "0.25")
    }

    func testRoundTripOfRandomValues() throws {
        var rng = SplitMix64(seed: 42)
        for round in 0..<1500 {
            let value = randomValue(&rng, depth: 0)
            var out: [UInt8] = []
            JSONWriter.appendValue(value, to: &out)
            let again = try JSONScanner.parse(out).get()
            XCTAssertEqual(again, value, "round \(round): \(String(decoding: out, as: UTF8.self))")
            // Also as a WAMP message element.
            let message: [UInt8] = Array("[16,1,{},\"t\",".utf8) + out + [UInt8(ascii: "]")]
            try withMessage(message) { m in
                XCTAssertEqual(JSONScanner.decodeValue(m.buffer, m.span(4)), value)
            }
        }
    }

    private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let pick = rng.next() % (depth > 4 ? 5 : 7)
        switch pick {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2:
            switch rng.next() % 4 {
            case 0: return .number(JSONNumber(Int64(bitPattern: rng.next())))
            case 1: return .number(JSONNumber(rng.next()))
            case 2: return .number(JSONNumber(Int64(rng.next() % 2000) - 1000))
            default:
                let d = Double(bitPattern: rng.next())
                return .number(JSONNumber(d.isFinite ? d : 0.5)!)
            }
        case 3, 4: return .string(randomString(&rng))
        case 5: return .array((0..<Int(rng.next() % 5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            return .object((0..<Int(rng.next() % 5)).map { _ in
                (key: randomString(&rng), value: randomValue(&rng, depth: depth + 1))
            })
        }
    }

    private func randomString(_ rng: inout SplitMix64) -> String {
        let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\n", "\u{1F}", "\u{7F}",
                                      "é", "中", "\u{2028}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "😀", "\u{10FFFF}"]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int(rng.next() % 12) { s.append(pool[Int(rng.next() % UInt64(pool.count))]) }
        return String(s)
    }
}
