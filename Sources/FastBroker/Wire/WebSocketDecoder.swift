// Receiving side of WebSocket (RFC 6455 §5, server role): a resumable decoder over the connection's
// RingBuffer that yields one event per message or control frame. Client frames are unmasked in
// place. A single-frame message lying contiguous in the ring is returned as a pointer into the ring
// (the common case, zero-copy); a frame straddling the seam, or a fragmented message, is assembled in
// a per-decoder scratch buffer that is reused. Nothing allocates per frame in the steady state.
// Memory follows the bytes received: the ring grows only as a large frame's bytes arrive, the
// reassembly buffer never exceeds the message limit, and both are given back once drained.

public enum WebSocketEvent {
    /// Every complete message has been returned; read more bytes into the ring.
    case needMore
    /// A whole text or binary message (fragments already joined).
    case message(opcode: WebSocketOpcode, payload: UnsafeMutableRawBufferPointer)
    /// A ping; the pong must echo this payload (at most 125 bytes).
    case ping(UnsafeMutableRawBufferPointer)
    case pong
    /// The peer's close frame; `code` is nil for an empty close payload. The decoder returns
    /// `.needMore` from then on (nothing may follow a close).
    case close(code: UInt16?, reason: UnsafeMutableRawBufferPointer)
    /// The stream is broken: send a close frame with `closeCode` (1002 protocol error, 1007 invalid
    /// UTF-8 in a close reason, 1009 too big) and drop the connection. The decoder returns the same failure from now on.
    case failure(closeCode: UInt16, reason: String)
}

/// One per connection, held by it and used only on its loop thread (copies would share the scratch buffers).
public struct WebSocketDecoder {
    /// Limit on a whole message (the sum of its fragments).
    public let maxMessageBytes: Int
    /// Bytes of the last returned frame, consumed at the start of the next call so its payload stays
    /// readable until then.
    private var pendingConsume = 0
    /// Opcode of the fragmented message being assembled in `scratch`, nil when none is.
    private var fragmentedOpcode: WebSocketOpcode?
    /// Bytes of that message assembled so far.
    private var fragmentedBytes = 0
    /// Set by a close frame; later bytes are ignored.
    private var closed = false
    /// Set once the stream is broken; sticky.
    private var failedCode: UInt16 = 0
    private var failedReason = ""
    /// Seam-straddling data frames and fragmented messages; at most `maxMessageBytes`.
    private let scratch: FrameScratch
    /// Seam-straddling control frames; separate so a ping between fragments keeps the message intact.
    private let controlScratch = FrameScratch(initialCapacity: 125)

    public init(maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0, "negative WebSocket limit")
        self.maxMessageBytes = maxMessageBytes
        self.scratch = FrameScratch(maxCapacity: maxMessageBytes)
    }

    /// Bytes held by the scratch buffers (for the receive-memory gauge).
    public var scratchCapacity: Int { scratch.capacity + controlScratch.capacity }

    /// Consumes the bytes of the frame it returned last time, then decodes the next event. A payload
    /// is valid until the next call.
    ///
    /// When a frame within the limit is larger than the ring, this grows the ring as its bytes
    /// arrive (`ring.growIfFull`) so the frame can arrive whole; `.needMore` therefore always
    /// means the ring has room for more bytes. On `.needMore` it also gives back memory that a
    /// large frame or message left (`ring.shrinkIfIdle`, and the scratch buffer when no message
    /// is being assembled in it and it is larger than the ring).
    public mutating func next(_ ring: RingBuffer) -> WebSocketEvent {
        let event = decodeNext(ring)
        if case .needMore = event {
            ring.shrinkIfIdle()
            if fragmentedOpcode == nil { scratch.release(ifOver: ring.capacity) }
        }
        return event
    }

    private mutating func decodeNext(_ ring: RingBuffer) -> WebSocketEvent {
        if failedCode != 0 { return .failure(closeCode: failedCode, reason: failedReason) }
        if pendingConsume > 0 {
            ring.consume(pendingConsume)
            pendingConsume = 0
        }
        // Intermediate fragments are absorbed into the scratch buffer without returning.
        while true {
            if closed { return .needMore }
            let readable = ring.readableBytes
            guard readable >= 2 else { return .needMore }
            let first = ring.byte(at: 0)
            let second = ring.byte(at: 1)

            // Everything decidable from the first two bytes is checked before waiting for more.
            guard first & 0x70 == 0 else {
                return fail(WebSocketCloseCode.protocolError, "reserved bits RSV1-3 set (first byte 0x\(hex(first)))")
            }
            guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
                return fail(WebSocketCloseCode.protocolError, "unknown opcode \(first & 0x0F)")
            }
            let fin = first & 0x80 != 0
            guard second & 0x80 != 0 else {
                return fail(WebSocketCloseCode.protocolError, "client frame is not masked")
            }
            let shortLength = Int(second & 0x7F)
            if opcode.isControl {
                guard fin else { return fail(WebSocketCloseCode.protocolError, "fragmented control frame (opcode \(opcode.rawValue))") }
                guard shortLength <= 125 else {
                    return fail(WebSocketCloseCode.protocolError, "control frame payload over 125 bytes")
                }
            } else if opcode == .continuation {
                guard fragmentedOpcode != nil else {
                    return fail(WebSocketCloseCode.protocolError, "continuation frame without a message in progress")
                }
            } else {
                guard fragmentedOpcode == nil else {
                    return fail(WebSocketCloseCode.protocolError, "new data frame while a fragmented message is in progress")
                }
            }

            var headerBytes = 2
            var length = UInt64(shortLength)
            if shortLength == 126 {
                guard readable >= 4 else { return .needMore }
                length = UInt64(ring.byte(at: 2)) << 8 | UInt64(ring.byte(at: 3))
                headerBytes = 4
            } else if shortLength == 127 {
                guard readable >= 10 else { return .needMore }
                length = 0
                for i in 2..<10 { length = length << 8 | UInt64(ring.byte(at: i)) }
                guard length >> 63 == 0 else {
                    return fail(WebSocketCloseCode.protocolError, "64-bit payload length has its most significant bit set")
                }
                headerBytes = 10
            }
            if !opcode.isControl {
                let already = opcode == .continuation ? fragmentedBytes : 0
                guard length <= UInt64(maxMessageBytes - already) else {
                    return fail(WebSocketCloseCode.messageTooBig,
                                "message of at least \(UInt64(already) + length) bytes exceeds the limit of \(maxMessageBytes) bytes")
                }
            }
            let payloadOffset = headerBytes + 4
            let payloadLength = Int(length)
            let frameBytes = payloadOffset + payloadLength
            guard readable >= frameBytes else {
                ring.growIfFull(forFrameOf: frameBytes)
                return .needMore
            }
            let key = UInt32(littleEndian: UInt32(ring.byte(at: headerBytes))
                | UInt32(ring.byte(at: headerBytes + 1)) << 8
                | UInt32(ring.byte(at: headerBytes + 2)) << 16
                | UInt32(ring.byte(at: headerBytes + 3)) << 24)

            switch opcode {
            case .text, .binary:
                if fin {
                    pendingConsume = frameBytes
                    let payload = unmaskedPayload(ring, at: payloadOffset, count: payloadLength, key: key, spill: scratch)
                    return .message(opcode: opcode, payload: payload)
                }
                let base = scratch.reserve(payloadLength, keeping: 0)
                ring.copyBytes(at: payloadOffset, count: payloadLength, into: base)
                WebSocketDecoder.unmask(base, count: payloadLength, key: key)
                fragmentedOpcode = opcode
                fragmentedBytes = payloadLength
                ring.consume(frameBytes)

            case .continuation:
                let base = scratch.reserve(fragmentedBytes + payloadLength, keeping: fragmentedBytes)
                ring.copyBytes(at: payloadOffset, count: payloadLength, into: base + fragmentedBytes)
                WebSocketDecoder.unmask(base + fragmentedBytes, count: payloadLength, key: key)
                fragmentedBytes += payloadLength
                ring.consume(frameBytes)
                if fin, let messageOpcode = fragmentedOpcode {
                    let total = fragmentedBytes
                    fragmentedOpcode = nil
                    fragmentedBytes = 0
                    return .message(opcode: messageOpcode, payload: UnsafeMutableRawBufferPointer(start: base, count: total))
                }

            case .ping:
                pendingConsume = frameBytes
                return .ping(unmaskedPayload(ring, at: payloadOffset, count: payloadLength, key: key, spill: controlScratch))

            case .pong:
                pendingConsume = frameBytes
                return .pong

            case .close:
                let payload = unmaskedPayload(ring, at: payloadOffset, count: payloadLength, key: key, spill: controlScratch)
                if payloadLength == 0 {
                    pendingConsume = frameBytes
                    closed = true
                    return .close(code: nil, reason: payload)
                }
                guard payloadLength >= 2 else {
                    return fail(WebSocketCloseCode.protocolError, "close frame payload of 1 byte (a code needs 2)")
                }
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                guard WebSocketCloseCode.isValidOnWire(code) else {
                    return fail(WebSocketCloseCode.protocolError, "invalid close code \(code)")
                }
                let reason = UnsafeMutableRawBufferPointer(rebasing: payload[2...])
                guard String(validating: UnsafeRawBufferPointer(reason), as: UTF8.self) != nil else {
                    return fail(WebSocketCloseCode.invalidPayload, "close frame reason is not valid UTF-8")
                }
                pendingConsume = frameBytes
                closed = true
                return .close(code: code, reason: reason)
            }
        }
    }

    /// The payload, unmasked: in place in the ring when contiguous, else copied into `spill`.
    @inline(__always)
    private func unmaskedPayload(_ ring: RingBuffer, at offset: Int, count: Int, key: UInt32,
                                 spill: FrameScratch) -> UnsafeMutableRawBufferPointer {
        if let inPlace = ring.contiguousBytes(at: offset, count: count) {
            if let base = inPlace.baseAddress { WebSocketDecoder.unmask(base, count: count, key: key) }
            return inPlace
        }
        let base = spill.reserve(count, keeping: 0)
        ring.copyBytes(at: offset, count: count, into: base)
        WebSocketDecoder.unmask(base, count: count, key: key)
        return UnsafeMutableRawBufferPointer(start: base, count: count)
    }

    /// XORs `count` bytes with the 4-byte masking key, whose bytes lie in memory order in `key`.
    /// Every frame's mask starts at its own payload's first byte, so there is no phase to carry.
    @inline(__always)
    static func unmask(_ bytes: UnsafeMutableRawPointer, count: Int, key: UInt32) {
        let wide = UInt64(key) | UInt64(key) << 32
        var i = 0
        while i + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            bytes.storeBytes(of: word ^ wide, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let keyByte = withUnsafeBytes(of: key) { $0[i & 3] }
            bytes.storeBytes(of: bytes.load(fromByteOffset: i, as: UInt8.self) ^ keyByte, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    private mutating func fail(_ code: UInt16, _ reason: String) -> WebSocketEvent {
        failedCode = code
        failedReason = "WebSocket: " + reason
        return .failure(closeCode: code, reason: failedReason)
    }

    private func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }
}
