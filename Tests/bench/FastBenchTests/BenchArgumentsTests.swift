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

final class SubscriberURLTests: XCTestCase {
    /// Cross-node runs: publishers on --url, subscriber i on the (i mod count)th --subscriber-urls
    /// entry, with --url's serializer, TLS and credentials (the subscriber serializer if given).
    func testSubscribersSpreadOverTheListedBrokers() throws {
        guard case .success(let options) = BenchOptions.parse([
            "--url", "rs://127.0.0.1:1", "--serializer", "cbor", "--workload", "fanout", "--realm", "r2",
            "--subscriber-urls", "rs://127.0.0.1:2,ws://127.0.0.1:3/ws,rs://127.0.0.1:1", "--settle", "1.5",
            "--subscriber-serializer", "msgpack"]) else {
            return XCTFail("valid options refused")
        }
        XCTAssertEqual((0..<6).map { options.subscriberURL($0).port }, [2, 3, 1, 2, 3, 1])
        XCTAssertEqual(options.subscriberURL(1).transport, .webSocket(path: "/ws"))
        XCTAssertEqual(options.subscriberURL(4).serializer, .msgpack)
        XCTAssertEqual(options.subscriberURL(4).realm, "r2")
        XCTAssertEqual(options.url.port, 1)
        XCTAssertEqual(options.url.serializer, .cbor)
        XCTAssertEqual(options.settleSeconds, 1.5)

        guard case .success(let single) = BenchOptions.parse(["--url", "rs://127.0.0.1:7"]) else { return XCTFail("refused") }
        XCTAssertEqual(single.subscriberURL(5).port, 7, "without --subscriber-urls every subscriber uses --url")
        XCTAssertEqual(single.settleSeconds, 0)
    }

    func testSubscriberURLMistakesNameTheURL() {
        func runError(_ arguments: [String]) -> String? {
            if case .failure(let error) = BenchOptions.parse(["--url", "rs://127.0.0.1:1"] + arguments) { return error.description }
            return nil
        }
        XCTAssertEqual(runError(["--subscriber-urls", "nats://127.0.0.1:4222"]),
                       "--subscriber-urls nats://127.0.0.1:4222: must speak what --url rs://127.0.0.1:1 speaks (WAMP or NATS, TLS or not)")
        XCTAssertEqual(runError(["--subscriber-urls", "rss://127.0.0.1:2"]),
                       "--subscriber-urls rss://127.0.0.1:2: must speak what --url rs://127.0.0.1:1 speaks (WAMP or NATS, TLS or not)")
        XCTAssertEqual(runError(["--subscriber-urls", "rs://127.0.0.1:2,rs://host"]),
                       "--subscriber-urls: rs://host: needs HOST:PORT with a port in 1...65535")
        XCTAssertEqual(runError(["--settle", "-1"]), "--settle -1: expected seconds, ≥ 0")
    }
}
