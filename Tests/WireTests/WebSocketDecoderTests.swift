// WebSocket decoding (RFC 6455 §5): masking, the three length forms, fragmentation with control frames
// in between, close frames, every protocol failure, and the zero-copy / scratch-buffer split.

import XCTest
@testable import BrokerWire

/// A WebSocket event with its payload copied out; failures compare by close code.
enum WebSocketOutput: Equatable, CustomStringConvertible {
    case message(WebSocketOpcode, [UInt8])
    case ping([UInt8])
    case pong
    case close(UInt16?, [UInt8])
    case failure(UInt16)

    var description: String {
        switch self {
        case .message(let op, let p): return "message(\(op), \(p.count) bytes)"
        case .ping(let p): return "ping(\(p))"
        case .pong: return "pong"
        case .close(let c, let r): return "close(\(c.map(String.init) ?? "nil"), \(String(decoding: r, as: UTF8.self)))"
        case .failure(let c): return "failure(\(c))"
        }
    }
}

/// Builds a client frame. Its masking is written here independently of the decoder's word-wise XOR,
/// and cross-checked against Autobahn's masker in `testMaskingMatchesAutobahn`.
func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
                 key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D], lengthForm: Int? = nil) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    let form = lengthForm ?? (payload.count <= 125 ? 7 : payload.count <= 0xFFFF ? 16 : 64)
    switch form {
    case 7: frame.append(maskBit | UInt8(payload.count))
    case 16: frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default:
        frame.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xFF)) }
    }
    if masked {
        frame += key
        frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    } else {
        frame += payload
    }
    return frame
}

final class WebSocketDecoderTests: XCTestCase {
    static func output(_ event: WebSocketEvent) -> WebSocketOutput? {
        switch event {
        case .needMore: return nil
        case .message(let op, let p): return .message(op, Array(p))
        case .ping(let p): return .ping(Array(p))
        case .pong: return .pong
        case .close(let code, let reason): return .close(code, Array(reason))
        case .failure(let code, _): return .failure(code)
        }
    }

    private func verifier(limit: Int) -> DecoderVerifier<WebSocketOutput> {
        DecoderVerifier(
            makeStep: {
                var decoder = WebSocketDecoder(maxMessageBytes: limit)
                return { ring in WebSocketDecoderTests.output(decoder.next(ring)) }
            },
            isTerminal: {
                switch $0 {
                case .failure, .close: return true
                default: return false
                }
            },
            returnsMemory: true)
    }

    private func decodeAll(_ bytes: [UInt8], limit: Int = 1 << 20) -> [WebSocketOutput] {
        verifier(limit: limit).decode(bytes, ring: RingBuffer(capacity: 1 << 16), chunkSizes: [max(bytes.count, 1)])
    }

    /// The failure event itself, for checking its reason text.
    private func failureReason(_ bytes: [UInt8], limit: Int = 1 << 20) -> String? {
        var decoder = WebSocketDecoder(maxMessageBytes: limit)
        let ring = RingBuffer(capacity: 1 << 16)
        let region = ring.writableRegion()
        for (i, b) in bytes.enumerated() { region[i] = b }
        ring.didWrite(bytes.count)
        while true {
            switch decoder.next(ring) {
            case .failure(_, let reason): return reason
            case .needMore: return nil
            default: continue
            }
        }
    }

    func testRFC6455MaskedHelloExample() {
        // RFC 6455 §5.7: "A single-frame masked text message".
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        XCTAssertEqual(decodeAll(frame), [.message(.text, Array("Hello".utf8))])
    }

    func testMaskingMatchesAutobahn() {
        // Expected bytes computed with Autobahn|Python 26.10.2:
        //   create_xor_masker(bytes([0x37,0xfa,0x21,0x3d]), 45).process(bytes(range(45))).hex()
        let autobahnMasked = "37fb233e33ff273a3ff32b363bf72f3227eb332e23ef372a2fe33b262be73f2217db031e13df071a1fd30b161b"
        var bytes = stride(from: 0, to: autobahnMasked.count, by: 2).map { i -> UInt8 in
            let start = autobahnMasked.index(autobahnMasked.startIndex, offsetBy: i)
            return UInt8(autobahnMasked[start..<autobahnMasked.index(start, offsetBy: 2)], radix: 16)!
        }
        let key = UInt32(littleEndian: 0x3D21_FA37)
        bytes.withUnsafeMutableBytes { WebSocketDecoder.unmask($0.baseAddress!, count: 45, key: key) }
        XCTAssertEqual(bytes, (0..<45).map { UInt8($0) })
        let frame = [0x82, 0x80 | 45, 0x37, 0xFA, 0x21, 0x3D] + clientFrame(2, (0..<45).map { UInt8($0) }).suffix(45)
        XCTAssertEqual(decodeAll(frame), [.message(.binary, (0..<45).map { UInt8($0) })])
    }

    func testStreamDecodesIdenticallyInEverySplit() {
        let text = Array(#"[16,1,{},"com.example.topic",["hello"]]"#.utf8)
        let medium = (0..<300).map { UInt8(($0 * 7) & 0xFF) }
        var stream: [UInt8] = []
        var expected: [WebSocketOutput] = []
        stream += clientFrame(1, text); expected.append(.message(.text, text))
        stream += clientFrame(2, medium, key: [1, 2, 3, 4]); expected.append(.message(.binary, medium))
        stream += clientFrame(9, [0xAA, 0xBB]); expected.append(.ping([0xAA, 0xBB]))
        // A fragmented text message with a ping and a pong between its fragments.
        stream += clientFrame(1, Array("frag-one|".utf8), fin: false)
        stream += clientFrame(9, Array("mid".utf8), key: [9, 8, 7, 6]); expected.append(.ping(Array("mid".utf8)))
        stream += clientFrame(0, Array("frag-two|".utf8), fin: false, key: [0, 0, 0, 0])
        stream += clientFrame(10, [1]); expected.append(.pong)
        stream += clientFrame(0, [], fin: false)
        stream += clientFrame(0, Array("frag-three".utf8), key: [0xFF, 0x00, 0xFF, 0x00])
        expected.append(.message(.text, Array("frag-one|frag-two|frag-three".utf8)))
        stream += clientFrame(2, []); expected.append(.message(.binary, []))
        stream += clientFrame(1, Array("seven".utf8), lengthForm: 16); expected.append(.message(.text, Array("seven".utf8)))
        stream += clientFrame(2, [5, 6, 7], lengthForm: 64); expected.append(.message(.binary, [5, 6, 7]))
        stream += clientFrame(8, [0x03, 0xE8] + Array("bye".utf8)); expected.append(.close(1000, Array("bye".utf8)))
        verifier(limit: 4096).verify(stream, expected: expected)
    }

    func testLengthForms() {
        let sizes = [0, 1, 125, 126, 127, 65535, 65536, 70_000]
        for size in sizes {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            XCTAssertEqual(decodeAll(clientFrame(2, payload), limit: 1 << 17), [.message(.binary, payload)], "size \(size)")
        }
        let frame16 = clientFrame(2, Array(repeating: 1, count: 126))
        XCTAssertEqual(Array(frame16[1..<4]), [0x80 | 126, 0, 126])
        let frame64 = clientFrame(2, Array(repeating: 1, count: 65536))
        XCTAssertEqual(Array(frame64[1..<10]), [0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0])
        // Non-minimal length encodings are accepted (RFC 6455 constrains senders only).
        XCTAssertEqual(decodeAll(clientFrame(1, [0x41], lengthForm: 64)), [.message(.text, [0x41])])
    }

    func testFragmentedMessageLargerThanTheRing() {
        let parts = (0..<5).map { i in (0..<100).map { UInt8(($0 + i) & 0xFF) } }
        var stream = clientFrame(2, parts[0], fin: false)
        for part in parts[1..<4] { stream += clientFrame(0, part, fin: false) }
        stream += clientFrame(0, parts[4])
        let got = verifier(limit: 500).decode(stream, ring: RingBuffer(capacity: 64), chunkSizes: [13])
        XCTAssertEqual(got, [.message(.binary, parts.flatMap { $0 })])
    }

    func testUnmaskedClientFrameFails1002() {
        XCTAssertEqual(decodeAll(clientFrame(1, Array("hi".utf8), masked: false)), [.failure(1002)])
        XCTAssertEqual(failureReason(clientFrame(1, [], masked: false)), "WebSocket: client frame is not masked")
    }

    func testReservedBitsFail1002() {
        for rsv: UInt8 in 1...7 {
            XCTAssertEqual(decodeAll(clientFrame(1, [1], rsv: rsv)), [.failure(1002)], "rsv \(rsv)")
        }
    }

    func testUnknownOpcodesFail1002() {
        for opcode: UInt8 in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            XCTAssertEqual(decodeAll(clientFrame(opcode, [])), [.failure(1002)], "opcode \(opcode)")
        }
        XCTAssertEqual(failureReason(clientFrame(0x0B, [])), "WebSocket: unknown opcode 11")
    }

    func testControlFrameRules() {
        XCTAssertEqual(decodeAll(clientFrame(9, Array(repeating: 0, count: 125))), [.ping(Array(repeating: 0, count: 125))])
        XCTAssertEqual(decodeAll(clientFrame(9, Array(repeating: 0, count: 126))), [.failure(1002)], "ping over 125 bytes")
        XCTAssertEqual(decodeAll(clientFrame(8, [0x03, 0xE8], lengthForm: 16)), [.failure(1002)],
                       "a control frame may only use the 7-bit length form")
        XCTAssertEqual(decodeAll(clientFrame(10, [], fin: false)), [.failure(1002)], "fragmented pong")
        XCTAssertEqual(decodeAll(clientFrame(8, [], fin: false)), [.failure(1002)], "fragmented close")
        // Only the first two bytes are needed to reject an oversize control frame.
        XCTAssertEqual(decodeAll([0x89, 0x80 | 126]), [.failure(1002)])
    }

    func testFragmentationSequenceErrors() {
        XCTAssertEqual(decodeAll(clientFrame(0, [1])), [.failure(1002)], "continuation with nothing started")
        XCTAssertEqual(decodeAll(clientFrame(1, [1], fin: false) + clientFrame(1, [2])), [.failure(1002)],
                       "new text frame inside a fragmented message")
        XCTAssertEqual(decodeAll(clientFrame(2, [1], fin: false) + clientFrame(2, [2], fin: false)), [.failure(1002)])
        XCTAssertEqual(decodeAll(clientFrame(1, [1]) + clientFrame(0, [2])), [.message(.text, [1]), .failure(1002)],
                       "continuation after a complete message")
    }

    func testMessageOverTheLimitFails1009FromTheHeader() {
        // Header only: the limit is enforced before the payload arrives.
        XCTAssertEqual(decodeAll(Array(clientFrame(2, Array(repeating: 0, count: 1001)).prefix(8)), limit: 1000), [.failure(1009)])
        XCTAssertEqual(decodeAll(clientFrame(2, Array(repeating: 0, count: 1000)), limit: 1000),
                       [.message(.binary, Array(repeating: 0, count: 1000))])
        // Fragments summing over the limit: the failing fragment's header decides.
        let over = clientFrame(1, Array(repeating: 0x61, count: 600), fin: false)
            + Array(clientFrame(0, Array(repeating: 0x61, count: 401)).prefix(8))
        XCTAssertEqual(decodeAll(over, limit: 1000), [.failure(1009)])
        let exact = clientFrame(1, Array(repeating: 0x61, count: 600), fin: false) + clientFrame(0, Array(repeating: 0x61, count: 400))
        XCTAssertEqual(decodeAll(exact, limit: 1000), [.message(.text, Array(repeating: 0x61, count: 1000))])
        // A 2^62-byte claim is over the limit, not a crash.
        let huge: [UInt8] = [0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(decodeAll(huge), [.failure(1009)])
    }

    func testSixtyFourBitLengthWithTopBitFails1002() {
        let frame: [UInt8] = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]
        XCTAssertEqual(decodeAll(frame), [.failure(1002)])
        XCTAssertEqual(decodeAll(Array(frame.prefix(9))), [], "top bit is only known once all 8 length bytes are in")
    }

    func testCloseFrames() {
        XCTAssertEqual(decodeAll(clientFrame(8, [])), [.close(nil, [])])
        XCTAssertEqual(decodeAll(clientFrame(8, [0x03])), [.failure(1002)], "1-byte close payload")
        for valid: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            XCTAssertEqual(decodeAll(clientFrame(8, [UInt8(valid >> 8), UInt8(valid & 0xFF)])), [.close(valid, [])], "code \(valid)")
        }
        for invalid: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            XCTAssertEqual(decodeAll(clientFrame(8, [UInt8(invalid >> 8), UInt8(invalid & 0xFF)])), [.failure(1002)], "code \(invalid)")
        }
        XCTAssertEqual(failureReason(clientFrame(8, [0x03, 0xED])), "WebSocket: invalid close code 1005")
        // The reason must be UTF-8 (RFC 6455 §5.5.1, §8.1): otherwise 1007.
        XCTAssertEqual(decodeAll(clientFrame(8, [0x03, 0xE8] + Array("café".utf8))), [.close(1000, Array("café".utf8))])
        for invalid: [UInt8] in [[0xFF], [0x61, 0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            XCTAssertEqual(decodeAll(clientFrame(8, [0x03, 0xE8] + invalid)), [.failure(1007)], "reason \(invalid)")
        }
        XCTAssertEqual(failureReason(clientFrame(8, [0x03, 0xE8, 0xFF])), "WebSocket: close frame reason is not valid UTF-8")
        // Nothing after a close is decoded.
        XCTAssertEqual(decodeAll(clientFrame(8, [0x03, 0xE9]) + clientFrame(1, [0x41])), [.close(1001, [])])
    }

    func testFailureIsStickyAndDoesNotConsume() {
        var decoder = WebSocketDecoder(maxMessageBytes: 100)
        let ring = RingBuffer(capacity: 64)
        let bytes = clientFrame(1, [1], masked: false)
        let region = ring.writableRegion()
        for (i, b) in bytes.enumerated() { region[i] = b }
        ring.didWrite(bytes.count)
        for _ in 0..<3 {
            guard case .failure(1002, _) = decoder.next(ring) else { return XCTFail("expected sticky 1002") }
        }
    }

    func testSingleFrameMessageIsZeroCopyAndSeamFrameUsesReusedScratch() {
        var decoder = WebSocketDecoder(maxMessageBytes: 1000)
        let ring = RingBuffer(capacity: 64, startingAt: 0)
        func put(_ bytes: [UInt8]) {
            var done = 0
            while done < bytes.count {
                let region = ring.writableRegion()
                let n = min(region.count, bytes.count - done)
                for i in 0..<n { region[i] = bytes[done + i] }
                ring.didWrite(n)
                done += n
            }
        }
        let ringStart = ring.writableRegion().baseAddress!
        put(clientFrame(2, Array(repeating: 7, count: 40)))
        guard case .message(_, let first) = decoder.next(ring) else { return XCTFail("expected a message") }
        XCTAssertEqual(first.baseAddress, ringStart + 6, "contiguous frame: payload is the ring's own bytes")
        XCTAssertEqual(Array(first), Array(repeating: 7, count: 40))
        XCTAssertEqual(decoderNeedsMore(&decoder, ring), true)
        // The next frame starts at position 46 and wraps the 64-byte seam.
        put(clientFrame(2, Array(repeating: 8, count: 30)))
        guard case .message(_, let second) = decoder.next(ring) else { return XCTFail("expected a message") }
        let inRing = second.baseAddress! >= UnsafeMutableRawPointer(ringStart) && second.baseAddress! < ringStart + 64
        XCTAssertFalse(inRing, "a frame across the seam is copied out")
        XCTAssertEqual(Array(second), Array(repeating: 8, count: 30))
        XCTAssertEqual(decoderNeedsMore(&decoder, ring), true)
        put(clientFrame(2, Array(repeating: 9, count: 50)))   // starts at 46 + 36 = 82 ≡ 18, ends at 74 ≡ 10: wraps again
        guard case .message(_, let third) = decoder.next(ring) else { return XCTFail("expected a message") }
        XCTAssertEqual(Array(third), Array(repeating: 9, count: 50))
        if third.baseAddress! < ringStart || third.baseAddress! >= ringStart + 64 {
            XCTAssertEqual(third.baseAddress, second.baseAddress, "the scratch buffer is reused")
        }
    }

    private func decoderNeedsMore(_ decoder: inout WebSocketDecoder, _ ring: RingBuffer) -> Bool {
        if case .needMore = decoder.next(ring) { return true }
        return false
    }

    func testServerFraming() {
        var header = [UInt8](repeating: 0, count: WebSocketFraming.maxHeaderSize)
        func write(_ opcode: WebSocketOpcode, _ length: Int) -> [UInt8] {
            let n = header.withUnsafeMutableBytes { WebSocketFraming.writeHeader(opcode: opcode, payloadLength: length, to: $0.baseAddress!) }
            return Array(header[0..<n])
        }
        XCTAssertEqual(write(.text, 5), [0x81, 5])
        XCTAssertEqual(write(.binary, 125), [0x82, 125])
        XCTAssertEqual(write(.binary, 126), [0x82, 126, 0, 126])
        XCTAssertEqual(write(.text, 65535), [0x81, 126, 0xFF, 0xFF])
        XCTAssertEqual(write(.text, 65536), [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(write(.pong, 3), [0x8A, 3])
        XCTAssertEqual(WebSocketFraming.closeFrame(code: 1000, reason: "bye"), [0x88, 5, 0x03, 0xE8, 0x62, 0x79, 0x65])
        let long = WebSocketFraming.closeFrame(code: 1002, reason: String(repeating: "é", count: 100))
        XCTAssertEqual(long[1], 2 + 122, "cut to 61 two-byte characters, within 125 bytes")
        XCTAssertEqual(String(decoding: long[4...], as: UTF8.self), String(repeating: "é", count: 61))
    }
}
