// The bounds of one connection's outbound queue (OutboundBudget): the soft bound leaves room for
// the largest reply below the hard bound, and never less than half of it for EVENTs; the TLS
// estimate bounds what sealing the plaintext into records really adds.

@testable import FastBroker
import BrokerConfig
import XCTest

final class OutboundBudgetTests: XCTestCase {
    func testSoftBoundKeepsRoomForTheLargestReply() {
        let budget = OutboundBudget(limits: LimitsConfig(maxMessageBytes: 65536, maxSessionOutboundBytes: 262144))
        XCTAssertEqual(budget.hardBound, 262144)
        let largestPong = 65536 + OutboundBudget.maxFrameHeader
        XCTAssertGreaterThanOrEqual(budget.hardBound - budget.softBound, OutboundBudget.wireBytes(largestPong, tls: true))
        XCTAssertEqual(budget.softBound, 262144 - 65546 - 5 * 29)
        XCTAssertEqual(budget.lowWater, budget.softBound / 2)
    }

    func testSmallLimitSplitsInHalf() {
        // A limit that cannot hold a largest reply beside much else: EVENTs still get half.
        let budget = OutboundBudget(limits: LimitsConfig(maxMessageBytes: 65536, maxSessionOutboundBytes: 65536))
        XCTAssertEqual(budget.softBound, 32768)
        XCTAssertEqual(budget.lowWater, 16384)
    }

    func testDefaults() {
        let budget = OutboundBudget(limits: LimitsConfig())
        XCTAssertEqual(budget.hardBound, 8 * 1_048_576)
        XCTAssertLessThan(budget.softBound, budget.hardBound - 1_048_576)
        XCTAssertGreaterThan(budget.softBound, 7 * 1_048_576 - 4096)
    }

    func testTLSEstimateCoversRecordOverhead() {
        XCTAssertEqual(OutboundBudget.wireBytes(1000, tls: false), 1000)
        XCTAssertEqual(OutboundBudget.wireBytes(0, tls: true), 0)
        for plaintext in [1, 100, 16383, 16384, 16385, 65536, 1_000_000] {
            // Sealed in full records of 16 KiB plus one partial record, each with its overhead.
            let records = (plaintext + OutboundBudget.tlsRecordPlaintext - 1) / OutboundBudget.tlsRecordPlaintext
            XCTAssertGreaterThanOrEqual(OutboundBudget.wireBytes(plaintext, tls: true),
                                        plaintext + records * OutboundBudget.tlsRecordOverhead, "\(plaintext)")
        }
    }
}
