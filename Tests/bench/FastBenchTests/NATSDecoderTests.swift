// The NATS side of fastbench's receive path: control lines, MSG with and without reply subject,
// frames split across reads, payloads across the ring's seam, and what it refuses.

import BrokerWire
import XCTest
@testable import FastBench

final class NATSDecoderTests: XCTestCase {
    private func write(_ text: String, to ring: RingBuffer) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let region = ring.writableRegion()
            let count = min(region.count, bytes.count - offset)
            XCTAssertGreaterThan(count, 0, "ring full")
            region.copyBytes(from: bytes[offset..<offset + count])
            ring.didWrite(count)
            offset += count
        }
    }

    private func describe(_ frame: NATSFrame) -> String {
        switch frame {
        case .needMore: return "needMore"
        case .info: return "info"
        case .ping: return "ping"
        case .pong: return "pong"
        case .ok: return "ok"
        case .error(let text): return "error \(text)"
        case .message(let sid, let payload): return "msg \(sid) \(String(decoding: payload, as: UTF8.self))"
        case .failure(let reason): return "failure \(reason)"
        }
    }

    func testControlLinesAndMessages() {
        let ring = RingBuffer(capacity: 4096)
        var decoder = NATSDecoder(maxMessageBytes: 1 << 20)
        write("INFO {\"server_id\":\"x\"}\r\nPING\r\nPONG\r\n+OK\r\nMSG a.b 7 5\r\nhello\r\nMSG a.c 12 inbox.1 3\r\n[1,\r\n-ERR 'Unknown Protocol Operation'\r\n", to: ring)
        var seen: [String] = []
        while true {
            let frame = decoder.next(ring)
            if case .needMore = frame { break }
            seen.append(describe(frame))
        }
        XCTAssertEqual(seen, ["info", "ping", "pong", "ok", "msg 7 hello", "msg 12 [1,", "error -ERR 'Unknown Protocol Operation'"])
        XCTAssertEqual(ring.readableBytes, 0, "everything consumed")
        decoder.release()
    }

    func testMessageSplitAcrossReadsWaitsForItsPayload() {
        let ring = RingBuffer(capacity: 4096)
        var decoder = NATSDecoder(maxMessageBytes: 1 << 20)
        write("MSG t 1 11\r\n[123,", to: ring)
        XCTAssertEqual(describe(decoder.next(ring)), "needMore")
        write("45,\"\"]\r\nPI", to: ring)
        XCTAssertEqual(describe(decoder.next(ring)), "msg 1 [123,45,\"\"]")
        XCTAssertEqual(describe(decoder.next(ring)), "needMore")
        write("NG\r\n", to: ring)
        XCTAssertEqual(describe(decoder.next(ring)), "ping")
        decoder.release()
    }

    func testPayloadAcrossTheSeamIsCopiedWhole() {
        let ring = RingBuffer(capacity: 64)
        var decoder = NATSDecoder(maxMessageBytes: 1 << 20)
        write(String(repeating: "+OK\r\n", count: 10), to: ring)   // 50 bytes, consumed below
        for _ in 0..<10 { XCTAssertEqual(describe(decoder.next(ring)), "ok") }
        write("MSG s 3 20\r\n[9,8,\"xxxxxxxxxxxx\"]\r\n", to: ring)   // wraps at 64
        XCTAssertEqual(describe(decoder.next(ring)), "msg 3 [9,8,\"xxxxxxxxxxxx\"]")
        decoder.release()
    }

    func testMalformedAndOversizedAreRefused() {
        let ring = RingBuffer(capacity: 4096)
        var decoder = NATSDecoder(maxMessageBytes: 100)
        write("MSG onlysubject\r\n", to: ring)
        XCTAssertEqual(describe(decoder.next(ring)), "failure malformed MSG line")
        let second = RingBuffer(capacity: 4096)
        write("MSG s 1 1000\r\n", to: second)
        XCTAssertEqual(describe(decoder.next(second)), "failure MSG of 1000 bytes")
        let third = RingBuffer(capacity: 4096)
        write("HELLO\r\n", to: third)
        XCTAssertEqual(describe(decoder.next(third)), "failure unknown NATS operation starting with byte 72")
        decoder.release()
    }

    func testPayloadStampOfANATSMessage() throws {
        let stamp = try XCTUnwrap(Array(#"[1700000000000,42,"xx"]"#.utf8).withUnsafeBytes { EventStamp.parsePayload($0, subscription: 5) })
        XCTAssertEqual(stamp.timestamp, 1_700_000_000_000)
        XCTAssertEqual(stamp.publication, 42)
        XCTAssertEqual(stamp.subscription, 5)
        XCTAssertNil(Array("hello".utf8).withUnsafeBytes { EventStamp.parsePayload($0, subscription: 5) })
    }
}
