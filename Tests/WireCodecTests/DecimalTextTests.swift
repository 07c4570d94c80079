// DecimalText: digit counts at every power-of-ten and power-of-two boundary, and the written digits
// against Swift's own description for those boundaries and a deterministic spread of values — and
// that writing never touches a byte beyond the digits (EVENT heads are written in place).

import XCTest
import WireCodec

final class DecimalTextTests: XCTestCase {
    /// 0, every 10^k − 1 / 10^k / 10^k + 1, every 2^k − 1 / 2^k / 2^k + 1, and UInt64.max.
    private var boundaries: [UInt64] {
        var values: [UInt64] = [0, 1, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0...19 {
            values += [power - 1, power, power + 1]
            if power <= UInt64.max / 10 { power *= 10 }
        }
        for shift in 0..<64 {
            let p = UInt64(1) << shift
            values += [p - 1, p, p &+ 1]
        }
        return values
    }

    func testDigitCountAtEveryBoundary() {
        for value in boundaries {
            XCTAssertEqual(DecimalText.digitCount(value), String(value).count, "\(value)")
        }
        var power: UInt64 = 10
        for digits in 1...19 {  // 9 → 10, 99 → 100, …, 10^19 − 1 → 10^19
            XCTAssertEqual(DecimalText.digitCount(power - 1), digits)
            XCTAssertEqual(DecimalText.digitCount(power), digits + 1)
            if digits < 19 { power *= 10 }
        }
        XCTAssertEqual(DecimalText.digitCount(0), 1)
        XCTAssertEqual(DecimalText.digitCount(UInt64.max), 20)
    }

    func testPowerOfTenIsExactFromZeroToNineteen() {
        var power: UInt64 = 1
        for exponent in 0...19 {
            XCTAssertEqual(DecimalText.powerOfTen(exponent), power, "10^\(exponent)")
            if exponent < 19 { power *= 10 }
        }
    }

    /// The boundaries, a deterministic spread over every bit width, and 0…10,000.
    private var sampleValues: [UInt64] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var values = boundaries
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            values.append(state >> (state & 63))  // every bit width
        }
        return values + (0...10_000).map { UInt64($0) }
    }

    /// `write` puts each sample's digits at offset 3 of a buffer of "#": the digits as Swift writes
    /// them, nothing before them, and nothing from `untouchedFrom(end)` on.
    private func checkWriter(_ write: (UInt64, UnsafeMutableRawPointer, Int) -> Int, untouchedFrom: (Int) -> Int,
                             file: StaticString = #filePath, line: UInt = #line) {
        var buffer = [UInt8](repeating: 0, count: 32)
        for value in sampleValues {
            let expected = Array(String(value).utf8)
            for index in buffer.indices { buffer[index] = UInt8(ascii: "#") }
            let end = buffer.withUnsafeMutableBytes { write(value, $0.baseAddress!, 3) }
            XCTAssertEqual(end, 3 + expected.count, "\(value)", file: file, line: line)
            XCTAssertEqual(Array(buffer[3..<end]), expected, "\(value)", file: file, line: line)
            XCTAssertEqual(buffer[..<3], [UInt8](repeating: UInt8(ascii: "#"), count: 3)[...], "\(value): before", file: file, line: line)
            XCTAssertTrue(buffer[untouchedFrom(end)...].allSatisfy { $0 == UInt8(ascii: "#") }, "\(value): bytes written too far",
                          file: file, line: line)
        }
    }

    func testWriteMatchesDescriptionAndStaysWithinTheDigits() {
        checkWriter({ DecimalText.write($0, to: $1, at: $2) }, untouchedFrom: { $0 })
        for value in sampleValues {
            XCTAssertEqual(DecimalText.withDigits(value) { Array($0) }, Array(String(value).utf8), "\(value)")
        }
    }

    /// It may overwrite bytes after the digits, but only within the 20 bytes of room.
    func testWriteOverwritingTailMatchesWriteAndStaysWithinItsRoom() {
        checkWriter({ DecimalText.writeOverwritingTail($0, to: $1, at: $2) }, untouchedFrom: { _ in 3 + 20 })
    }
}
