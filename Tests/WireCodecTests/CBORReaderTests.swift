// CBOR heads and skipping: every major type and simple value, argument widths, lengths clamped past
// Int.max, reserved and indefinite forms reported as such, headers cut off by the limit, half floats
// (RFC 8949 Appendix D examples) and skip over nested items, lying counts and tags.

import XCTest
import WireCodec

final class CBORReaderTests: XCTestCase {
    private func header(_ bytes: [UInt8], limit: Int? = nil) -> CBORHeader? {
        bytes.withUnsafeBytes { CBORReader.header($0, 0, limit ?? bytes.count) }
    }

    private func skip(_ bytes: [UInt8], limit: Int? = nil) -> Int {
        bytes.withUnsafeBytes { CBORReader.skip($0, 0, limit ?? bytes.count) }
    }

    private func assertHeader(_ bytes: [UInt8], _ family: CBORFamily, _ dataStart: Int, _ length: Int, _ argument: UInt64,
                              file: StaticString = #filePath, line: UInt = #line) {
        guard let h = header(bytes) else { return XCTFail("no header for \(bytes)", file: file, line: line) }
        XCTAssertEqual(h.family, family, "\(bytes)", file: file, line: line)
        XCTAssertEqual(h.dataStart, dataStart, "\(bytes)", file: file, line: line)
        XCTAssertEqual(h.length, length, "\(bytes)", file: file, line: line)
        XCTAssertEqual(h.argument, argument, "\(bytes)", file: file, line: line)
    }

    func testEveryFamily() {
        assertHeader([0x17], .unsigned, 1, 0, 23)
        assertHeader([0x18, 24], .unsigned, 2, 0, 24)
        assertHeader([0x19, 0x01, 0x00], .unsigned, 3, 0, 256)
        assertHeader([0x1A, 0, 1, 0, 0], .unsigned, 5, 0, 65536)
        assertHeader([0x1B] + [UInt8](repeating: 0xFF, count: 8), .unsigned, 9, 0, .max)
        assertHeader([0x20], .negative, 1, 0, 0)  // -1
        assertHeader([0x43, 1, 2, 3], .bytes, 1, 3, 3)
        assertHeader([0x78, 2, 0x61, 0x62], .text, 2, 2, 2)
        assertHeader([0x7B] + [UInt8](repeating: 0xFF, count: 8), .text, 9, .max, .max)  // clamped
        assertHeader([0x82, 1, 2], .array, 1, 2, 2)
        assertHeader([0xA1, 0x61, 0x61, 1], .map, 1, 1, 1)
        assertHeader([0xD9, 0xD9, 0xF7], .tag, 3, 0, 55799)
        assertHeader([0xF4], .false, 1, 0, 20)
        assertHeader([0xF5], .true, 1, 0, 21)
        assertHeader([0xF6], .null, 1, 0, 22)
        assertHeader([0xF7], .undefined, 1, 0, 23)
        assertHeader([0xF0], .simple, 1, 0, 16)
        assertHeader([0xF8, 0xFF], .simple, 2, 0, 255)
        assertHeader([0xF9, 0x3C, 0x00], .float, 1, 2, 0)
        assertHeader([0xFA, 0, 0, 0, 0], .float, 1, 4, 0)
        assertHeader([0xFB] + [UInt8](repeating: 0, count: 8), .float, 1, 8, 0)
        assertHeader([0x9F], .indefinite, 1, 0, 4)
        assertHeader([0x5F], .indefinite, 1, 0, 2)
        assertHeader([0xFF], .breakCode, 1, 0, 0)
        assertHeader([0x1C], .reserved, 1, 0, 28)
        assertHeader([0x1F], .reserved, 1, 0, 31)  // indefinite on an integer
        assertHeader([0xDF], .reserved, 1, 0, 31)  // indefinite on a tag
    }

    func testHeaderCutOffByTheLimitIsNil() {
        XCTAssertNil(header([0x19, 0x01]))
        XCTAssertNil(header([0xFB, 0, 0]))
        XCTAssertNil(header([0x18, 1], limit: 1))
        XCTAssertNil(header([]))
    }

    func testHalfFloats() {
        let cases: [(UInt16, Double)] = [(0x0000, 0), (0x8000, -0.0), (0x3C00, 1), (0x3E00, 1.5), (0x7BFF, 65504),
                                         (0x0400, 0.00006103515625), (0x0001, 5.960464477539063e-8), (0xC400, -4),
                                         (0x7C00, .infinity), (0xFC00, -.infinity)]
        for (half, value) in cases {
            XCTAssertEqual(CBORReader.halfToDouble(half).bitPattern, value.bitPattern, "\(half)")
        }
        XCTAssertTrue(CBORReader.halfToDouble(0x7E00).isNaN)
        XCTAssertEqual(CBORReader.halfToDouble(0x7E01).bitPattern, 0x7FF8_0400_0000_0000)  // payload kept
    }

    func testSkip() {
        XCTAssertEqual(skip([0x83, 0x01, 0x82, 0x02, 0x03, 0xA1, 0x61, 0x6B, 0xF9, 0, 0]), 11)
        XCTAssertEqual(skip([0x43, 1, 2, 3, 0xFF]), 4)
        XCTAssertEqual(skip([0x9B] + [UInt8](repeating: 0xFF, count: 8)), 9)  // a lying count stops at the limit
        XCTAssertEqual(skip([0x82, 0x01]), 2)  // truncated
        XCTAssertEqual(skip([0x81, 0xC1, 0x01]), 3)  // tags are not skipped: limit
        XCTAssertEqual(skip([0x81, 0x9F, 0xFF]), 3)  // nor indefinite lengths
    }
}
