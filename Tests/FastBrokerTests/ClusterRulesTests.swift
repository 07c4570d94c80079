// ClusterRules: exclude/eligible lists survive the trip between nodes exactly (absent stays
// absent, present-but-empty stays present), and forged or cut bytes are refused, never trusted.

import XCTest

@testable import FastBroker

final class ClusterRulesTests: XCTestCase {
    private func admitted(_ rules: EligibilityRules?, _ candidates: [(UInt64, String, String)]) -> [UInt64] {
        candidates.filter { rules?.admits(session: $0.0, authid: $0.1, authrole: $0.2) ?? true }.map(\.0)
    }

    private let candidates: [(UInt64, String, String)] = [
        (1, "alice", "user"), (2, "bob", "user"), (3, "carol", "guest"), (4, "dave", "admin"), (5, "é", "user"),
    ]

    func testNoRulesTravelAsNothing() {
        XCTAssertEqual(ClusterRules.encode(nil), [])
        XCTAssertEqual(ClusterRules.encode(EligibilityRules()), [])
        guard case .some(.none) = ClusterRules.decode([]) else { return XCTFail("no bytes must decode as no rules") }
    }

    func testEveryListRoundTrips() throws {
        var rules = EligibilityRules()
        rules.exclude = SortedSessionIDs([4])
        rules.eligible = SortedSessionIDs([1, 2, 3, 4, 5])
        rules.excludeAuthid = SortedByteStrings(["bob"])
        rules.eligibleAuthid = SortedByteStrings(["alice", "bob", "carol", "dave", "é"])
        rules.excludeAuthrole = SortedByteStrings(["guest"])
        rules.eligibleAuthrole = SortedByteStrings(["user", "admin"])
        let decoded = try XCTUnwrap(ClusterRules.decode(ClusterRules.encode(rules)))
        XCTAssertEqual(admitted(decoded, candidates), [1, 5])
        XCTAssertEqual(admitted(decoded, candidates), admitted(rules, candidates))

        var emptyEligible = EligibilityRules()
        emptyEligible.eligible = SortedSessionIDs([])
        let none = try XCTUnwrap(ClusterRules.decode(ClusterRules.encode(emptyEligible)))
        XCTAssertEqual(admitted(none, candidates), [], "an empty eligible list admits nobody, on every node")
    }

    func testForgedAndCutBytesAreRefused() {
        var rules = EligibilityRules()
        rules.exclude = SortedSessionIDs([7, 8])
        rules.eligibleAuthid = SortedByteStrings(["alice"])
        let bytes = ClusterRules.encode(rules)
        for cut in 1..<bytes.count {
            XCTAssertNil(ClusterRules.decode(Array(bytes[..<cut])), "cut at \(cut)")
        }
        XCTAssertNil(ClusterRules.decode(bytes + [0]), "trailing bytes")
        XCTAssertNil(ClusterRules.decode([2]), "unknown list tag")
        XCTAssertNil(ClusterRules.decode([1, 0xFF, 0xFF, 0xFF, 0xFF]), "a count the bytes cannot hold")
    }
}
