// The `cluster` section (SPEC §7): decoded values and defaults, and every refusal naming the JSON
// path of the offending value with what was wrong.

import BrokerSerialization
import XCTest

@testable import BrokerConfig

final class ClusterConfigTests: XCTestCase {
    private func document(_ cluster: String) -> String { ConfigDocument.with(extra: #", "cluster": \#(cluster)"#) }

    private func issues(_ cluster: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigIssue] {
        configIssues(document(cluster), file: file, line: line)
    }

    func testAbsentSectionMeansStandAlone() {
        XCTAssertNil(parseConfig(ConfigDocument.with())?.cluster)
    }

    func testSpecExampleIsDecodedWithTheDefaultLeaseTTL() {
        let config = parseConfig(document(#"{"node": "n1", "nats": {"servers": ["nats://127.0.0.1:4222"]}}"#))
        XCTAssertEqual(config?.cluster, ClusterConfig(node: "n1", servers: ["nats://127.0.0.1:4222"], leaseTTLMs: 10_000))
        XCTAssertTrue(config?.summary.contains("cluster: node n1 via NATS nats://127.0.0.1:4222") ?? false)
    }

    func testServersKeepTheirOrderAndTheLeaseTTLIsRead() {
        let cluster = #"{"node": "eu-1_a", "nats": {"servers": ["nats://b:4223", "nats://a", "nats://[::1]:4224"], "lease_ttl_ms": 3000}}"#
        XCTAssertEqual(
            parseConfig(document(cluster))?.cluster,
            ClusterConfig(node: "eu-1_a", servers: ["nats://b:4223", "nats://a", "nats://[::1]:4224"], leaseTTLMs: 3000))
    }

    func testMissingKeysAreNamed() {
        XCTAssertEqual(issues(#"{"nats": {"servers": ["nats://a"]}}"#), [ConfigIssue(path: "$.cluster", message: "missing required key \"node\"")])
        XCTAssertEqual(issues(#"{"node": "n1"}"#), [ConfigIssue(path: "$.cluster", message: "missing required key \"nats\"")])
        XCTAssertEqual(issues(#"{"node": "n1", "nats": {}}"#), [ConfigIssue(path: "$.cluster.nats", message: "missing required key \"servers\"")])
        XCTAssertEqual(
            issues(#"{"node": "n1", "nats": {"servers": []}}"#),
            [ConfigIssue(path: "$.cluster.nats.servers", message: "at least one NATS server URL is required")])
    }

    func testNodeNamesThatCannotStandInASubjectAreRefused() {
        for bad in ["", "n.1", "n 1", "n*", "n>", "nœud", String(repeating: "n", count: 65)] {
            XCTAssertEqual(
                issues(#"{"node": \#(JSONWriter.quoted(bad)), "nats": {"servers": ["nats://a"]}}"#).map(\.path), ["$.cluster.node"], bad)
        }
        XCTAssertEqual(
            issues(#"{"node": "a.b", "nats": {"servers": ["nats://a"]}}"#),
            [ConfigIssue(
                path: "$.cluster.node",
                message: "expected 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-' (it names this node in NATS subjects), got \"a.b\"")])
        XCTAssertEqual(
            issues(#"{"node": 7, "nats": {"servers": ["nats://a"]}}"#),
            [ConfigIssue(path: "$.cluster.node", message: "expected a string, got 7")])
    }

    func testEachBadServerURLIsNamedByIndex() {
        let cluster = #"{"node": "n1", "nats": {"servers": ["nats://ok:4222", "http://x:4222", "nats://a:4222,nats://b:4222", "nats://h:0", "nats://h:x", 5, "nats://ok:4222", "nats://:4222"]}}"#
        XCTAssertEqual(
            issues(cluster),
            [
                ConfigIssue(path: "$.cluster.nats.servers[1]", message: #""http://x:4222" must start with "nats://""#),
                ConfigIssue(
                    path: "$.cluster.nats.servers[2]",
                    message: #""nats://a:4222,nats://b:4222" must be one URL (list several servers as separate array elements)"#),
                ConfigIssue(path: "$.cluster.nats.servers[3]", message: #""nats://h:0" has port "0"; expected an integer from 1 to 65535"#),
                ConfigIssue(path: "$.cluster.nats.servers[4]", message: #""nats://h:x" has port "x"; expected an integer from 1 to 65535"#),
                ConfigIssue(path: "$.cluster.nats.servers[5]", message: "expected a string, got 5"),
                ConfigIssue(path: "$.cluster.nats.servers[6]", message: #"duplicate server "nats://ok:4222" (first at $.cluster.nats.servers[0])"#),
                ConfigIssue(path: "$.cluster.nats.servers[7]", message: #""nats://:4222" must name a host before the port"#),
            ])
    }

    func testLeaseTTLOutOfRangeIsNamed() {
        for value in ["999", "3600001", "-1", "2.5", "\"10000\""] {
            XCTAssertEqual(
                issues(#"{"node": "n1", "nats": {"servers": ["nats://a"], "lease_ttl_ms": \#(value)}}"#),
                [ConfigIssue(
                    path: "$.cluster.nats.lease_ttl_ms",
                    message: "expected an integer from 1000 to 3600000 (milliseconds), got \(value)")],
                value)
        }
    }

    func testUnknownKeysAreSuggested() {
        XCTAssertEqual(
            issues(#"{"node": "n1", "nats": {"server": ["nats://a"]}}"#),
            [
                ConfigIssue(
                    path: "$.cluster.nats.server",
                    message: "unknown key \"server\" (did you mean \"servers\"?); allowed keys: servers, lease_ttl_ms"),
                ConfigIssue(path: "$.cluster.nats", message: "missing required key \"servers\""),
            ])
        XCTAssertEqual(
            issues(#"{"nodes": "n1", "node": "n1", "nats": {"servers": ["nats://a"]}}"#),
            [ConfigIssue(path: "$.cluster.nodes", message: "unknown key \"nodes\" (did you mean \"node\"?); allowed keys: node, nats")])
        XCTAssertEqual(issues("[]"), [ConfigIssue(path: "$.cluster", message: "expected an object, got an empty array")])
    }
}
