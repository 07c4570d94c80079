// The one option parser of fastbench's run and soak commands: both accept the shared options the
// same way and refuse mistakes with a message naming the option.

import XCTest

@testable import FastBench

final class BenchArgumentsTests: XCTestCase {
    func testSoakOptions() throws {
        guard case .success(let options) = SoakOptions.parse(["--url", "ws://127.0.0.1:9/ws", "--serializer", "cbor", "--tls",
                                                              "--publishers", "7", "--drain", "2.5"]) else {
            return XCTFail("valid soak options refused")
        }
        XCTAssertEqual(options.url.serializer, .cbor)
        XCTAssertTrue(options.url.tls)
        XCTAssertEqual(options.publishers, 7)
        XCTAssertEqual(options.drainSeconds, 2.5)
    }

    func testMistakesNameTheOption() {
        func soakError(_ arguments: [String]) -> String? {
            if case .failure(let error) = SoakOptions.parse(arguments) { return error.description }
            return nil
        }
        func runError(_ arguments: [String]) -> String? {
            if case .failure(let error) = BenchOptions.parse(arguments) { return error.description }
            return nil
        }
        let url = ["--url", "rs://127.0.0.1:1"]
        XCTAssertEqual(soakError(url + ["--publishers", "0"]), "--publishers 0: expected an integer in 1...16000")
        XCTAssertEqual(runError(url + ["--publishers", "x"]), "--publishers x: expected an integer in 1...10000")
        XCTAssertEqual(soakError(url + ["--drain", "0"]), "--drain 0: expected seconds, > 0")
        XCTAssertEqual(runError(url + ["--warmup", "-1"]), "--warmup -1: expected seconds, ≥ 0")
        XCTAssertEqual(soakError(url + ["--serializer", "xml"]), "--serializer xml: expected json, msgpack or cbor")
        XCTAssertEqual(runError(url + ["--serializer", "xml"]), "--serializer xml: expected json, msgpack or cbor")
        XCTAssertEqual(soakError(url + ["--bogus", "1"])?.hasPrefix("--bogus: unknown option\nusage: fastbench soak"), true)
        XCTAssertEqual(runError(url + ["--healthy", "1"])?.hasPrefix("--healthy: unknown option\nusage: fastbench"), true)
        XCTAssertEqual(soakError(["--publishers", "3"])?.hasPrefix("--url is required\n"), true)
        XCTAssertEqual(runError(url + ["--publishers"])?.hasPrefix("--publishers: expected --option VALUE\n"), true)
    }
}
