// Receiving side of WebSocket in the client role (RFC 6455 §5): server frames are unmasked. The
// broker's own decoder (BrokerWire) is server-role and rightly refuses unmasked frames, hence this
// small resumable decoder over the connection's RingBuffer. Payloads point into the ring when
// contiguous; seam-straddling frames and fragmented messages are assembled in reused buffers.

import BrokerWire

enum WebSocketClientEvent {
    case needMore
    case message(UnsafeMutableRawBufferPointer)
    case ping(UnsafeMutableRawBufferPointer)
    case close(code: UInt16?)
    case failure(String)
}

struct WebSocketClientDecoder {
    let maxMessageBytes: Int
    /// Bytes of the frame returned last, consumed on the next call. Owned by the connection's loop thread.
    private var pendingConsume = 0
    /// Whether a fragmented message is being assembled in `fragments`.
    private var assembling = false
    private let fragments = GrowableBytes(capacity: 1 << 12)
    /// Holds single frames that straddle the ring's seam.
    private let spill = GrowableBytes(capacity: 1 << 12)
    private var failed: String?

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Consumes the frame returned last time, then decodes the next event; a payload is valid until the next call.
    mutating func next(_ ring: RingBuffer) -> WebSocketClientEvent {
        if let failed { return .failure(failed) }
        if pendingConsume > 0 {
            ring.consume(pendingConsume)
            pendingConsume = 0
        }
        while true {
            let readable = ring.readableBytes
            guard readable >= 2 else { return .needMore }
            let first = ring.byte(at: 0)
            let second = ring.byte(at: 1)
            guard first & 0x70 == 0 else { return fail("server frame has RSV bits set (0x\(String(first, radix: 16))) without a negotiated extension") }
            guard second & 0x80 == 0 else { return fail("server frame is masked") }
            let opcode = first & 0x0F
            let isFinal = first & 0x80 != 0
            var headerBytes = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard readable >= 4 else { return .needMore }
                length = Int(ring.byte(at: 2)) << 8 | Int(ring.byte(at: 3))
                headerBytes = 4
            } else if length == 127 {
                guard readable >= 10 else { return .needMore }
                var value: UInt64 = 0
                for offset in 2..<10 { value = value << 8 | UInt64(ring.byte(at: offset)) }
                guard value <= UInt64(maxMessageBytes) else { return fail("server frame of \(value) bytes exceeds \(maxMessageBytes)") }
                length = Int(value)
                headerBytes = 10
            }
            guard length <= maxMessageBytes else { return fail("server frame of \(length) bytes exceeds \(maxMessageBytes)") }
            let frameBytes = headerBytes + length
            guard readable >= frameBytes else {
                if ring.capacity < frameBytes { ring.reserveCapacity(frameBytes) }
                return .needMore
            }
            let payload = payloadBytes(ring, at: headerBytes, count: length)
            switch opcode {
            case 0x0:   // continuation
                guard assembling else { return fail("continuation frame without a message start") }
                guard fragments.count + length <= maxMessageBytes else { return fail("fragmented message exceeds \(maxMessageBytes) bytes") }
                if let source = payload.baseAddress { fragments.reserve(length).copyMemory(from: source, byteCount: length) }
                fragments.count += length
                if isFinal {
                    assembling = false
                    pendingConsume = frameBytes
                    return .message(UnsafeMutableRawBufferPointer(start: fragments.base, count: fragments.count))
                }
                ring.consume(frameBytes)
            case 0x1, 0x2:
                guard !assembling else { return fail("new data frame inside a fragmented message") }
                if isFinal {
                    pendingConsume = frameBytes
                    return .message(payload)
                }
                assembling = true
                fragments.count = 0
                if let source = payload.baseAddress { fragments.reserve(length).copyMemory(from: source, byteCount: length) }
                fragments.count = length
                ring.consume(frameBytes)
            case 0x8:
                pendingConsume = frameBytes
                let code = length >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
                return .close(code: code)
            case 0x9:
                pendingConsume = frameBytes
                return .ping(payload)
            case 0xA:
                ring.consume(frameBytes)
            default:
                return fail("unknown opcode \(opcode)")
            }
        }
    }

    private func payloadBytes(_ ring: RingBuffer, at offset: Int, count: Int) -> UnsafeMutableRawBufferPointer {
        if let inPlace = ring.contiguousBytes(at: offset, count: count) { return inPlace }
        spill.count = 0
        let destination = spill.reserve(count)
        ring.copyBytes(at: offset, count: count, into: destination)
        return UnsafeMutableRawBufferPointer(start: destination, count: count)
    }

    private mutating func fail(_ reason: String) -> WebSocketClientEvent {
        failed = reason
        return .failure(reason)
    }
}
