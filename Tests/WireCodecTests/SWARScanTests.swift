// The SWAR word tests behind the JSON scanner's fast paths (string attention, digit runs, short
// integers), each checked with the special byte at every position of the word against a
// byte-at-a-time reference.

import XCTest
import WireCodec

final class SWARScanTests: XCTestCase {
    private func word(_ bytes: [UInt8]) -> UInt64 {
        precondition(bytes.count == 8)
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    private func firstAttention(_ w: UInt64) -> Int {
        SWAR.stringAttention(w).trailingZeroBitCount >> 3
    }

    func testStringAttentionFindsEachSpecialByteAtEachPosition() {
        let plain = Array("abcdefgh".utf8)
        XCTAssertEqual(SWAR.stringAttention(word(plain)), 0)
        XCTAssertEqual(SWAR.stringAttention(word(Array(" !#[]~\u{7F}Z".utf8))), 0, "0x20, 0x21, 0x23, 0x7F are plain")
        for special: UInt8 in [0x22, 0x5C, 0x00, 0x01, 0x1F, 0x80, 0xC3, 0xFF] {
            for position in 0..<8 {
                var bytes = plain
                bytes[position] = special
                XCTAssertEqual(firstAttention(word(bytes)), position, "byte 0x\(String(special, radix: 16)) at \(position)")
                // A second special byte after it does not move the first hit.
                if position < 7 {
                    bytes[7] = 0x22
                    XCTAssertEqual(firstAttention(word(bytes)), position)
                }
            }
        }
    }

    func testLeadingDigitCount() {
        XCTAssertEqual(SWAR.leadingDigitCount(word(Array("01234567".utf8))), 8)
        XCTAssertEqual(SWAR.leadingDigitCount(word(Array("98765432".utf8))), 8)
        // Every non-digit byte at every position, with digits below it and, above it, digits or
        // bytes whose carries and borrows could spill into a neighbour (0x00, 0xBA, 0xFF).
        for stop in (0...255).map(UInt8.init) where !(0x30...0x39).contains(stop) {
            for position in 0..<8 {
                for above: UInt8 in [0x35, 0x00, 0xBA, 0xFF] {
                    var bytes = Array("12345678".utf8)
                    bytes[position] = stop
                    for k in (position + 1)..<8 { bytes[k] = above }
                    XCTAssertEqual(SWAR.leadingDigitCount(word(bytes)), position,
                                   "0x\(String(stop, radix: 16)) at \(position), 0x\(String(above, radix: 16)) above")
                }
            }
        }
    }

    func testDecimalValueOfEveryLength() {
        let digits = Array("98765432".utf8)
        for count in 1...8 {
            // Junk above the digits is ignored, whatever it is.
            for junk: UInt8 in [0x5D, 0x2C, 0x00, 0xFF] {
                var bytes = [UInt8](repeating: junk, count: 8)
                bytes.replaceSubrange(0..<count, with: digits[0..<count])
                let expected = UInt64(String(decoding: digits[0..<count], as: UTF8.self))
                XCTAssertEqual(SWAR.decimalValue(word(bytes), count: count), expected, "\(count) digits")
            }
        }
        XCTAssertEqual(SWAR.decimalValue(word(Array("00000000".utf8)), count: 8), 0)
        XCTAssertEqual(SWAR.decimalValue(word(Array("99999999".utf8)), count: 8), 99_999_999)
        XCTAssertEqual(SWAR.decimalValue(word(Array("00000001".utf8)), count: 8), 1)
        XCTAssertEqual(SWAR.decimalValue(word(Array("10000000".utf8)), count: 8), 10_000_000)
    }

    func testDecimalValueRefusesANonDigitAtEachPosition() {
        for count in 1...8 {
            for position in 0..<count {
                for bad: UInt8 in [0x2D, 0x2E, 0x65, 0x2F, 0x3A, 0xB0] {
                    var bytes = Array("12345678".utf8)
                    bytes[position] = bad
                    XCTAssertNil(SWAR.decimalValue(word(bytes), count: count), "\(count) digits, 0x\(String(bad, radix: 16)) at \(position)")
                }
            }
        }
    }
}
