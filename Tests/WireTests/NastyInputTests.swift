// Hostile bytes through every parser: the fuzz seed corpora (fuzz/<name>/corpus, whose first two
// bytes are the fuzz entry's ring offset and chunk size), every truncation of valid streams, huge
// lengths and seeded random garbage. Each must end in a failure or needMore, never crash, and decode
// the same however it is split.

import TestSupport
import XCTest
@testable import BrokerWire

final class NastyInputTests: XCTestCase {
    private func corpus(_ name: String) throws -> [(String, [UInt8])] {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/\(name)/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertGreaterThan(files.count, 5, "corpus \(name) is missing")
        return try files.map { file in
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(file)))
            return (file, Array(bytes.dropFirst(2)))
        }
    }

    private var rawSocket: DecoderVerifier<RawSocketOutput> {
        DecoderVerifier(makeStep: {
            var decoder = RawSocketDecoder(maxMessageBytes: 4096)
            return { RawSocketOutput(decoder.next($0)) }
        }, isTerminal: { if case .failure = $0 { return true } else { return false } })
    }

    private var webSocket: DecoderVerifier<WebSocketOutput> {
        DecoderVerifier(makeStep: {
            var decoder = WebSocketDecoder(maxMessageBytes: 4096)
            return { WebSocketDecoderTests.output(decoder.next($0)) }
        }, isTerminal: {
            switch $0 {
            case .failure, .close: return true
            default: return false
            }
        })
    }

    private var http: DecoderVerifier<HTTPOutput> {
        DecoderVerifier(makeStep: {
            var parser = HTTPRequestParser(maxHeadBytes: 1024)
            return { ring in
                let output = HTTPOutput(parser.next(ring))
                if case .head(let method, let target, let version, let headers)? = output {
                    // Every head also goes through the upgrade check, which must not trap either.
                    let head = HTTPRequestHead(method: method, target: target, version: version,
                                               headers: headers.map { (name: $0[0], value: $0[1]) })
                    if case .success(let request) = WebSocketHandshake.parseUpgrade(head) {
                        XCTAssertEqual(WebSocketHandshake.acceptValue(forKey: request.key).count, 28)
                    }
                }
                return output
            }
        }, isTerminal: { if case .failure = $0 { return true } else { return false } })
    }

    func testRawSocketCorpus() throws {
        var failures = 0
        for (name, stream) in try corpus("rawsocket") {
            let outputs = rawSocket.verifyConsistent(stream)
            XCTAssertLessThanOrEqual(outputs.count, stream.count / 4 + 1, name)
            if case .failure? = outputs.last { failures += 1 }
        }
        XCTAssertGreaterThanOrEqual(failures, 7, "the corpus's malformed seeds fail")
    }

    func testWebSocketCorpus() throws {
        var failures = 0
        for (name, stream) in try corpus("websocket") {
            let outputs = webSocket.verifyConsistent(stream)
            XCTAssertLessThanOrEqual(outputs.count, stream.count / 6 + 1, name)
            if case .failure? = outputs.last { failures += 1 }
        }
        XCTAssertGreaterThanOrEqual(failures, 10, "the corpus's malformed seeds fail")
    }

    func testHTTPCorpus() throws {
        var failures = 0
        for (_, stream) in try corpus("http") {
            if case .failure? = http.verifyConsistent(stream).last { failures += 1 }
        }
        XCTAssertGreaterThanOrEqual(failures, 4, "the corpus's malformed seeds fail")
    }

    func testEveryTruncationOfValidStreamsOnlyWaits() {
        let rawStream: [UInt8] = [0x7F, 0x31, 0, 0] + rawSocketFrame(.message, Array("abc".utf8))
            + rawSocketFrame(.ping, [1, 2]) + rawSocketFrame(.message, Array(repeating: 7, count: 140))
        let rawFull = rawSocket.decode(rawStream, ring: RingBuffer(capacity: 64), chunkSizes: [rawStream.count])
        XCTAssertEqual(rawFull.count, 4)
        for cut in 0..<rawStream.count {
            let got = rawSocket.decode(Array(rawStream.prefix(cut)), ring: RingBuffer(capacity: 64), chunkSizes: [cut])
            XCTAssertEqual(got, Array(rawFull.prefix(got.count)), "cut at \(cut)")
            XCTAssertLessThan(got.count, rawFull.count, "cut at \(cut) cannot complete the last frame")
        }
        let wsStream = clientFrame(1, Array("abc".utf8), fin: false) + clientFrame(9, [1]) + clientFrame(0, Array(repeating: 5, count: 200))
            + clientFrame(2, [1, 2, 3], lengthForm: 64)
        let wsFull = webSocket.decode(wsStream, ring: RingBuffer(capacity: 64), chunkSizes: [wsStream.count])
        XCTAssertEqual(wsFull.count, 3)
        for cut in 0..<wsStream.count {
            let got = webSocket.decode(Array(wsStream.prefix(cut)), ring: RingBuffer(capacity: 64), chunkSizes: [cut])
            XCTAssertEqual(got, Array(wsFull.prefix(got.count)), "cut at \(cut)")
            XCTAssertLessThan(got.count, wsFull.count, "cut at \(cut)")
        }
        let httpStream = Array(HTTPUpgradeTests.upgradeRequest.utf8)
        for cut in 0..<httpStream.count {
            XCTAssertEqual(http.decode(Array(httpStream.prefix(cut)), ring: RingBuffer(capacity: 64), chunkSizes: [cut]), [], "cut at \(cut)")
        }
    }

    func testHugeLengthsFailBeforeBuffering() {
        for length in [4097, 0xFF_FFFF] {
            let stream: [UInt8] = [0x7F, 0xF1, 0, 0, 0, UInt8(length >> 16), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            let ring = RingBuffer(capacity: 64)
            XCTAssertEqual(rawSocket.decode(stream, ring: ring, chunkSizes: [8]).last, .failure(.frameTooLarge(length: length, limit: 4096)))
            XCTAssertEqual(ring.capacity, 64, "no buffer grown for a frame that will be refused")
        }
        for lengthBytes: [UInt8] in [[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0x10, 1]] {
            let ring = RingBuffer(capacity: 64)
            XCTAssertEqual(webSocket.decode([0x82, 0xFF] + lengthBytes, ring: ring, chunkSizes: [1]), [.failure(1009)])
            XCTAssertEqual(ring.capacity, 64)
        }
    }

    func testSeededGarbage() {
        var generator = SplitMix64(seed: 0xBAD_F00D)
        for _ in 0..<150 {
            let count = Int.random(in: 0...300, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Half the time start with a valid prefix so the garbage reaches the frame decoders.
            let valid = Bool.random(using: &generator)
            rawSocket.verifyConsistent(valid ? [0x7F, 0x21, 0, 0] + bytes : bytes)
            if valid && !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x0F); if bytes.count > 1 { bytes[1] |= 0x80 } }
            webSocket.verifyConsistent(bytes)
            http.verifyConsistent(valid ? Array("GET / HTTP/1.1\r\n".utf8) + bytes : bytes)
        }
    }
}
