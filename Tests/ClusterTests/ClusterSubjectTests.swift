// WAMP URI → NATS subject mapping: escaping can never produce NATS syntax, and each match policy
// maps as the ClusterSubject header says (exact/wildcard/dot-ended prefix exactly, a prefix ending
// mid-component broader).

import BrokerCluster
import BrokerConfig
import XCTest

final class ClusterSubjectTests: XCTestCase {
    func testPublicationSubjectEscapesEverythingButPlainBytes() {
        XCTAssertEqual(ClusterSubject.publication(realm: "realm1", topic: "com.app.t"), "fastbroker.ev.realm1.com.app.t")
        XCTAssertEqual(ClusterSubject.publication(realm: "com.r", topic: "a_b.c-d"), "fastbroker.ev.com_2Er.a_5Fb.c-d")
        XCTAssertEqual(ClusterSubject.publication(realm: "r", topic: "a*b.>.x y"), "fastbroker.ev.r.a_2Ab._3E.x_20y")
        XCTAssertEqual(ClusterSubject.publication(realm: "r", topic: "é.\u{7F}"), "fastbroker.ev.r._C3_A9._7F")
    }

    func testEscapingIsInjective() {
        // '_' is escaped itself, so an escape sequence in the URI cannot collide with one we make.
        XCTAssertNotEqual(ClusterSubject.publication(realm: "r", topic: "a_2Ab"), ClusterSubject.publication(realm: "r", topic: "a*b"))
        XCTAssertNotEqual(ClusterSubject.publication(realm: "a.b", topic: "c"), ClusterSubject.publication(realm: "a", topic: "b.c"))
    }

    func testEachMatchPolicyMaps() {
        func interest(_ pattern: String, _ match: MatchPolicy) -> String? {
            guard let (subject, isExact) = ClusterSubject.interest(realm: "r", pattern: pattern, match: match) else { return nil }
            return subject + (isExact ? "" : " (broader)")
        }
        XCTAssertEqual(interest("a.b.c", .exact), "fastbroker.ev.r.a.b.c")
        XCTAssertEqual(interest("a..c", .wildcard), "fastbroker.ev.r.a.*.c")
        XCTAssertEqual(interest(".b.", .wildcard), "fastbroker.ev.r.*.b.*")
        XCTAssertEqual(interest("a.b.", .prefix), "fastbroker.ev.r.a.b.>")
        XCTAssertEqual(interest("a.bc", .prefix), "fastbroker.ev.r.a.> (broader)")
        XCTAssertEqual(interest("abc", .prefix), "fastbroker.ev.r.> (broader)")
        XCTAssertEqual(interest("", .prefix), "fastbroker.ev.r.>")
        XCTAssertEqual(interest("a*.>", .exact), "fastbroker.ev.r.a_2A._3E")
    }

    func testTooLongSubjectsAreRefused() {
        let long = String(repeating: "é", count: 700)  // 1400 bytes → 4200 escaped
        XCTAssertNil(ClusterSubject.publication(realm: "r", topic: long))
        XCTAssertNil(ClusterSubject.interest(realm: "r", pattern: long, match: .exact))
        XCTAssertNotNil(ClusterSubject.publication(realm: "r", topic: String(repeating: "a", count: 1024)))
    }

    /// A group's queue name / lease key: every field escaped, so distinct groups never share one
    /// (a dot inside a field, an empty field, a different kind) and the bytes are valid KV keys.
    func testGroupIdentityIsInjectiveAndAValidKey() {
        func identity(_ realm: String, _ pattern: String, _ name: String, _ kind: ClusterGroup.Kind = .shared) -> String {
            ClusterGroup(realm: realm, pattern: pattern, match: .exact, name: name, kind: kind).identity
        }
        XCTAssertEqual(identity("realm1", "jobs.run", "w"), "g.realm1.shared.exact.jobs_2Erun.w")
        XCTAssertEqual(identity("r", "t", ""), "g.r.shared.exact.t._")
        let distinct = [
            identity("r", "a.b", "c"), identity("r", "a", "b.c"), identity("r.a", "b", "c"), identity("r", "a.b", ""),
            identity("r", "a.b", "_"), identity("r", "a.b", "c", .failover), identity("r", "a.b", "c", .exclusive),
        ]
        XCTAssertEqual(Set(distinct).count, distinct.count, "\(distinct)")
        for key in distinct {
            XCTAssertTrue(key.utf8.allSatisfy { ClusterConfig.isPlainSubjectByte($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }, key)
        }
    }
}
