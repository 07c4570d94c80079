// The shared-group fallback hop's pure parts (ClusterGroupForward): which member node comes next,
// that a chain visits each member node at most once, and the forward message's round trip and
// refusal of damaged bytes.

@testable import BrokerCluster
import BrokerConfig
import XCTest

final class ClusterGroupForwardTests: XCTestCase {
    private let group = ClusterGroup(realm: "realm1", pattern: "jobs.", match: .prefix, name: "w.x", kind: .shared)

    func testTheNextNodeIsTheFirstUntriedOneAfterThisNodeInNameOrder() {
        let members = ["c", "a", "b", "d"]
        XCTAssertEqual(ClusterGroupForward.nextNode(after: "b", members: members, tried: ["b"]), "c")
        XCTAssertEqual(ClusterGroupForward.nextNode(after: "d", members: members, tried: ["d"]), "a", "wraps around")
        XCTAssertEqual(ClusterGroupForward.nextNode(after: "b", members: members, tried: ["c", "b"]), "d", "skips tried nodes")
        XCTAssertEqual(ClusterGroupForward.nextNode(after: "x", members: members, tried: ["x"]), "a", "a node without members")
        XCTAssertNil(ClusterGroupForward.nextNode(after: "a", members: members, tried: ["b", "c", "d", "a"]))
        XCTAssertNil(ClusterGroupForward.nextNode(after: "a", members: ["a"], tried: ["a"]), "alone")
        XCTAssertNil(ClusterGroupForward.nextNode(after: "a", members: [], tried: ["a"]), "no member list yet")
    }

    func testAChainVisitsEveryMemberNodeOnceWhereverItStarts() {
        let members = (0..<7).map { "node\($0)" }
        for start in members {
            var tried: [String] = []
            var at: String? = start
            while let node = at {
                XCTAssertFalse(tried.contains(node), "no node twice")
                tried.append(node)
                at = ClusterGroupForward.nextNode(after: node, members: members, tried: tried)
            }
            XCTAssertEqual(Set(tried), Set(members))
            XCTAssertEqual(tried.count, members.count, "hops ≤ member nodes")
        }
    }

    func testTheChainStopsAtItsBoundEvenWithMoreNodes() {
        let members = (0..<100).map { String(format: "n%03d", $0) }
        let tried = Array(members.prefix(ClusterGroupForward.maxTried))
        XCTAssertNil(ClusterGroupForward.nextNode(after: tried.last!, members: members, tried: tried))
    }

    func testAForwardRoundTripsItsGroupTriedNodesAndEnvelope() throws {
        for match in [MatchPolicy.exact, .prefix, .wildcard] {
            var g = group
            g.match = match
            let forward = ClusterGroupForward(group: g, tried: ["a", "nöde.b", ""], envelope: [0x46, 0x42, 2, 0, 0, 9])
            let bytes = try forward.encode()
            let back = try bytes.withUnsafeBytes { try ClusterGroupForward.decode($0) }
            XCTAssertEqual(back, forward)
        }
        let none = ClusterGroupForward(group: group, tried: [], envelope: [])
        XCTAssertEqual(try none.encode().withUnsafeBytes { try ClusterGroupForward.decode($0) }, none)
    }

    func testDamagedForwardsAreRefusedNamingWhatIsWrong() throws {
        let bytes = try ClusterGroupForward(group: group, tried: ["a", "b"], envelope: [1, 2, 3]).encode()
        func decode(_ b: [UInt8]) -> ClusterEnvelope.EnvelopeError? {
            do {
                _ = try b.withUnsafeBytes { try ClusterGroupForward.decode($0) }
                return nil
            } catch let error as ClusterEnvelope.EnvelopeError {
                return error
            } catch {
                return nil
            }
        }
        XCTAssertEqual(decode(Array(bytes.prefix(4))), .notAnEnvelope)
        XCTAssertEqual(decode([0x46, 0x47, 9, 0, 0]), .unsupportedVersion(9))
        XCTAssertEqual(decode([0x46, 0x42, 2, 0, 0]), .notAnEnvelope, "a publication envelope is no forward")
        var tooMany = bytes
        tooMany[4] = UInt8(ClusterGroupForward.maxTried + 1)
        XCTAssertEqual(decode(tooMany), .fieldTooLong(field: "tried nodes"))
        var badMatch = bytes
        badMatch[3] = 7
        XCTAssertEqual(decode(badMatch), .truncated(field: "match"))
        // Cut inside the second tried node's name: it claims more bytes than there are.
        let secondNodeStart = 5 + 2 + 6 + 2 + 5 + 2 + 3 + 2 + 1
        XCTAssertEqual(decode(Array(bytes.prefix(secondNodeStart + 2))), .truncated(field: "tried node"))
        var huge = ClusterGroupForward(group: group, tried: [], envelope: [])
        huge.tried = Array(repeating: "n", count: ClusterGroupForward.maxTried + 1)
        XCTAssertThrowsError(try huge.encode())
    }

    func testEachNodeHasItsOwnForwardSubjectOutsideThePublicationSubjects() {
        XCTAssertEqual(ClusterGroupForward.subject(node: "a.b"), "fastbroker.gf.a_2Eb")
        XCTAssertNotEqual(ClusterGroupForward.subject(node: "a"), ClusterGroupForward.subject(node: "b"))
        XCTAssertFalse(ClusterGroupForward.subject(node: "a").hasPrefix(ClusterSubject.eventRoot + "."))
    }

    func testMemberKeysOfAGroupShareItsPrefixAndEscapeTheNode() {
        XCTAssertEqual(group.memberKeyPrefix, "m.realm1.prefix.jobs_2E.w_2Ex.")
        XCTAssertEqual(group.memberKey(node: "n.1"), "m.realm1.prefix.jobs_2E.w_2Ex.n_2E1")
        var other = group
        other.name = "w"
        XCTAssertFalse(other.memberKey(node: "x.n").hasPrefix(group.memberKeyPrefix), "no other group's key shares the prefix")
    }
}

final class ClusterForwardsInFlightTests: XCTestCase {
    private func forward(bytes: Int) -> ClusterGroupForward {
        ClusterGroupForward(group: ClusterGroup(realm: "r", pattern: "t", match: .exact, name: "g", kind: .shared), tried: ["a"],
                            envelope: Array(repeating: 7, count: bytes))
    }

    func testAForwardIsFoundByItsTokenOnceAndTheReplySubjectCarriesIt() {
        var table = ClusterForwardsInFlight()
        let first = table.add(forward(bytes: 3), target: "b")
        let second = table.add(forward(bytes: 3), target: "c")
        XCTAssertNotEqual(first, second)
        let subject = ClusterForwardsInFlight.replyRoot(node: "n.1") + ".\(second)"
        XCTAssertEqual(subject, "fastbroker.gfnr.n_2E1.\(second)")
        XCTAssertEqual(ClusterForwardsInFlight.token(of: subject), second)
        XCTAssertEqual(table.take(second)?.target, "c")
        XCTAssertNil(table.take(second), "once")
        XCTAssertEqual(table.take(first)?.target, "b")
        XCTAssertNil(ClusterForwardsInFlight.token(of: "fastbroker.gfnr.n.x"))
    }

    func testTheTableKeepsOnlyTheNewestWithinItsBounds() {
        var table = ClusterForwardsInFlight()
        var tokens: [UInt64] = []
        for _ in 0..<(ClusterForwardsInFlight.maxEntries + 10) { tokens.append(table.add(forward(bytes: 1), target: "b")) }
        XCTAssertEqual(table.count, ClusterForwardsInFlight.maxEntries)
        XCTAssertNil(table.take(tokens[9]), "the oldest are forgotten")
        XCTAssertNotNil(table.take(tokens[10]))
        // Bytes: one forward of the whole budget pushes everything older out.
        let big = table.add(forward(bytes: ClusterForwardsInFlight.maxBytes), target: "c")
        XCTAssertEqual(table.count, 1)
        XCTAssertNotNil(table.take(big))
        XCTAssertNil(table.take(tokens.last!))
    }
}
