// PUBLISH options parsing (one pass, last key wins, list cap) and the EligibilityRules it builds
// (byte-exact authid/authrole matching, agreement with a brute-force reference), in JSON and
// MessagePack.

@testable import FastBroker
import BrokerSerialization
import XCTest

/// Counts the passes over an options dict and the members visited, to bound parse work.
private final class Visits {
    var passes = 0
    var members = 0
}

private struct CountingMembers: Sequence {
    let view: JSONObjectView
    let visits: Visits

    func makeIterator() -> Iterator {
        visits.passes += 1
        return Iterator(inner: view.makeIterator(), visits: visits)
    }

    struct Iterator: IteratorProtocol {
        var inner: JSONObjectView.Iterator
        let visits: Visits

        mutating func next() -> (key: JSONSpan, value: JSONSpan)? {
            guard let member = inner.next() else { return nil }
            visits.members += 1
            return member
        }
    }
}

private func parse(_ json: String, _ format: WireFormat = .json, maxListEntries: Int = 1000) -> Result<PublishOptions, PublishOptions.Refusal> {
    withOptions(json, format) { PublishOptions.parse($0, maxListEntries: maxListEntries) }
}

final class PublishOptionsTests: XCTestCase {
    func testRepeatedKeysAreReadInOnePassAndTheLastWins() throws {
        let repeated = String(repeating: "\"exclude\":[],", count: 4000)
        let json = "{\(repeated)\"exclude\":[7],\"acknowledge\":\"no\",\"acknowledge\":true}"
        for format in [WireFormat.json, .msgpack] {
            let visits = Visits()
            let result = withOptions(json, format) { view in
                PublishOptions.parse(members: CountingMembers(view: view, visits: visits), buffer: view.buffer, maxListEntries: 1000)
            }
            XCTAssertEqual(visits.passes, 1, "\(format): one pass over the options")
            XCTAssertEqual(visits.members, 4003, "\(format): each member visited once")
            let parsed = try result.get()
            XCTAssertTrue(parsed.acknowledge, "\(format): the last acknowledge wins over the malformed first one")
            let rules = try XCTUnwrap(parsed.rules)
            XCTAssertFalse(rules.admits(session: 7, authid: "a", authrole: "r"))
            XCTAssertTrue(rules.admits(session: 8, authid: "a", authrole: "r"))
        }
    }

    func testFlagsAndDefaults() throws {
        let defaults = try parse("{}").get()
        XCTAssertEqual([defaults.acknowledge, defaults.excludeMe, defaults.discloseMe], [false, true, false])
        XCTAssertNil(defaults.rules)
        let set = try parse("{\"acknowledge\":true,\"exclude_me\":false,\"disclose_me\":true,\"x\":[1]}", .msgpack).get()
        XCTAssertEqual([set.acknowledge, set.excludeMe, set.discloseMe], [true, false, true])
        XCTAssertNil(try parse("{\"exclude\":[],\"exclude_authid\":[],\"exclude_authrole\":[]}").get().rules,
                     "empty exclude lists restrict no one, so they cost nothing per subscriber")
        let nobody = try XCTUnwrap(try parse("{\"eligible\":[]}").get().rules)
        XCTAssertFalse(nobody.admits(session: 1, authid: "", authrole: ""), "an empty eligible list admits no one")
    }

    func testMalformedOptionsAreInvalidArgumentsAndKeepAcknowledge() {
        for (json, message, acknowledge) in [
            ("{\"exclude\":\"1\",\"acknowledge\":true}", "options.exclude must be a list of session ids", true),
            ("{\"eligible\":[1,-2]}", "options.eligible must be a list of session ids", false),
            ("{\"eligible_authid\":[\"a\",1],\"acknowledge\":true}", "options.eligible_authid must be a list of strings", true),
            ("{\"acknowledge\":1}", "options.acknowledge must be a bool", false),
            ("{\"acknowledge\":true,\"disclose_me\":null}", "options.disclose_me must be a bool", true),
        ] {
            guard case .failure(let refusal) = parse(json) else { return XCTFail("\(json) accepted") }
            XCTAssertEqual(refusal.message, message)
            XCTAssertEqual(refusal.uri, "wamp.error.invalid_argument")
            XCTAssertNil(refusal.limit)
            XCTAssertEqual(refusal.acknowledge, acknowledge, json)
        }
    }

    func testListsLongerThanTheLimitAreRefusedNamingIt() throws {
        let ids = (1...1001).map(String.init).joined(separator: ",")
        let names = (1...1001).map { "\"u\($0)\"" }.joined(separator: ",")
        for format in [WireFormat.json, .msgpack] {
            for (option, list) in [("exclude", ids), ("eligible", ids), ("exclude_authid", names), ("eligible_authrole", names)] {
                guard case .failure(let refusal) = parse("{\"\(option)\":[\(list)],\"acknowledge\":true}", format) else {
                    return XCTFail("\(format) \(option): 1001 entries accepted")
                }
                XCTAssertEqual(refusal.uri, "fastbroker.error.limit_exceeded")
                XCTAssertEqual(refusal.message, "options.\(option) has more than 1000 entries (limits.max_list_option_entries)")
                XCTAssertEqual(refusal.limit, .maxListOptionEntries)
                XCTAssertTrue(refusal.acknowledge)
            }
            let exactly = (1...1000).map(String.init).joined(separator: ",")
            let rules = try XCTUnwrap(try parse("{\"exclude\":[\(exactly)]}", format).get().rules)
            XCTAssertFalse(rules.admits(session: 1000, authid: "", authrole: ""))
            XCTAssertTrue(rules.admits(session: 1001, authid: "", authrole: ""))
            guard case .failure = parse("{\"exclude\":[1,2,3]}", format, maxListEntries: 2) else {
                return XCTFail("the configured limit is not the one applied")
            }
        }
    }

    func testAuthidsAndAuthrolesCompareByBytes() throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        XCTAssertEqual(composed, decomposed, "Swift String == is canonical equivalence: the trap this test guards")
        // JSON escapes decode to the same bytes as the raw spelling.
        let rules = try XCTUnwrap(try parse("{\"eligible_authid\":[\"caf\\u00e9\"],\"exclude_authrole\":[\"cafe\u{301}\"]}").get().rules)
        XCTAssertTrue(rules.admits(session: 1, authid: composed, authrole: composed))
        XCTAssertFalse(rules.admits(session: 1, authid: decomposed, authrole: composed), "a different byte spelling is another authid")
        XCTAssertFalse(rules.admits(session: 1, authid: composed, authrole: decomposed))
        let msgpack = try XCTUnwrap(try parse("{\"exclude_authid\":[\"\(decomposed)\"]}", .msgpack).get().rules)
        XCTAssertTrue(msgpack.admits(session: 1, authid: composed, authrole: ""))
        XCTAssertFalse(msgpack.admits(session: 1, authid: decomposed, authrole: ""))
    }

    func testPrefixesEmptyStringsAndDuplicates() {
        let set = SortedByteStrings(["abc", "ab", "", "abc", "b\u{0}", "\u{FF}"])
        XCTAssertEqual(set.count, 5, "duplicates collapse")
        for member in ["abc", "ab", "", "b\u{0}", "\u{FF}"] { XCTAssertTrue(set.contains(member), member) }
        for other in ["a", "abcd", "b", "ac", "\u{FE}"] { XCTAssertFalse(set.contains(other), other) }
        XCTAssertFalse(SortedByteStrings().contains(""))
        XCTAssertEqual(SortedSessionIDs([5, 1, 5, UInt64.max, 0]).count, 4)
    }

    /// Random rules against a linear reference over the same lists.
    func testRulesAgreeWithBruteForce() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            func ids() -> [UInt64] { (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt64.random(in: 0...60, using: &rng) } }
            func names() -> [String] { (0..<Int.random(in: 0...12, using: &rng)).map { _ in "n\(Int.random(in: 0...15, using: &rng))" } }
            func maybe<T>(_ make: () -> T) -> T? { Bool.random(using: &rng) ? make() : nil }
            let exclude = ids(), eligible = maybe(ids), excludeAuthid = names(), eligibleAuthid = maybe(names)
            let excludeAuthrole = names(), eligibleAuthrole = maybe(names)
            var rules = EligibilityRules()
            rules.exclude = SortedSessionIDs(exclude)
            rules.eligible = eligible.map(SortedSessionIDs.init)
            rules.excludeAuthid = SortedByteStrings(excludeAuthid)
            rules.eligibleAuthid = eligibleAuthid.map(SortedByteStrings.init)
            rules.excludeAuthrole = SortedByteStrings(excludeAuthrole)
            rules.eligibleAuthrole = eligibleAuthrole.map(SortedByteStrings.init)
            for session in UInt64(0)...62 {
                let authid = "n\(Int.random(in: 0...16, using: &rng))", authrole = "n\(Int.random(in: 0...16, using: &rng))"
                let expected = !exclude.contains(session) && (eligible?.contains(session) ?? true)
                    && !excludeAuthid.contains(authid) && (eligibleAuthid?.contains(authid) ?? true)
                    && !excludeAuthrole.contains(authrole) && (eligibleAuthrole?.contains(authrole) ?? true)
                XCTAssertEqual(rules.admits(session: session, authid: authid, authrole: authrole), expected)
            }
        }
    }
}
