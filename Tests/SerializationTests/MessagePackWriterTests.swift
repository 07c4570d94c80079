// MessagePackWriter: smallest encodings at every boundary (expected bytes from the spec's format
// table, built by hand in MP), round trips through the scanner, U+FFFD for invalid UTF-8, and no
// allocation with capacity reserved.

import BrokerSerialization
import XCTest

final class MessagePackWriterTests: XCTestCase {
    private func written(_ body: (inout [UInt8]) -> Void) -> [UInt8] {
        var out: [UInt8] = []
        body(&out)
        return out
    }

    func testIntegersUseTheSmallestEncoding() {
        let unsigned: [(UInt64, [UInt8])] = [
            (0, [0x00]), (127, [0x7F]), (128, [0xCC, 0x80]), (255, [0xCC, 0xFF]), (256, [0xCD, 0x01, 0x00]),
            (65535, [0xCD, 0xFF, 0xFF]), (65536, [0xCE, 0, 1, 0, 0]), (4_294_967_295, [0xCE, 0xFF, 0xFF, 0xFF, 0xFF]),
            (4_294_967_296, [0xCF, 0, 0, 0, 1, 0, 0, 0, 0]), (1 << 53, [0xCF, 0, 0x20, 0, 0, 0, 0, 0, 0]),
            (UInt64.max, [0xCF] + [UInt8](repeating: 0xFF, count: 8)),
        ]
        for (v, bytes) in unsigned {
            XCTAssertEqual(written { MessagePackWriter.appendUInt(v, to: &$0) }, bytes, "\(v)")
            if v <= UInt64(Int64.max) { XCTAssertEqual(written { MessagePackWriter.appendInt(Int64(v), to: &$0) }, bytes) }
        }
        let signed: [(Int64, [UInt8])] = [
            (-1, [0xFF]), (-32, [0xE0]), (-33, [0xD0, 0xDF]), (-128, [0xD0, 0x80]), (-129, [0xD1, 0xFF, 0x7F]),
            (-32768, [0xD1, 0x80, 0x00]), (-32769, [0xD2, 0xFF, 0xFF, 0x7F, 0xFF]),
            (Int64(Int32.min), [0xD2, 0x80, 0, 0, 0]), (Int64(Int32.min) - 1, [0xD3, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]),
            (Int64.min, [0xD3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (v, bytes) in signed {
            XCTAssertEqual(written { MessagePackWriter.appendInt(v, to: &$0) }, bytes, "\(v)")
            XCTAssertEqual(bytes.withUnsafeBytes { b in JSONScanner.integer(b, try! MessagePackScanner.scanValue(b).get()) }, v)
        }
    }

    func testHeadersAtLengthBoundaries() {
        for n in [0, 15, 16, 65535, 65536] {
            XCTAssertEqual(written { MessagePackWriter.appendArrayHeader(count: n, to: &$0) },
                           n < 16 ? [0x90 | UInt8(n)] : n <= 65535 ? [0xDC] + MP.be(UInt64(n), 2) : [0xDD] + MP.be(UInt64(n), 4))
            XCTAssertEqual(written { MessagePackWriter.appendMapHeader(count: n, to: &$0) },
                           n < 16 ? [0x80 | UInt8(n)] : n <= 65535 ? [0xDE] + MP.be(UInt64(n), 2) : [0xDF] + MP.be(UInt64(n), 4))
        }
        for n in [0, 31, 32, 255, 256, 65535, 65536] {
            let text = String(repeating: "é", count: n / 2) + String(repeating: "a", count: n % 2)
            XCTAssertEqual(written { MessagePackWriter.appendString(text, to: &$0) }, MP.str(text), "str of \(n)")
            let bytes = [UInt8](repeating: 0xAB, count: n)
            XCTAssertEqual(written { w in bytes.withUnsafeBytes { MessagePackWriter.appendBinary($0, to: &w) } }, MP.bin(bytes))
        }
    }

    func testScalars() {
        XCTAssertEqual(written { MessagePackWriter.appendNil(to: &$0) }, [0xC0])
        XCTAssertEqual(written { MessagePackWriter.appendBool(true, to: &$0) }, [0xC3])
        XCTAssertEqual(written { MessagePackWriter.appendBool(false, to: &$0) }, [0xC2])
        XCTAssertEqual(written { MessagePackWriter.appendDouble(1.0, to: &$0) }, [0xCB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(written { MessagePackWriter.appendDouble(.nan, to: &$0) }, MP.double(.nan))
    }

    func testInvalidUTF8BecomesReplacementCharacters() throws {
        let bad: [UInt8] = [0x61, 0xFF, 0x62, 0xC3]
        let out = written { w in bad.withUnsafeBytes { MessagePackWriter.appendString($0, to: &w) } }
        XCTAssertEqual(try msgpackParse(out), .string("a\u{FFFD}b\u{FFFD}"))
    }

    func testValueRoundTripsThroughTheScanner() throws {
        let value = JSONValue.object([
            ("ints", .array([.number(JSONNumber(Int64.min)), .number(JSONNumber(UInt64.max)), .number(JSONNumber(Int64(1) << 53))])),
            ("float", .number(JSONNumber(0.1)!)), ("text", .string("é中😀\u{0}")), ("bin", .binary([0, 1, 255])),
            ("empty", .object([])), ("list", .array([])), ("null", .null), ("yes", .bool(true)),
        ])
        var out: [UInt8] = []
        MessagePackWriter.appendValue(value, to: &out)
        XCTAssertEqual(try msgpackParse(out), value)
        // A big integer literal that JSONNumber keeps only as text and double: UInt64 if it fits.
        let big = try JSONScanner.parse(Array("[18446744073709551615, 18446744073709551616, 1e2]".utf8)).get()
        out = []
        MessagePackWriter.appendValue(big, to: &out)
        XCTAssertEqual(out, MP.array([[0xCF] + [UInt8](repeating: 0xFF, count: 8), MP.double(18446744073709551616.0), MP.double(100)]))
    }

    func testNoAllocationWithReservedCapacity() throws {
        guard let counter = ThreadAllocationCounter.pointer() else { return XCTFail("jemalloc's counter is not available") }
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        let text = "com.example.topic.with.a.longer.name"
        let raw: [UInt8] = [1, 2, 3, 4]
        var before = counter.pointee
        for round in 0..<101 {
            if round == 1 { before = counter.pointee }  // round 0 warms up one-time lazy state
            out.removeAll(keepingCapacity: true)
            MessagePackWriter.appendArrayHeader(count: 6, to: &out)
            MessagePackWriter.appendUInt(36, to: &out)
            MessagePackWriter.appendUInt(1 << 53, to: &out)
            MessagePackWriter.appendMapHeader(count: 1, to: &out)
            MessagePackWriter.appendString("topic", to: &out)
            MessagePackWriter.appendString(text, to: &out)
            MessagePackWriter.appendInt(-5, to: &out)
            MessagePackWriter.appendDouble(3.25, to: &out)
            MessagePackWriter.appendNil(to: &out)
            raw.withUnsafeBytes { MessagePackWriter.appendRaw($0, to: &out) }
            raw.withUnsafeBytes { MessagePackWriter.appendBinary($0, to: &out) }
            JSONWriter.appendDouble(0.30000000000000004, to: &out)  // 19 characters: used to allocate
        }
        XCTAssertEqual(counter.pointee - before, 0, "the writer allocated")
    }
}
