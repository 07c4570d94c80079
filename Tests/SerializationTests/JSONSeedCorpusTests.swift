// Runs the libFuzzer seed corpus (fuzz/json/corpus) through the same self-check as the fuzz entry, so
// CI exercises those inputs without libFuzzer.

import BrokerSerialization
import Foundation
import XCTest

final class JSONSeedCorpusTests: XCTestCase {
    func testSeedCorpusPassesSelfCheck() throws {
        let dir = repositoryRoot.appendingPathComponent("fuzz/json/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertGreaterThanOrEqual(files.count, 20)
        for name in files {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            let broken = bytes.withUnsafeBytes { JSONSelfCheck.check($0) }
            XCTAssertNil(broken, name)
        }
    }

}
