// A directory of its own under the system's temporary directory, removed with its contents when
// the last reference goes (userdb files, TLS certificates).

import Foundation
import XCTest

public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        let template = NSTemporaryDirectory() + "/fastbroker-sec-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw XCTSkip("mkdtemp failed") }
        path = String(cString: made)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
