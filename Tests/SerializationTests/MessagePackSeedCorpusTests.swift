// Runs the libFuzzer seed corpus (fuzz/msgpack/corpus) through the same self-check as the fuzz entry,
// so CI exercises those inputs without libFuzzer.

import BrokerSerialization
import Foundation
import XCTest

final class MessagePackSeedCorpusTests: XCTestCase {
    func testSeedCorpusPassesSelfCheck() throws {
        let dir = repositoryRoot.appendingPathComponent("fuzz/msgpack/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertGreaterThanOrEqual(files.count, 40)
        for name in files {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            XCTAssertNil(bytes.withUnsafeBytes { MessagePackSelfCheck.check($0) }, name)
        }
    }
}
