// SUBSCRIBE options parsing: match policy, consumer-group type and name (plain and `_` forms),
// the content filter, and the exact refusal for each malformed option, in JSON and MessagePack.

@testable import FastBroker
import BrokerConfig
import BrokerSerialization
import FilterVM
import XCTest

private func parse(_ json: String, _ format: WireFormat = .json) -> Result<SubscribeOptions, SubscribeRefusal> {
    withOptions(json, format) { SubscribeOptions.parse($0) }
}

private func passes(_ filter: FilterProgram, _ kwargs: String) -> Bool {
    Array(kwargs.utf8).withUnsafeBytes { filter.evaluate(JSONFilterDocument($0)) }
}

final class SubscribeOptionsTests: XCTestCase {
    private let formats: [WireFormat] = [.json, .msgpack]

    func testDefaultsAreAnExactPlainSubscription() throws {
        for format in formats {
            let options = try parse(#"{"unknown":[1,{"x":2}]}"#, format).get()
            XCTAssertEqual(options.match, .exact, "\(format)")
            XCTAssertNil(options.groupType, "\(format)")
            XCTAssertEqual(options.groupName, "", "\(format)")
            XCTAssertNil(options.filter, "\(format): unknown options are ignored")
        }
    }

    func testMatchPolicies() throws {
        for format in formats {
            for policy in MatchPolicy.allCases {
                XCTAssertEqual(try parse(#"{"match":"\#(policy.rawValue)"}"#, format).get().match, policy, "\(format)")
            }
        }
        XCTAssertEqual(try parse(#"{"m\u0061tch":"pr\u0065fix"}"#).get().match, .prefix, "escaped key and value")
        XCTAssertEqual(try parse(#"{"match":"nope","match":"wildcard"}"#).get().match, .wildcard, "the last key wins")
    }

    func testGroupTypeAndNameInPlainAndUnderscoredForms() throws {
        for format in formats {
            let plain = try parse(#"{"type":"shared","group":"workers"}"#, format).get()
            XCTAssertEqual(plain.groupType, .shared)
            XCTAssertEqual(plain.groupName, "workers")
            let underscored = try parse(#"{"_type":"failover","_group":"w2"}"#, format).get()
            XCTAssertEqual(underscored.groupType, .failover)
            XCTAssertEqual(underscored.groupName, "w2")
            let both = try parse(#"{"type":"exclusive","_type":"nonsense","_group":"b","group":"a"}"#, format).get()
            XCTAssertEqual(both.groupType, .exclusive, "\(format): the plain key wins over the underscored one")
            XCTAssertEqual(both.groupName, "a")
            XCTAssertEqual(try parse(#"{"type":"shared"}"#, format).get().groupName, "", "a group may be unnamed")
        }
    }

    func testEachMalformedOptionIsRefusedWithAMessageNamingIt() {
        let cases: [(String, String)] = [
            (#"{"match":"regex"}"#, #"options.match must be "exact", "prefix" or "wildcard""#),
            (#"{"match":1}"#, #"options.match must be "exact", "prefix" or "wildcard""#),
            (#"{"type":"queue"}"#, #"options.type must be "exclusive", "shared" or "failover""#),
            (#"{"_type":true}"#, #"options.type must be "exclusive", "shared" or "failover""#),
            (#"{"type":"shared","group":7}"#, "options.group must be a string"),
            (#"{"group":"g"}"#, "options.group needs options.type (exclusive, shared or failover)"),
            (#"{"filter_values":{":v":1}}"#, "options.filter_values / filter_names given without options.filter"),
            (#"{"filter":5}"#, "options.filter must be a string (a DynamoDB filter expression)"),
            (#"{"filter":"k = :v","filter_values":[1]}"#, #"options.filter_values must be a dict like {":v": 10}"#),
            (#"{"filter":"k = :v","_filter_values":{":v":1e200}}"#,
             #"options.filter_values[":v"]: number is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125)"#),
            (##"{"filter":"#n = :v","filter_values":{":v":1},"filter_names":"k"}"##, ##"options.filter_names must be a dict like {"#n": "name"}"##),
            (##"{"filter":"#n = :v","filter_values":{":v":1},"_filter_names":{"#n":5}}"##, ##"options.filter_names["#n"] must be a string"##),
            // Checked in a fixed order whatever the order of the keys: match before type before filter.
            (#"{"filter":5,"type":"queue","match":"regex"}"#, #"options.match must be "exact", "prefix" or "wildcard""#),
            (#"{"filter":5,"group":"g","type":"queue"}"#, #"options.type must be "exclusive", "shared" or "failover""#),
        ]
        for format in formats {
            for (json, message) in cases {
                switch parse(json, format) {
                case .success: XCTFail("\(format) \(json): accepted")
                case .failure(let refusal):
                    XCTAssertEqual(refusal.message, message, "\(format) \(json)")
                    XCTAssertEqual(refusal.uri, WampURI.invalidArgument, "\(format) \(json)")
                }
            }
        }
    }

    func testFilterIsCompiledWithTheSubscription() throws {
        for format in formats {
            let options = try parse(#"{"match":"prefix","filter":"k >= :v","filter_values":{":v":10}}"#, format).get()
            XCTAssertEqual(options.match, .prefix)
            let filter = try XCTUnwrap(options.filter, "\(format)")
            XCTAssertTrue(passes(filter, #"{"k":10}"#), "\(format)")
            XCTAssertFalse(passes(filter, #"{"k":9}"#), "\(format)")
        }
        guard case .failure(let refusal) = parse(#"{"filter":"k >= "}"#) else { return XCTFail("a broken expression was accepted") }
        XCTAssertTrue(refusal.message.hasPrefix("invalid filter: "), refusal.message)
    }

    func testFilterNamesStandInForAttributeNames() throws {
        for format in formats {
            let options = try parse(##"{"filter":"#n = :v","_filter_values":{":v":"x"},"filter_names":{"#n":"k"}}"##, format).get()
            let filter = try XCTUnwrap(options.filter, "\(format)")
            XCTAssertTrue(passes(filter, #"{"k":"x"}"#), "\(format)")
            XCTAssertFalse(passes(filter, ##"{"#n":"x"}"##), "\(format)")
        }
    }

    func testPlaceholderDictsLongerThanAnyExpressionCanUseAreRefused() {
        let limit = SubscriptionFilter.maxPlaceholderEntries
        let tail = "a filter expression of at most \(FilterProgram.maxExpressionBytes) bytes cannot use them all"
        for (option, entry) in [("filter_values", { (i: Int) in "\":v\(i)\":1" }), ("filter_names", { (i: Int) in "\"#n\(i)\":\"k\"" })] {
            let entries = (0...limit).map(entry).joined(separator: ",")
            guard case .failure(let refusal) = parse(#"{"filter":"k = :v",""# + option + #"":{"# + entries + "}}") else {
                return XCTFail("\(option) with \(limit + 1) entries was accepted")
            }
            XCTAssertEqual(refusal.message, "options.\(option) has more than \(limit) entries: \(tail)")
            XCTAssertEqual(refusal.uri, WampURI.invalidArgument)
        }
    }
}
