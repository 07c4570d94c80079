// Runs the fuzz/filter seed corpus through the same stages as fuzz/filter/entry.swift, so CI
// exercises the nasty inputs without libFuzzer (convention in fuzz/README.md).

import Foundation
import XCTest

@testable import FilterVM

final class FuzzCorpusTests: XCTestCase {
    func testSeedCorpusNeverCrashes() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/filter/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        XCTAssertFalse(files.isEmpty)
        var compiled = 0
        for file in files {
            let input = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            let split = input.firstIndex(of: 0) ?? input.count
            let expression = String(decoding: input[..<split], as: UTF8.self)
            let document = split < input.count ? Array(input[(split + 1)...]) : []
            _ = try? FilterValue(json: document)
            let values: [String: FilterValue] = [
                ":v": .number(FilterNumber(7)), ":x": .string("x"), ":t": .string("M"),
            ].filter { expression.contains($0.key) }
            let names = ["#n": "n0"].filter { expression.contains($0.key) }
            guard let program = try? FilterProgram.compile(expression, values: values, names: names) else { continue }
            compiled += 1
            _ = program.disassemble()
            _ = document.withUnsafeBytes { program.evaluate(JSONFilterDocument($0)) }
        }
        XCTAssertGreaterThan(compiled, files.count / 2, "most seeds are valid expressions")
    }
}
