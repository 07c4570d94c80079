// The SPEC §3 limits beyond the original four: each key is decoded into LimitsConfig, a wrong
// type or a value out of range is an issue at `$.limits.<key>` saying what is expected, and
// permission URIs are held to limits.max_uri_bytes with the permission's own JSON path.

import XCTest

@testable import BrokerConfig

final class LimitsValidationTests: XCTestCase {
    typealias Doc = ConfigDocument

    /// Every count limit: its key, field, lowest and highest accepted value, and the message.
    private static let int32 = Int(Int32.max)
    private static var counts: [(key: String, field: WritableKeyPath<LimitsConfig, Int>, low: Int, high: Int, expected: String)] {[
        ("max_uri_bytes", \.maxURIBytes, 1, 16_777_216, "an integer from 1 to 16777216"),
        ("max_subscriptions_per_session", \.maxSubscriptionsPerSession, 1, int32, "an integer from 1 to \(int32)"),
        ("max_list_option_entries", \.maxListOptionEntries, 0, int32, "an integer from 0 to \(int32)"),
        ("max_connections", \.maxConnections, 1, int32, "an integer from 1 to \(int32)"),
        ("max_connections_per_ip", \.maxConnectionsPerIP, 1, int32, "an integer from 1 to \(int32)"),
        ("frame_timeout_ms", \.frameTimeoutMs, 1, int32, "an integer from 1 to \(int32)"),
        ("idle_timeout_ms", \.idleTimeoutMs, 0, int32, "an integer from 0 to \(int32) (0 = off)"),
        ("max_retained_bytes", \.maxRetainedBytes, 0, Int.max, "a non-negative integer"),
    ]}

    func testEachLimitIsDecoded() {
        for limit in Self.counts {
            for value in [limit.low, limit.high, 777] {
                let config = parseConfig(Doc.with(extra: #", "limits": {"\#(limit.key)": \#(value)}"#))
                XCTAssertEqual(config?.limits[keyPath: limit.field], value, limit.key)
                var expected = LimitsConfig()
                expected[keyPath: limit.field] = value
                XCTAssertEqual(config?.limits, expected, "\(limit.key): the other limits keep their defaults")
            }
        }
    }

    func testWrongTypeOrRangeNamesTheKey() {
        for limit in Self.counts {
            var bad = ["\"100\"", "1.5", "true", "null", "[]", "\(limit.low - 1)"]
            if limit.high < Int.max { bad.append("\(limit.high + 1)") }
            for value in bad {
                XCTAssertEqual(
                    configIssues(Doc.with(extra: #", "limits": {"\#(limit.key)": \#(value)}"#)),
                    [ConfigIssue(path: "$.limits.\(limit.key)", message: "expected \(limit.expected), got \(Self.shown(value))")],
                    "\(limit.key): \(value)")
            }
        }
    }

    func testDefaultsAreSafe() {
        let limits = LimitsConfig()
        XCTAssertLessThanOrEqual(limits.maxURIBytes, 4096, "issue 9: max_uri_bytes defaults to at most 4 KiB")
        XCTAssertGreaterThan(limits.maxURIBytes, 0)
    }

    // MARK: - Permission URIs and max_uri_bytes

    func testPermissionURIOverMaxURIBytesIsAnIssueAtItsPath() {
        let realm = #"""
            {"name": "realm1", "auth": {"anonymous": {"role": "b"}}, "roles": [
              {"name": "a", "permissions": []},
              {"name": "b", "permissions": [
                {"uri": "com.ok", "subscribe": true},
                {"uri": "com.ok.", "match": "prefix"},
                {"uri": "com.\#(String(repeating: "x", count: 1021))", "publish": true}]}]}
            """#
        XCTAssertEqual(
            configIssues(Doc.withRealm(realm)),
            [
                ConfigIssue(
                    path: "$.realms[0].roles[1].permissions[2].uri",
                    message: "a URI of 1025 bytes is longer than limits.max_uri_bytes (1024)")
            ])
        let exactly = Doc.withPermissions(#"[{"uri": "com.\#(String(repeating: "x", count: 1020))"}]"#)
        XCTAssertNotNil(parseConfig(exactly), "a URI of exactly max_uri_bytes is accepted")
    }

    func testPermissionURILimitFollowsTheConfiguredLimitInUTF8Bytes() {
        // "é" is two UTF-8 bytes: "com.éé" is 8 bytes but 6 characters.
        let permissions = #"[{"uri": "com.\u00e9\u00e9", "publish": true}]"#
        XCTAssertEqual(
            configIssues(Self.withLimits(Doc.withPermissions(permissions), #"{"max_uri_bytes": 7}"#)),
            [ConfigIssue(path: "$.realms[0].roles[0].permissions[0].uri", message: "a URI of 8 bytes is longer than limits.max_uri_bytes (7)")])
        XCTAssertNotNil(parseConfig(Self.withLimits(Doc.withPermissions(permissions), #"{"max_uri_bytes": 8}"#)))
        // An invalid limit is reported on its own, not as a cascade over every permission.
        XCTAssertEqual(
            configIssues(Self.withLimits(Doc.withPermissions(permissions), #"{"max_uri_bytes": 0}"#)),
            [ConfigIssue(path: "$.limits.max_uri_bytes", message: "expected an integer from 1 to 16777216, got 0")])
    }

    /// `document` (an object) with a "limits" member added.
    private static func withLimits(_ document: String, _ limits: String) -> String {
        String(document.dropLast()) + #", "limits": \#(limits)}"#
    }

    /// How the decoder shows a wrong value (ConfigValueText.describe).
    private static func shown(_ json: String) -> String {
        switch json {
        case "null": return "null"
        case "[]": return "an empty array"
        default: return json
        }
    }
}
