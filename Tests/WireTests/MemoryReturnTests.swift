// Memory returns (issue 10) through the decoders, with the connection's 16 KiB ring: a declared
// length reserves nothing until its bytes arrive; a ring that held a 1 MiB frame and the buffer
// that reassembled a fragmented message are given back once the message is consumed, and the
// reassembly never reserves past the message limit; medium traffic does not reallocate per message.
// Frames larger than the ring are also fed in every split (one byte at a time, random, across the seam).

import XCTest
@testable import BrokerWire

final class MemoryReturnTests: XCTestCase {
    /// Connection's receive ring.
    private static let initial = 16 * 1024

    /// Feeds `stream` as libuv reads would (up to `readSize` bytes into the writable region), running
    /// `next` after each read until it returns nil (needMore); after each needMore checks that the
    /// ring holds no more than twice the bytes pending (or its retained bound) and calls `idle`.
    private func feed<Output>(_ stream: [UInt8], ring: RingBuffer, readSize: Int, next: () -> Output?,
                              idle: () -> Void = {}, file: StaticString = #filePath, line: UInt = #line) -> [Output] {
        var outputs: [Output] = []
        var position = 0
        while position < stream.count {
            let region = ring.writableRegion()
            XCTAssertGreaterThan(region.count, 0, "needMore with a full ring", file: file, line: line)
            if region.count == 0 { break }
            let n = min(region.count, readSize, stream.count - position)
            stream.withUnsafeBytes { region.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
            ring.didWrite(n)
            position += n
            while let output = next() { outputs.append(output) }
            XCTAssertLessThanOrEqual(ring.capacity, max(MemoryReturnTests.initial * RingBuffer.retainedGrowthFactor, 2 * ring.readableBytes),
                                     "ring reserved ahead of the \(ring.readableBytes) bytes received", file: file, line: line)
            idle()
        }
        return outputs
    }

    private func webSocketHeader(opcode: UInt8, fin: Bool = true, declaredLength: Int) -> [UInt8] {
        var header: [UInt8] = [(fin ? 0x80 : 0) | opcode, 0x80 | 127]
        for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8((declaredLength >> shift) & 0xFF)) }
        return header + [0, 0, 0, 0]   // zero masking key: the payload goes as is
    }

    func testWebSocketDeclaredMegabyteWithTenBytesReservesNothing() {
        var decoder = WebSocketDecoder(maxMessageBytes: 2 << 20)
        let ring = RingBuffer(capacity: MemoryReturnTests.initial)
        let stream = webSocketHeader(opcode: 2, declaredLength: 1 << 20) + Array(repeating: 7, count: 10)
        let got = feed(stream, ring: ring, readSize: 1 << 16, next: { WebSocketDecoderTests.output(decoder.next(ring)) })
        XCTAssertEqual(got, [])
        XCTAssertEqual(ring.capacity, MemoryReturnTests.initial, "a declared 1 MiB frame with 10 bytes received grew the ring")
        XCTAssertLessThanOrEqual(decoder.scratchCapacity, FrameScratch.minimumCapacity)
    }

    func testRawSocketDeclaredMegabyteWithTenBytesReservesNothing() {
        var decoder = RawSocketDecoder(maxMessageBytes: 2 << 20)
        let ring = RingBuffer(capacity: MemoryReturnTests.initial)
        let stream: [UInt8] = [0x7F, 0xF1, 0, 0, 0, 0x10, 0, 0] + Array(repeating: 7, count: 10)
        let got = feed(stream, ring: ring, readSize: 1 << 16, next: { RawSocketOutput(decoder.next(ring)) })
        XCTAssertEqual(got, [.hello(serializer: 1, exponent: 15)])
        XCTAssertEqual(ring.capacity, MemoryReturnTests.initial, "a declared 1 MiB frame with 10 bytes received grew the ring")
        XCTAssertEqual(decoder.scratchCapacity, 0)
    }

    func testWebSocketRingThatHeldAMegabyteFrameReturnsToItsInitialCapacity() {
        var decoder = WebSocketDecoder(maxMessageBytes: 2 << 20)
        let ring = RingBuffer(capacity: MemoryReturnTests.initial)
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var peak = 0
        let got = feed(webSocketHeader(opcode: 2, declaredLength: payload.count) + payload + clientFrame(1, Array("after".utf8)),
                       ring: ring, readSize: 1 << 16, next: { WebSocketDecoderTests.output(decoder.next(ring)) },
                       idle: { peak = max(peak, ring.capacity) })
        XCTAssertEqual(got, [.message(.binary, payload), .message(.text, Array("after".utf8))])
        XCTAssertEqual(peak, 2 << 20, "the frame (1 MiB + header) did make the ring grow")
        XCTAssertEqual(ring.capacity, MemoryReturnTests.initial, "the ring kept its 1 MiB after the frame was consumed")
    }

    func testRawSocketRingThatHeldAMegabyteFrameReturnsToItsInitialCapacity() {
        var decoder = RawSocketDecoder(maxMessageBytes: 2 << 20)
        let ring = RingBuffer(capacity: MemoryReturnTests.initial)
        let payload = (0..<((1 << 20) - 4)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var peak = 0
        let got = feed([0x7F, 0xF1, 0, 0] + rawSocketFrame(.message, payload), ring: ring, readSize: 1 << 16,
                       next: { RawSocketOutput(decoder.next(ring)) }, idle: { peak = max(peak, ring.capacity) })
        XCTAssertEqual(got, [.hello(serializer: 1, exponent: 15), .message(payload)])
        XCTAssertEqual(peak, 1 << 20)
        XCTAssertEqual(ring.capacity, MemoryReturnTests.initial, "the ring kept its 1 MiB after the frame was consumed")
        XCTAssertEqual(decoder.scratchCapacity, 0)
    }

    /// 1.2 MB in three fragments of 400 kB with a limit of exactly 1.2 MB: doubling the reassembly
    /// buffer would reserve 1.6 MB; it stops at the limit, and is freed once the message is consumed.
    func testFragmentedMessageIsReassembledWithinTheLimitAndReleased() {
        let part = 400_000
        var decoder = WebSocketDecoder(maxMessageBytes: 3 * part)
        let ring = RingBuffer(capacity: MemoryReturnTests.initial)
        let parts = (0..<3).map { i in (0..<part).map { UInt8(truncatingIfNeeded: $0 &+ i) } }
        let frames = [clientFrame(2, parts[0], fin: false), clientFrame(9, [1, 2]),
                      clientFrame(0, parts[1], fin: false), clientFrame(0, parts[2])]
        var peakScratch = 0
        var got: [WebSocketOutput] = []
        for frame in frames {   // a pause after each frame: the ring shrinks between fragments
            got += feed(frame, ring: ring, readSize: 1 << 16, next: {
                let output = WebSocketDecoderTests.output(decoder.next(ring))
                peakScratch = max(peakScratch, decoder.scratchCapacity)   // the message's payload is still in it
                return output
            })
            XCTAssertEqual(ring.capacity, MemoryReturnTests.initial)
        }
        XCTAssertEqual(got, [.ping([1, 2]), .message(.binary, parts.flatMap { $0 })])
        XCTAssertLessThanOrEqual(peakScratch, 3 * part + FrameScratch.minimumCapacity, "reassembly reserved past max_message_bytes")
        XCTAssertEqual(decoder.scratchCapacity, FrameScratch.minimumCapacity, "only the control-frame scratch is left")
        XCTAssertEqual(ring.capacity, MemoryReturnTests.initial)
    }

    /// Hysteresis: small fragmented messages and 20 kB messages (a 32 KiB ring) reuse their
    /// buffers instead of freeing and reallocating them per message.
    func testSteadyMediumTrafficKeepsItsBuffers() {
        var decoder = WebSocketDecoder(maxMessageBytes: 1 << 20)
        let ring = RingBuffer(capacity: MemoryReturnTests.initial)
        let medium = Array(repeating: UInt8(3), count: 20_000)
        let fragmented = clientFrame(1, Array(repeating: 0x61, count: 1000), fin: false) + clientFrame(0, Array(repeating: 0x62, count: 1000))
        var storage: UnsafeMutableRawPointer?
        var scratch = 0
        for round in 0..<40 {
            let got = feed(clientFrame(2, medium) + fragmented, ring: ring, readSize: 1 << 16,
                           next: { WebSocketDecoderTests.output(decoder.next(ring)) })
            XCTAssertEqual(got.count, 2)
            XCTAssertEqual(ring.capacity, 32 * 1024, "round \(round)")
            if round == 0 { storage = ring.writableRegion().baseAddress; scratch = decoder.scratchCapacity }
            XCTAssertEqual(ring.writableRegion().baseAddress, storage, "round \(round): the ring was reallocated")
            XCTAssertEqual(decoder.scratchCapacity, scratch, "round \(round)")
        }
        XCTAssertLessThanOrEqual(scratch, 2 * 1024 + FrameScratch.minimumCapacity)
    }

    func testLargeFramesDecodeIdenticallyInEverySplit() {
        let big = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        let parts = (0..<3).map { i in (0..<700).map { UInt8(truncatingIfNeeded: $0 &+ 5 * i) } }
        var stream = clientFrame(2, big)
        var expected: [WebSocketOutput] = [.message(.binary, big)]
        stream += clientFrame(1, Array("small".utf8)); expected.append(.message(.text, Array("small".utf8)))
        stream += clientFrame(2, parts[0], fin: false) + clientFrame(9, [9]) + clientFrame(0, parts[1], fin: false)
        stream += clientFrame(0, parts[2]); expected += [.ping([9]), .message(.binary, parts.flatMap { $0 })]
        stream += clientFrame(2, big, key: [1, 2, 3, 4]); expected.append(.message(.binary, big))
        let webSocket = DecoderVerifier<WebSocketOutput>(
            makeStep: {
                var decoder = WebSocketDecoder(maxMessageBytes: 4096)
                return { WebSocketDecoderTests.output(decoder.next($0)) }
            },
            isTerminal: { if case .failure = $0 { return true } else { return false } },
            returnsMemory: true)
        webSocket.verify(stream, expected: expected, randomRuns: 10)

        var rawStream: [UInt8] = [0x7F, 0xF1, 0, 0]
        var rawExpected: [RawSocketOutput] = [.hello(serializer: 1, exponent: 15)]
        for payload in [big, [1, 2, 3], parts[0], big] {
            rawStream += rawSocketFrame(.message, payload); rawExpected.append(.message(payload))
        }
        let rawSocket = DecoderVerifier<RawSocketOutput>(
            makeStep: {
                var decoder = RawSocketDecoder(maxMessageBytes: 4096)
                return { RawSocketOutput(decoder.next($0)) }
            },
            isTerminal: { if case .failure = $0 { return true } else { return false } },
            returnsMemory: true)
        rawSocket.verify(rawStream, expected: rawExpected, randomRuns: 10)
    }
}
