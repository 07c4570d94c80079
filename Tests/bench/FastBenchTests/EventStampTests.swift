// The per-event scan: timestamp, publication number and subscription id out of compact JSON and
// MessagePack EVENTs; anything else goes to the full scanner (nil here).

import XCTest
@testable import FastBench

final class EventStampTests: XCTestCase {
    private func json(_ text: String) -> EventStamp? {
        Array(text.utf8).withUnsafeBytes { EventStamp.parseJSON($0) }
    }

    func testJSONEventWithDetailsAndKwargs() throws {
        let stamp = try XCTUnwrap(json(#"[36,5123,77,{"topic":"a.b]{"},[[1234567890123,42,"xxxx"]],{"k":1}]"#))
        XCTAssertEqual(stamp.subscription, 5123)
        XCTAssertEqual(stamp.publication, 42)
        XCTAssertEqual(stamp.timestamp, 1234567890123)
    }

    func testJSONOfAnotherShapeIsLeftToTheFullScanner() {
        XCTAssertNil(json(#"[36, 5, 77, {}, [[1, 2, "x"]]]"#))
        XCTAssertNil(json(#"[17,5,77]"#))
    }

    func testMessagePackEvent() throws {
        // [36, 300, 7, {}, [[2^40 (uint64), 9 (uint64), "xx"]]]
        var bytes: [UInt8] = [0x95, 0x24, 0xCD, 0x01, 0x2C, 0x07, 0x80, 0x91, 0x93]
        bytes += [0xCF, 0, 0, 0x01, 0, 0, 0, 0, 0]
        bytes += [0xCF, 0, 0, 0, 0, 0, 0, 0, 9]
        bytes += [0xA2, 0x78, 0x78]
        let stamp = try XCTUnwrap(bytes.withUnsafeBytes { EventStamp.parseMessagePack($0) })
        XCTAssertEqual(stamp.subscription, 300)
        XCTAssertEqual(stamp.publication, 9)
        XCTAssertEqual(stamp.timestamp, 1 << 40)
    }

    func testOptionsForTheNewWorkloads() throws {
        guard case .success(let options) = BenchOptions.parse(["--url", "rs://127.0.0.1:1", "--workload", "fanout",
                                                               "--match", "wildcard", "--subscriber-serializer", "msgpack"]) else {
            return XCTFail("valid options refused")
        }
        XCTAssertEqual(options.match.subscriptionURI(topic: options.topic), "bench.fanout..leaf")
        XCTAssertEqual(options.match.publicationURI(topic: options.topic), "bench.fanout.x.leaf")
        XCTAssertEqual(options.match.subscribeOptions(#"{"type":"shared","group":"g"}"#),
                       #"{"match":"wildcard","type":"shared","group":"g"}"#)
        XCTAssertEqual(options.subscriberURL(0).serializer, .msgpack)
        XCTAssertEqual(options.url.serializer, .json)
        guard case .failure(let error) = BenchOptions.parse(["--url", "rs://127.0.0.1:1", "--workload", "shared", "--topics", "10"]) else {
            return XCTFail("--topics with a shared group accepted")
        }
        XCTAssertEqual(error.description, "--topics 10: only with a broadcast workload (1to1, fanout, nton, latency)")
    }
}
