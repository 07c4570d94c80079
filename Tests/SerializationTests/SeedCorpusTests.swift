// Runs each libFuzzer seed corpus (fuzz/json, fuzz/msgpack, fuzz/cbor) and the CBOR differential
// fixture's inputs through the same self-check as the fuzz entry (Tests/SerializationSelfCheck),
// so CI exercises those inputs without libFuzzer.

import BrokerSerialization
import Foundation
import SerializationSelfCheck
import XCTest

final class SeedCorpusTests: XCTestCase {
    func testJSONSeedCorpusPassesSelfCheck() throws {
        try assertCorpusPasses("json", atLeast: 20, JSONSelfCheck.check)
    }

    func testMessagePackSeedCorpusPassesSelfCheck() throws {
        try assertCorpusPasses("msgpack", atLeast: 40, MessagePackSelfCheck.check)
    }

    func testCBORSeedCorpusPassesSelfCheck() throws {
        try assertCorpusPasses("cbor", atLeast: 35, CBORSelfCheck.check)
    }

    func testCBORDifferentialInputsPassSelfCheck() throws {
        let url = repositoryRoot.appendingPathComponent("Tests/SerializationTests/Fixtures/cbor_differential.txt")
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let encoded = line.split(separator: " ", omittingEmptySubsequences: false)[1]
            let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: String(encoded))))
            XCTAssertNil(bytes.withUnsafeBytes { CBORSelfCheck.check($0) }, String(encoded))
        }
    }

    /// Every file of fuzz/<target>/corpus (at least `minimum` of them) passes `check`.
    private func assertCorpusPasses(_ target: String, atLeast minimum: Int, _ check: (UnsafeRawBufferPointer) -> String?,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = repositoryRoot.appendingPathComponent("fuzz/\(target)/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertGreaterThanOrEqual(files.count, minimum, file: file, line: line)
        for name in files {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            XCTAssertNil(bytes.withUnsafeBytes { check($0) }, "\(target)/\(name)", file: file, line: line)
        }
    }
}
