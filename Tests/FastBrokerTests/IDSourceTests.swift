// IDSource (Core/IDSource.swift): ids are drawn 7 random bytes apiece from batches of OpenSSL
// output; every id must lie in [1, 2^53], and every one of its 53 bits must be random (a wrong
// offset or mask would leave a bit fixed or repeat bytes between ids).

@testable import FastBroker
import XCTest

final class IDSourceTests: XCTestCase {
    func testIdsSpanAllFiftyThreeBitsAcrossBatches() {
        let source = IDSource()
        let draws = 20_000   // more than two batches of 8192
        var setCounts = [Int](repeating: 0, count: 64)
        var seen = Set<UInt64>()
        for _ in 0..<draws {
            let id = source.next()
            XCTAssertTrue(id >= 1 && id <= maxWampID, "id \(id) outside [1, 2^53]")
            seen.insert(id)
            let bits = id - 1
            for bit in 0..<64 where bits & (1 << UInt64(bit)) != 0 { setCounts[bit] += 1 }
        }
        // 20000 uniform 53-bit draws: a repeat has probability ~2e-8.
        XCTAssertEqual(seen.count, draws, "ids repeat")
        // Each bit is set in half the draws, σ ≈ 71: 40…60 % is more than 28σ either side.
        for bit in 0..<53 {
            XCTAssertTrue((draws * 2 / 5...draws * 3 / 5).contains(setCounts[bit]), "bit \(bit) set \(setCounts[bit]) times")
        }
        for bit in 53..<64 { XCTAssertEqual(setCounts[bit], 0, "bit \(bit) of id − 1 set") }
    }
}
