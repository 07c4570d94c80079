// UTF-8 sequence validation (RFC 3629's well-formed table) and its diagnosis, and the SWAR word tests, each against a
// byte-at-a-time reference.

import XCTest
import WireCodec

final class UTF8AndSWARTests: XCTestCase {
    private func length(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { UTF8Sequence.length($0, 0) }
    }

    func testWellFormedSequences() {
        XCTAssertEqual(length([0xC2, 0x80]), 2)          // U+0080
        XCTAssertEqual(length([0xDF, 0xBF]), 2)          // U+07FF
        XCTAssertEqual(length([0xE0, 0xA0, 0x80]), 3)    // U+0800
        XCTAssertEqual(length([0xED, 0x9F, 0xBF]), 3)    // U+D7FF
        XCTAssertEqual(length([0xEE, 0x80, 0x80]), 3)    // U+E000
        XCTAssertEqual(length([0xF0, 0x90, 0x80, 0x80]), 4)  // U+10000
        XCTAssertEqual(length([0xF4, 0x8F, 0xBF, 0xBF, 0x41]), 4)  // U+10FFFF, then more text
    }

    func testIllFormedSequencesAreZero() {
        let bad: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF],      // continuation lead, overlong 2-byte
            [0xE0, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF],      // overlong 3- and 4-byte
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],            // UTF-16 surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF],  // above U+10FFFF
            [0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98],          // truncated
            [0xC2, 0x41], [0xE2, 0x82, 0x41], [0xF0, 0x9F, 0x98, 0xC0],  // bad continuation
        ]
        for bytes in bad {
            XCTAssertEqual(length(bytes), 0, "\(bytes)")
        }
    }

    func testProblemNamesWhatIsWrong() {
        func problem(_ bytes: [UInt8]) -> UTF8Sequence.Problem {
            bytes.withUnsafeBytes { UTF8Sequence.problem($0, 0) }
        }
        XCTAssertEqual(problem([0xC0, 0x80]), .overlongLead)
        XCTAssertEqual(problem([0xC1, 0xBF]), .overlongLead)
        XCTAssertEqual(problem([0x80]), .invalidLead)
        XCTAssertEqual(problem([0xF5, 0x80, 0x80, 0x80]), .invalidLead)
        XCTAssertEqual(problem([0xE2, 0x82]), .truncated)            // input ends
        XCTAssertEqual(problem([0xC2, 0x41]), .truncated)            // second byte not a continuation
        XCTAssertEqual(problem([0xF0, 0x9F, 0x98, 0x41]), .truncated)  // fourth byte not a continuation
        XCTAssertEqual(problem([0xE0, 0x9F, 0xBF]), .overlongSurrogateOrOutOfRange)
        XCTAssertEqual(problem([0xED, 0xA0, 0x80]), .overlongSurrogateOrOutOfRange)
        XCTAssertEqual(problem([0xF4, 0x90, 0x80, 0x80]), .overlongSurrogateOrOutOfRange)
    }

    func testAgreesWithTheStandardLibraryOnEveryTwoAndThreeByteSequence() {
        for lead in 0xC0...0xEF {
            for second in 0x00...0xFF {
                let bytes = [UInt8(lead), UInt8(second), 0x80]
                let ours = length(bytes)
                let expectedLength = lead < 0xE0 ? 2 : 3
                let valid = String(validating: bytes[0..<expectedLength], as: UTF8.self) != nil
                XCTAssertEqual(ours, valid ? expectedLength : 0, "\(bytes)")
            }
        }
    }

    private func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    func testWordTestsAgreeWithByteLoops() {
        var state: UInt64 = 0xDEAD_BEEF_CAFE_F00D
        let interesting: [UInt8] = [0x00, 0x1F, 0x20, 0x21, 0x22, 0x2C, 0x5C, 0x7B, 0x7D, 0x7F, 0x80, 0xFF, 0x61]
        for _ in 0..<5_000 {
            let bytes = (0..<8).map { _ -> UInt8 in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return interesting[Int(state >> 33) % interesting.count]
            }
            let w = word(bytes)
            XCTAssertEqual(SWAR.isASCII(w), bytes.allSatisfy { $0 < 0x80 })
            XCTAssertEqual(SWAR.hasZeroByte(w), bytes.contains(0))
            XCTAssertEqual(SWAR.needsAttention(w), bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x80 })
            // Exact masks: zeroBytes flags exactly the zero bytes, byteMask gathers them.
            let zeros = bytes.indices.filter { bytes[$0] == 0 }
            XCTAssertEqual(SWAR.byteMask(SWAR.zeroBytes(w)), zeros.reduce(UInt64(0)) { $0 | 1 << UInt64($1) })
            // Lowest-hit tests: the lowest flagged byte is the first match.
            let firstQuote = bytes.firstIndex(of: 0x22)
            let equal = SWAR.bytesEqual(w, 0x22)
            XCTAssertEqual(equal == 0 ? nil : equal.trailingZeroBitCount / 8, firstQuote)
            let firstBelow = bytes.firstIndex { $0 < 0x21 }
            let below = SWAR.bytesBelow(w, 0x21)
            XCTAssertEqual(below == 0 ? nil : below.trailingZeroBitCount / 8, firstBelow)
        }
    }
}
