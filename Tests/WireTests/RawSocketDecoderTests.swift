// RawSocket: the hello (magic, reserved octets, every length exponent), message/ping/pong frames fed in
// every split, the frame size limit, the 25th length bit rule, and the sending-side helpers.

import XCTest
@testable import BrokerWire

/// A RawSocket event with its payload copied out.
enum RawSocketOutput: Equatable, CustomStringConvertible {
    case hello(serializer: UInt8, exponent: UInt8)
    case message([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case failure(RawSocketFailure)

    var description: String {
        switch self {
        case .hello(let s, let e): return "hello(\(s), \(e))"
        case .message(let p): return "message(\(p.count) bytes)"
        case .ping(let p): return "ping(\(p.count) bytes)"
        case .pong(let p): return "pong(\(p.count) bytes)"
        case .failure(let f): return "failure(\(f))"
        }
    }

    init?(_ event: RawSocketEvent) {
        switch event {
        case .needMore: return nil
        case .hello(let h): self = .hello(serializer: h.serializer, exponent: h.lengthExponent)
        case .message(let p): self = .message(Array(p))
        case .ping(let p): self = .ping(Array(p))
        case .pong(let p): self = .pong(Array(p))
        case .failure(let f): self = .failure(f)
        }
    }
}

func rawSocketFrame(_ type: RawSocketFrameType, _ payload: [UInt8]) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 4)
    header.withUnsafeMutableBytes { RawSocketFraming.writeHeader(type: type, length: payload.count, to: $0.baseAddress!) }
    return header + payload
}

final class RawSocketDecoderTests: XCTestCase {
    private func verifier(limit: Int) -> DecoderVerifier<RawSocketOutput> {
        DecoderVerifier(
            makeStep: {
                var decoder = RawSocketDecoder(maxMessageBytes: limit)
                return { ring in RawSocketOutput(decoder.next(ring)) }
            },
            isTerminal: { if case .failure = $0 { return true } else { return false } },
            returnsMemory: true)
    }

    /// Decodes `bytes` given at once into a large ring.
    private func decodeAll(_ bytes: [UInt8], limit: Int = 1 << 16) -> [RawSocketOutput] {
        verifier(limit: limit).decode(bytes, ring: RingBuffer(capacity: 1 << 16), chunkSizes: [bytes.count])
    }

    func testStreamOfFramesDecodesIdenticallyInEverySplit() {
        let payloads: [[UInt8]] = [
            Array(#"[1,"realm1",{}]"#.utf8),
            [],
            (0..<200).map { UInt8($0 % 251) },
            (0..<130).map { UInt8(255 - $0) },
        ]
        var stream: [UInt8] = [0x7F, 0xF1, 0, 0]
        var expected: [RawSocketOutput] = [.hello(serializer: 1, exponent: 15)]
        stream += rawSocketFrame(.message, payloads[0]); expected.append(.message(payloads[0]))
        stream += rawSocketFrame(.ping, payloads[1]); expected.append(.ping(payloads[1]))
        stream += rawSocketFrame(.message, payloads[2]); expected.append(.message(payloads[2]))
        stream += rawSocketFrame(.pong, payloads[3]); expected.append(.pong(payloads[3]))
        stream += rawSocketFrame(.ping, [1, 2, 3]); expected.append(.ping([1, 2, 3]))
        stream += rawSocketFrame(.message, payloads[0]); expected.append(.message(payloads[0]))
        verifier(limit: 1024).verify(stream, expected: expected)
    }

    func testFrameLargerThanTheRingGrowsIt() {
        let payload = (0..<5000).map { UInt8($0 & 0xFF) }
        let stream = [0x7F, 0x22, 0, 0] + rawSocketFrame(.message, payload)
        let ring = RingBuffer(capacity: 64)
        let got = verifier(limit: 8192).decode(stream, ring: ring, chunkSizes: [100])
        XCTAssertEqual(got, [.hello(serializer: 2, exponent: 2), .message(payload)])
        XCTAssertEqual(ring.capacity, 64, "grown while the frame arrived, given back once it was consumed")
    }

    func testHelloWithEveryExponentAndSerializer() {
        for exponent: UInt8 in 0...15 {
            for serializer: UInt8 in [1, 2, 3, 5, 15] {
                let got = decodeAll([0x7F, exponent << 4 | serializer, 0, 0])
                XCTAssertEqual(got, [.hello(serializer: serializer, exponent: exponent)])
            }
            XCTAssertEqual(RawSocketHello(serializer: 1, lengthExponent: exponent).maxMessageBytes, 512 << Int(exponent))
        }
        XCTAssertEqual(RawSocketHello(serializer: 1, lengthExponent: 15).maxMessageBytes, 16 * 1024 * 1024)
    }

    func testHelloWithBadMagicFailsOnTheFirstByte() {
        XCTAssertEqual(decodeAll([0x47]), [.failure(.badMagic(0x47))], "'G' of an HTTP GET fails at once")
        XCTAssertEqual(decodeAll(Array("GET / HTTP/1.1\r\n".utf8)), [.failure(.badMagic(0x47))])
        XCTAssertEqual(decodeAll([0x7E, 0x21, 0, 0]), [.failure(.badMagic(0x7E))])
        XCTAssertTrue(RawSocketFailure.badMagic(0x47).description.contains("0x47"))
    }

    func testHelloWithReservedOctetsFails() {
        XCTAssertEqual(decodeAll([0x7F, 0x21, 1, 0]), [.failure(.reservedBits)])
        XCTAssertEqual(decodeAll([0x7F, 0x21, 0, 0x80]), [.failure(.reservedBits)])
        XCTAssertEqual(decodeAll([0x7F, 0x21, 0]), [], "3 bytes: still waiting")
    }

    func testFailureIsSticky() {
        var decoder = RawSocketDecoder(maxMessageBytes: 100)
        let ring = RingBuffer(capacity: 64)
        let bytes: [UInt8] = [0x7F, 0x21, 0, 0, 0x03, 0, 0, 0]
        let region = ring.writableRegion()
        for (i, b) in bytes.enumerated() { region[i] = b }
        ring.didWrite(bytes.count)
        guard case .hello = decoder.next(ring) else { return XCTFail("expected hello") }
        for _ in 0..<3 {
            guard case .failure(.unknownFrameType(3)) = decoder.next(ring) else { return XCTFail("expected sticky failure") }
        }
    }

    func testFrameHeaderFailures() {
        let hello: [UInt8] = [0x7F, 0x11, 0, 0]
        for type: UInt8 in 3...7 {
            XCTAssertEqual(decodeAll(hello + [type, 0, 0, 1, 0x41]), [.hello(serializer: 1, exponent: 1), .failure(.unknownFrameType(type))])
        }
        XCTAssertEqual(decodeAll(hello + [0x10, 0, 0, 0]), [.hello(serializer: 1, exponent: 1), .failure(.frameReservedBits(0x10))])
        XCTAssertEqual(decodeAll(hello + [0x80, 0, 0, 0]), [.hello(serializer: 1, exponent: 1), .failure(.frameReservedBits(0x80))])
    }

    func testOversizeFrameFailsFromTheHeaderAlone() {
        let hello: [UInt8] = [0x7F, 0x11, 0, 0]
        // Only the 4-byte prefix is sent: the limit is enforced before any payload arrives.
        XCTAssertEqual(decodeAll(hello + [0x00, 0, 4, 1], limit: 1024),
                       [.hello(serializer: 1, exponent: 1), .failure(.frameTooLarge(length: 1025, limit: 1024))])
        XCTAssertEqual(decodeAll(hello + [0x01, 0xFF, 0xFF, 0xFF], limit: 1024),
                       [.hello(serializer: 1, exponent: 1), .failure(.frameTooLarge(length: 0xFF_FFFF, limit: 1024))])
        let exact = (0..<1024).map { UInt8($0 & 0x7F) }
        XCTAssertEqual(decodeAll(hello + rawSocketFrame(.message, exact), limit: 1024),
                       [.hello(serializer: 1, exponent: 1), .message(exact)])
    }

    func testTwentyFifthLengthBitMeansExactly16MiB() {
        let hello: [UInt8] = [0x7F, 0xF1, 0, 0]
        let sixteenMiB = 1 << 24
        // X with non-zero low bits is malformed.
        XCTAssertEqual(decodeAll(hello + [0x08, 0, 0, 1], limit: sixteenMiB),
                       [.hello(serializer: 1, exponent: 15), .failure(.extendedLengthMisused(lowBits: 1))])
        XCTAssertEqual(decodeAll(hello + [0x08, 0x80, 0, 0], limit: sixteenMiB),
                       [.hello(serializer: 1, exponent: 15), .failure(.extendedLengthMisused(lowBits: 0x80_0000))])
        // X on its own is 16 MiB: over a limit of 16 MiB - 1 (rounded down to the announceable
        // 8 MiB), accepted at 16 MiB.
        XCTAssertEqual(decodeAll(hello + [0x08, 0, 0, 0], limit: sixteenMiB - 1),
                       [.hello(serializer: 1, exponent: 15), .failure(.frameTooLarge(length: sixteenMiB, limit: sixteenMiB / 2))])
        var payload = [UInt8](repeating: 0x5A, count: sixteenMiB)
        payload[0] = 1
        payload[sixteenMiB - 1] = 2
        let frame = rawSocketFrame(.message, payload)
        XCTAssertEqual(Array(frame[0..<4]), [0x08, 0, 0, 0], "writeHeader sets X for exactly 16 MiB")
        let got = verifier(limit: sixteenMiB).decode(hello + frame, ring: RingBuffer(capacity: 4096), chunkSizes: [1 << 20])
        XCTAssertEqual(got.count, 2)
        if case .message(let p)? = got.last {
            XCTAssertEqual(p.count, sixteenMiB)
            XCTAssertEqual(p.first, 1)
            XCTAssertEqual(p.last, 2)
        } else {
            XCTFail("expected the 16 MiB message, got \(got)")
        }
        // Without X, length bytes of zero mean an empty frame.
        XCTAssertEqual(decodeAll(hello + [0x00, 0, 0, 0]), [.hello(serializer: 1, exponent: 15), .message([])])
        // 2^24 - 1 fits in 24 bits and must not set X.
        var header = [UInt8](repeating: 0, count: 4)
        header.withUnsafeMutableBytes { RawSocketFraming.writeHeader(type: .pong, length: sixteenMiB - 1, to: $0.baseAddress!) }
        XCTAssertEqual(header, [0x02, 0xFF, 0xFF, 0xFF])
    }

    func testHandshakeRepliesAndExponentChoice() {
        XCTAssertEqual(RawSocketFraming.helloReply(serializer: 2, lengthExponent: 15), [0x7F, 0xF2, 0, 0])
        XCTAssertEqual(RawSocketFraming.helloError(.serializerUnsupported), [0x7F, 0x10, 0, 0])
        XCTAssertEqual(RawSocketFraming.helloError(.maxLengthUnacceptable), [0x7F, 0x20, 0, 0])
        XCTAssertEqual(RawSocketFraming.helloError(.reservedBitsUsed), [0x7F, 0x30, 0, 0])
        XCTAssertEqual(RawSocketFraming.helloError(.maxConnectionCount), [0x7F, 0x40, 0, 0])
        // Rounded down: never announce more than is accepted (512 B is the smallest announceable).
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 0), 0)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 512), 0)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 1023), 0)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 1024), 1)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 1 << 20), 11)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: (1 << 20) + 1), 11)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: (1 << 21) - 1), 11)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 1 << 24), 15)
        XCTAssertEqual(RawSocketFraming.lengthExponent(forMaxMessageBytes: 1 << 30), 15, "capped")
    }

    func testDecoderEnforcesExactlyTheAnnouncedLimit() {
        let decoder = RawSocketDecoder(maxMessageBytes: 1500)
        XCTAssertEqual(decoder.lengthExponent, 1)
        XCTAssertEqual(decoder.maxMessageBytes, 1024)
        let hello: [UInt8] = [0x7F, 0x11, 0, 0]
        let exact = [UInt8](repeating: 0x20, count: 1024)
        XCTAssertEqual(decodeAll(hello + rawSocketFrame(.message, exact), limit: 1500),
                       [.hello(serializer: 1, exponent: 1), .message(exact)], "exactly the announced size is accepted")
        XCTAssertEqual(decodeAll(hello + [0x00, 0x00, 0x04, 0x01], limit: 1500),
                       [.hello(serializer: 1, exponent: 1), .failure(.frameTooLarge(length: 1025, limit: 1024))])
    }

    func testPayloadPointsIntoTheRingWhenContiguous() {
        var decoder = RawSocketDecoder(maxMessageBytes: 1024)
        let ring = RingBuffer(capacity: 256)
        let stream: [UInt8] = [0x7F, 0x21, 0, 0] + rawSocketFrame(.message, [1, 2, 3])
        let region = ring.writableRegion()
        for (i, b) in stream.enumerated() { region[i] = b }
        ring.didWrite(stream.count)
        _ = decoder.next(ring)
        guard case .message(let p) = decoder.next(ring) else { return XCTFail("expected a message") }
        XCTAssertEqual(p.baseAddress, region.baseAddress! + 8, "zero-copy: the payload is the ring's own bytes")
    }
}
