// Runs the libFuzzer seed corpus (fuzz/cbor/corpus) and the differential fixture's inputs through
// the same self-check as the fuzz entry, so CI exercises those inputs without libFuzzer.

import BrokerSerialization
import Foundation
import XCTest

final class CBORSeedCorpusTests: XCTestCase {
    func testSeedCorpusPassesSelfCheck() throws {
        let dir = repositoryRoot.appendingPathComponent("fuzz/cbor/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertGreaterThanOrEqual(files.count, 35)
        for name in files {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            XCTAssertNil(bytes.withUnsafeBytes { CBORSelfCheck.check($0) }, name)
        }
    }

    func testDifferentialInputsPassSelfCheck() throws {
        let url = repositoryRoot.appendingPathComponent("Tests/SerializationTests/Fixtures/cbor_differential.txt")
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let encoded = line.split(separator: " ", omittingEmptySubsequences: false)[1]
            let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: String(encoded))))
            XCTAssertNil(bytes.withUnsafeBytes { CBORSelfCheck.check($0) }, String(encoded))
        }
    }
}
