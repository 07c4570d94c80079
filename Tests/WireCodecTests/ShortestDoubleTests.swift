// Shortest round-trip double text: the exact forms Swift's `description` gives (which the JSON
// writer emits and FilterVM parses), and that every text reads back as the same bits.

import XCTest
import WireCodec

final class ShortestDoubleTests: XCTestCase {
    private func text(_ v: Double) -> String {
        var out: [UInt8] = []
        ShortestDouble.append(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testKnownForms() {
        XCTAssertEqual(text(3.0), "3.0")
        XCTAssertEqual(text(0.1), "0.1")
        XCTAssertEqual(text(-0.0), "-0.0")
        XCTAssertEqual(text(1e16), "1e+16")
        XCTAssertEqual(text(5e-324), "5e-324")
        XCTAssertEqual(text(-1.7976931348623157e308), "-1.7976931348623157e+308")
        XCTAssertEqual(text(Double(Float(0.1))), "0.10000000149011612")
    }

    func testAppendKeepsExistingBytesAndWithTextMatches() {
        var out: [UInt8] = Array("x=".utf8)
        ShortestDouble.append(2.5, to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "x=2.5")
        XCTAssertEqual(ShortestDouble.withText(123.456) { String(decoding: $0, as: UTF8.self) }, "123.456")
    }

    func testRandomBitPatternsRoundTrip() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<20_000 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let v = Double(bitPattern: state)
            guard v.isFinite else { continue }
            let written = text(v)
            XCTAssertEqual(written, v.description)
            XCTAssertEqual(Double(written)?.bitPattern, v.bitPattern, written)
        }
    }
}
