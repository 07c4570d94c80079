// Temporary userdb files for the tests: each test gets its own directory, removed afterwards.

import Foundation
import XCTest
@testable import BrokerSecurity

final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        let template = NSTemporaryDirectory() + "/fastbroker-sec-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw XCTSkip("mkdtemp failed") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
