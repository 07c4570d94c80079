// Shared helpers for the configuration tests: a scratch directory with real files (TLS material,
// user databases) and shortcuts that parse a document and return its issues.

import Foundation
import XCTest

@testable import BrokerConfig

/// A fresh temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("fastbroker-config-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `contents` at `name` (relative to the directory) and returns the absolute path.
    @discardableResult
    func write(_ name: String, _ contents: String = "placeholder\n") throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: true, encoding: .utf8)
        return full
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Parses `json`; fails the test if it is accepted.
func configIssues(_ json: String, baseDirectory: String = "/nonexistent", file: StaticString = #filePath, line: UInt = #line)
    -> [ConfigIssue]
{
    do {
        let configuration = try BrokerConfiguration.parse(Array(json.utf8), baseDirectory: baseDirectory)
        XCTFail("expected an error, got \(configuration)", file: file, line: line)
        return []
    } catch {
        return error.issues
    }
}

/// Parses `json`; fails the test (and returns nil) if it is refused.
func parseConfig(_ json: String, baseDirectory: String = "/nonexistent", file: StaticString = #filePath, line: UInt = #line)
    -> BrokerConfiguration?
{
    do {
        return try BrokerConfiguration.parse(Array(json.utf8), baseDirectory: baseDirectory)
    } catch {
        XCTFail("unexpected error:\n\(error)", file: file, line: line)
        return nil
    }
}

/// A minimal valid document with one piece replaced, to test one rule at a time.
enum ConfigDocument {
    static let listener = #"{"transport": "websocket", "host": "127.0.0.1", "port": 8080}"#
    static let realm =
        #"{"name": "realm1", "auth": {"anonymous": {"role": "anon"}}, "roles": [{"name": "anon", "permissions": []}]}"#

    static func with(
        listeners: String? = nil, realms: String? = nil, extra: String = ""
    ) -> String {
        #"{"listeners": \#(listeners ?? "[\(listener)]"), "realms": \#(realms ?? "[\(realm)]")\#(extra)}"#
    }

    static func withListener(_ listener: String) -> String { with(listeners: "[\(listener)]") }
    static func withRealm(_ realm: String) -> String { with(realms: "[\(realm)]") }

    /// A realm whose single role "r" has the given permissions array.
    static func withPermissions(_ permissions: String) -> String {
        withRealm(#"{"name": "realm1", "auth": {"anonymous": {"role": "r"}}, "roles": [{"name": "r", "permissions": \#(permissions)}]}"#)
    }
}
