// Subscribe verdicts for subscription patterns (Config/PatternPermission.swift): a prefix or
// wildcard SUBSCRIBE is wholly permitted, wholly denied, or checked per delivered topic, never
// decided on the pattern's text alone (issue 9, item 4).

import TestSupport
import XCTest

@testable import BrokerConfig

final class PatternPermissionTests: XCTestCase {
    private func role(_ permissions: [Permission]) -> RoleConfig {
        RoleConfig(name: "r", permissions: permissions)
    }

    private func check(_ role: RoleConfig, _ table: [(String, MatchPolicy, PatternVerdict)], file: StaticString = #filePath, line: UInt = #line) {
        for (pattern, match, expected) in table {
            XCTAssertEqual(role.subscribeVerdict(pattern: pattern, match: match), expected, "\(match) \"\(pattern)\"", file: file, line: line)
        }
    }

    func testIssueExamplePrivateBranchUnderABroadGrant() {
        let r = role([
            Permission(uri: "com.x.private.", match: .prefix, publish: false, subscribe: false),
            Permission(uri: "com.x.", match: .prefix, publish: false, subscribe: true),
        ])
        check(r, [
            // The pattern's text is granted, but some of its topics are not: checked per topic.
            ("com.x.", .prefix, .perTopic),
            ("com.x..data", .wildcard, .perTopic),
            ("com.x", .prefix, .perTopic),
            ("", .prefix, .perTopic),
            // Wholly inside the private branch: refused.
            ("com.x.private.", .prefix, .denied),
            ("com.x.private.a.", .prefix, .denied),
            ("com.x.private..data", .wildcard, .denied),
            ("com.x.private.data", .exact, .denied),
            // Provably outside it: no checks needed.
            ("com.x.public.", .prefix, .permitted),
            ("com.x.public..data", .wildcard, .permitted),
            ("com.x.public.data", .exact, .permitted),
            ("com.x.pub", .prefix, .permitted),      // cannot reach "com.x.private."
            ("com.x.priv", .prefix, .perTopic),      // can
            // Outside every grant.
            ("org.", .prefix, .denied),
            ("org..data", .wildcard, .denied),
            ("com.y", .exact, .denied),
        ])
        XCTAssertTrue(r.allowsSubscribe(toTopic: "com.x.public.data".utf8))
        XCTAssertFalse(r.allowsSubscribe(toTopic: "com.x.private.data".utf8))
        XCTAssertFalse(r.allowsSubscribe(toTopic: "org.x".utf8))
    }

    func testIssueExampleExactGrantDoesNotCoverAPrefixOfIt() {
        let r = role([Permission(uri: "com.y.public.feed", match: .exact, publish: false, subscribe: true)])
        check(r, [
            ("com.y.public.feed", .exact, .permitted),
            ("com.y.public.feed", .prefix, .perTopic),     // also matches com.y.public.feed.secret
            ("com.y.public.", .prefix, .perTopic),
            ("com.y.public.feed.", .prefix, .denied),      // every topic is longer than the grant
            ("com.y.public.feeds", .prefix, .denied),
            ("com.y.public.feed", .wildcard, .permitted),  // no empty component: that one topic
            ("com.y..feed", .wildcard, .perTopic),
            ("com.y..feed.", .wildcard, .denied),          // five components never equal four
            ("com.y.other", .wildcard, .denied),
        ])
        XCTAssertTrue(r.allowsSubscribe(toTopic: "com.y.public.feed".utf8))
        XCTAssertFalse(r.allowsSubscribe(toTopic: "com.y.public.feed.secret".utf8))
    }

    func testEmptyPrefixGrantsEverything() {
        let all = role([Permission(uri: "", match: .prefix, publish: true, subscribe: true)])
        check(all, [
            ("", .prefix, .permitted), ("com.", .prefix, .permitted), ("..", .wildcard, .permitted),
            ("com..x", .wildcard, .permitted), ("com.x", .exact, .permitted),
        ])
        let none = role([Permission(uri: "", match: .prefix, publish: true, subscribe: false)])
        check(none, [("", .prefix, .denied), ("com..x", .wildcard, .denied), ("com.x", .exact, .denied)])
        // An allow-all after a narrower deny: only patterns that can reach the deny need checks.
        let mostly = role([
            Permission(uri: "com.secret", match: .exact, subscribe: false),
            Permission(uri: "", match: .prefix, subscribe: true),
        ])
        check(mostly, [
            ("com.", .prefix, .perTopic), ("com.secret", .prefix, .perTopic), ("com.secret.", .prefix, .permitted),
            ("org.", .prefix, .permitted), ("com.", .wildcard, .perTopic), ("com..", .wildcard, .permitted),
            ("com.secret", .exact, .denied), ("com.public", .exact, .permitted),
        ])
        check(role([]), [("", .prefix, .denied), ("a", .exact, .denied), ("a.", .wildcard, .denied)])
    }

    func testWildcardRules() {
        let r = role([
            Permission(uri: "com..status", match: .wildcard, subscribe: true),
            Permission(uri: "com.", match: .prefix, subscribe: false),
        ])
        check(r, [
            ("com.a.status", .exact, .permitted),
            ("com.a.b.status", .exact, .denied),
            ("com..status", .wildcard, .permitted),       // the same wildcard: covered
            ("com.a.status", .wildcard, .permitted),
            ("..status", .wildcard, .perTopic),           // org.a.status is matched by neither: denied
            ("com..", .wildcard, .perTopic),
            ("com...", .wildcard, .denied),               // four components: only the prefix deny
            ("com.a.", .prefix, .perTopic),               // com.a.status yes, com.a.other no
            ("com.a.status.", .prefix, .denied),          // always four or more components
            ("com.a.statusx", .prefix, .denied),
            ("com.a.stat", .prefix, .perTopic),           // com.a.status itself
        ])
        // A wildcard grant never covers a prefix pattern (whose topics have every length).
        let wild = role([Permission(uri: "..", match: .wildcard, subscribe: true)])
        check(wild, [("a.b.", .prefix, .perTopic), ("a.b.c.", .prefix, .denied), ("a..", .wildcard, .permitted), ("a.", .wildcard, .denied)])
    }

    func testDenyBeforeGrantOfTheSamePatternWins() {
        let r = role([
            Permission(uri: "com.x.", match: .prefix, subscribe: false),
            Permission(uri: "com.x.", match: .prefix, subscribe: true),
        ])
        check(r, [("com.x.", .prefix, .denied), ("com.x.a", .wildcard, .denied), ("com.x.a.", .prefix, .denied)])
        // Truly denied too (the grant is shadowed), but not proven so: conservative, checked per topic.
        check(r, [("com.", .prefix, .perTopic)])
    }

    func testUnknownRoleIsDenied() {
        let realm = RealmConfig(name: "realm1", roles: [role([Permission(uri: "", match: .prefix, subscribe: true)])])
        XCTAssertEqual(realm.subscribeVerdict(role: "r", pattern: "a.", match: .prefix), .permitted)
        XCTAssertEqual(realm.subscribeVerdict(role: "nobody", pattern: "a.", match: .prefix), .denied)
        XCTAssertEqual(realm.roleIndex(named: "r"), 0)
        XCTAssertNil(realm.roleIndex(named: "nobody"))
    }

    /// Soundness against brute force: for random rule lists and patterns over a tiny alphabet,
    /// `.permitted` must mean every enumerated topic the pattern matches is granted by first
    /// match, `.denied` that none is; an exact pattern (one topic) is never `.perTopic`.
    func testVerdictsAgreeWithFirstMatchOnEveryShortTopic() {
        let alphabet: [UInt8] = Array("ab.".utf8)
        var topics: [[UInt8]] = [[]]
        var frontier: [[UInt8]] = [[]]
        for _ in 0..<6 {
            frontier = frontier.flatMap { t in alphabet.map { t + [$0] } }
            topics += frontier
        }
        var rng = SplitMix64(seed: 0x9e37_79b9)
        func randomURI(maxLength: Int) -> String {
            String(decoding: (0..<Int(rng.next() % UInt64(maxLength + 1))).map { _ in alphabet[Int(rng.next() % 3)] }, as: UTF8.self)
        }
        let policies = MatchPolicy.allCases
        var counts: [PatternVerdict: Int] = [:]
        for _ in 0..<400 {
            let permissions = (0..<Int(1 + rng.next() % 3)).map { _ in
                Permission(uri: randomURI(maxLength: 4), match: policies[Int(rng.next() % 3)], subscribe: rng.next() % 2 == 0)
            }
            let r = role(permissions)
            for _ in 0..<8 {
                let pattern = randomURI(maxLength: 4)
                let match = policies[Int(rng.next() % 3)]
                let verdict = r.subscribeVerdict(pattern: pattern, match: match)
                counts[verdict, default: 0] += 1
                var granted = 0
                var refused = 0
                for topic in topics where match.matches(pattern: pattern.utf8, uri: topic) {
                    if r.allowsSubscribe(toTopic: topic) { granted += 1 } else { refused += 1 }
                }
                let context = "\(permissions.map { "\($0.match) \"\($0.uri)\" \($0.subscribe)" }) vs \(match) \"\(pattern)\""
                switch verdict {
                case .permitted: XCTAssertEqual(refused, 0, context)
                case .denied: XCTAssertEqual(granted, 0, context)
                case .perTopic: XCTAssertNotEqual(match, .exact, "an exact pattern is one topic: \(context)")
                }
            }
        }
        // The generator reaches every verdict (otherwise the property says little).
        XCTAssertGreaterThan(counts[.permitted, default: 0], 50)
        XCTAssertGreaterThan(counts[.denied, default: 0], 50)
        XCTAssertGreaterThan(counts[.perTopic, default: 0], 50)
    }
}
