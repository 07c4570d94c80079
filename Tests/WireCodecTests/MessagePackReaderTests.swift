// MessagePack headers and skipping: every type family, declared lengths and data offsets, headers
// cut off by the limit, and skip over nested values, ext payloads and lying counts.

import XCTest
import WireCodec

final class MessagePackReaderTests: XCTestCase {
    private func header(_ bytes: [UInt8], at i: Int = 0, limit: Int? = nil) -> MessagePackHeader? {
        bytes.withUnsafeBytes { MessagePackReader.header($0, i, limit ?? bytes.count) }
    }

    private func skip(_ bytes: [UInt8], from start: Int = 0, limit: Int? = nil) -> Int {
        bytes.withUnsafeBytes { MessagePackReader.skip($0, start, limit ?? bytes.count) }
    }

    private func assertHeader(_ bytes: [UInt8], _ family: MessagePackFamily, _ dataStart: Int, _ length: Int,
                              file: StaticString = #filePath, line: UInt = #line) {
        guard let h = header(bytes) else { return XCTFail("no header for \(bytes)", file: file, line: line) }
        XCTAssertEqual(h.family, family, "\(bytes)", file: file, line: line)
        XCTAssertEqual(h.dataStart, dataStart, "\(bytes)", file: file, line: line)
        XCTAssertEqual(h.length, length, "\(bytes)", file: file, line: line)
    }

    func testEveryFamily() {
        assertHeader([0x05], .integer, 1, 0)
        assertHeader([0xFF], .integer, 1, 0)  // negative fixint -1
        assertHeader([0xCC, 200], .integer, 1, 1)
        assertHeader([0xD1, 0, 0], .integer, 1, 2)
        assertHeader([0xCF] + [UInt8](repeating: 0, count: 8), .integer, 1, 8)
        assertHeader([0xCA, 0, 0, 0, 0], .float, 1, 4)
        assertHeader([0xCB] + [UInt8](repeating: 0, count: 8), .float, 1, 8)
        assertHeader([0xC0], .null, 1, 0)
        assertHeader([0xC2], .false, 1, 0)
        assertHeader([0xC3], .true, 1, 0)
        assertHeader([0xC1], .neverUsed, 1, 0)
        assertHeader([0xA3, 0x61, 0x62, 0x63], .string, 1, 3)
        assertHeader([0xD9, 2, 0x61, 0x62], .string, 2, 2)
        assertHeader([0xDA, 0x01, 0x00], .string, 3, 256)
        assertHeader([0xDB, 0, 1, 0, 0], .string, 5, 65536)
        assertHeader([0xC4, 1, 7], .binary, 2, 1)
        assertHeader([0xC5, 0, 2], .binary, 3, 2)
        assertHeader([0xC6, 0, 0, 0, 3], .binary, 5, 3)
        assertHeader([0x92], .array, 1, 2)
        assertHeader([0xDC, 0, 17], .array, 3, 17)
        assertHeader([0xDD, 0, 0, 1, 0], .array, 5, 256)
        assertHeader([0x81], .map, 1, 1)
        assertHeader([0xDE, 0, 16], .map, 3, 16)
        assertHeader([0xDF, 0, 0, 0, 2], .map, 5, 2)
    }

    func testExtLengthsCountPastTheTypeByte() {
        assertHeader([0xD4, 1, 9], .ext, 2, 1)
        assertHeader([0xD5, 1], .ext, 2, 2)
        assertHeader([0xD6, 1], .ext, 2, 4)
        assertHeader([0xD7, 1], .ext, 2, 8)
        assertHeader([0xD8, 1], .ext, 2, 16)
        assertHeader([0xC7, 3, 1], .ext, 3, 3)
        assertHeader([0xC8, 0, 3, 1], .ext, 4, 3)
        assertHeader([0xC9, 0, 0, 0, 3, 1], .ext, 6, 3)
    }

    func testHeaderCutOffByTheLimitIsNil() {
        XCTAssertNil(header([]))
        XCTAssertNil(header([0xD9]))
        XCTAssertNil(header([0xDA, 0]))
        XCTAssertNil(header([0xDF, 0, 0, 0]))
        XCTAssertNil(header([0xC7]))
        XCTAssertNil(header([0xC9, 0, 0]))
        XCTAssertNil(header([0xC5, 0, 2, 9, 9], limit: 2))
        XCTAssertNil(header([0x01], at: 1))
        XCTAssertNil(header([0x01], at: -1))
        // Only the header must fit: the declared payload is the caller's to check.
        assertHeader([0xA5, 0x61], .string, 1, 5)
    }

    func testSkipWalksNestedValues() {
        // [1, {"a": [true, nil]}, "xy", 2.5f64], then a trailing byte
        let value: [UInt8] = [0x94, 0x01, 0x81, 0xA1, 0x61, 0x92, 0xC3, 0xC0, 0xA2, 0x78, 0x79,
                              0xCB, 0x40, 0x04, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(skip(value + [0x07]), value.count)
        XCTAssertEqual(skip(value, from: 2), 8)  // just the map
        XCTAssertEqual(skip([0xD6, 1, 0, 0, 0, 0, 0x05]), 6)  // fixext 4
        XCTAssertEqual(skip([0x91, 0xC7, 2, 1, 0, 0, 0x05]), 6)  // [ext 8 of 2 bytes]
        XCTAssertEqual(skip([0x80]), 1)
    }

    func testSkipStopsAtTheLimitOnLiesAndTruncation() {
        XCTAssertEqual(skip([0xDD, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), 6)  // 4G elements, 1 byte
        XCTAssertEqual(skip([0xDF, 0x7F, 0xFF, 0xFF, 0xFF]), 5)
        XCTAssertEqual(skip([0xA9, 0x61]), 2)  // str longer than the buffer
        XCTAssertEqual(skip([0x92, 0x01]), 2)  // missing element
        XCTAssertEqual(skip([0x92, 0x01, 0x02, 0x03], limit: 2), 2)
    }
}
