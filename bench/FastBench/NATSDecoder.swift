// The server side of the NATS text protocol, as much as fastbench needs to measure nats-server with
// the same tool and payloads as FastBroker: INFO, PING, PONG, +OK, -ERR and
// `MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n`. Frames are parsed in the receive
// ring; a payload is handed out in place, or copied once when it straddles the ring's seam.

import BrokerWire

enum NATSFrame {
    case needMore
    case info
    case ping
    case pong
    case ok
    case error(String)
    /// A message on subscription `sid`; the payload is valid until the next `next` call.
    case message(sid: UInt64, payload: UnsafeRawBufferPointer)
    case failure(String)
}

struct NATSDecoder {
    let maxMessageBytes: Int
    /// Bytes of the frame returned last, consumed at the next call. Owned by the loop thread, as all fields.
    private var pendingConsume = 0
    /// Where a payload crossing the ring's seam is copied.
    private var linear: UnsafeMutableRawPointer?
    private var linearCapacity = 0

    init(maxMessageBytes: Int) { self.maxMessageBytes = maxMessageBytes }

    mutating func next(_ ring: RingBuffer) -> NATSFrame {
        if pendingConsume > 0 {
            ring.consume(pendingConsume)
            pendingConsume = 0
        }
        let readable = ring.readableBytes
        // The control line, up to CRLF.
        var end = -1
        var i = 0
        while i + 1 < readable {
            if ring.byte(at: i) == 0x0D && ring.byte(at: i + 1) == 0x0A { end = i; break }
            i += 1
        }
        guard end >= 0 else {
            return readable > 4096 ? .failure("control line over 4 KiB") : .needMore
        }
        let first = ring.byte(at: 0) | 0x20
        switch first {
        case 0x6D:   // MSG
            return message(ring, lineEnd: end)
        case 0x70:   // PING / PONG
            pendingConsume = end + 2
            return end >= 4 && ring.byte(at: 1) | 0x20 == 0x69 ? .ping : .pong
        case 0x69:   // INFO
            pendingConsume = end + 2
            return .info
        case 0x2B:   // +OK
            pendingConsume = end + 2
            return .ok
        case 0x2D:   // -ERR 'reason'
            var text: [UInt8] = []
            for k in 0..<end { text.append(ring.byte(at: k)) }
            pendingConsume = end + 2
            return .error(String(decoding: text, as: UTF8.self))
        default:
            return .failure("unknown NATS operation starting with byte \(ring.byte(at: 0))")
        }
    }

    /// `MSG subject sid [reply] bytes`: the last field is the length, the third the sid.
    private mutating func message(_ ring: RingBuffer, lineEnd end: Int) -> NATSFrame {
        var fieldCount = 0
        var sidField = (start: 0, end: 0)
        var lastField = (start: 0, end: 0)
        var k = 0
        while k < end {
            while k < end && ring.byte(at: k) == 0x20 { k += 1 }
            let start = k
            while k < end && ring.byte(at: k) != 0x20 { k += 1 }
            guard k > start else { continue }
            fieldCount += 1
            if fieldCount == 3 { sidField = (start, k) }
            lastField = (start, k)
        }
        guard fieldCount == 4 || fieldCount == 5, let sid = number(ring, sidField), let length = number(ring, lastField) else {
            return .failure("malformed MSG line")
        }
        guard length <= UInt64(maxMessageBytes) else { return .failure("MSG of \(length) bytes") }
        let bytes = Int(length)
        let total = end + 2 + bytes + 2
        guard ring.readableBytes >= total else {
            ring.growIfFull(forFrameOf: total)
            return .needMore
        }
        pendingConsume = total
        if let inPlace = ring.contiguousBytes(at: end + 2, count: bytes) {
            return .message(sid: sid, payload: UnsafeRawBufferPointer(inPlace))
        }
        if linearCapacity < bytes {
            linear?.deallocate()
            linear = .allocate(byteCount: bytes, alignment: 16)
            linearCapacity = bytes
        }
        ring.copyBytes(at: end + 2, count: bytes, into: linear!)
        return .message(sid: sid, payload: UnsafeRawBufferPointer(start: linear, count: bytes))
    }

    private func number(_ ring: RingBuffer, _ field: (start: Int, end: Int)) -> UInt64? {
        guard field.end > field.start, field.end - field.start <= 19 else { return nil }
        var value: UInt64 = 0
        for k in field.start..<field.end {
            let digit = ring.byte(at: k) &- 0x30
            guard digit <= 9 else { return nil }
            value = value * 10 + UInt64(digit)
        }
        return value
    }

    /// Frees the seam copy (the decoder is a value owned by one connection; call once, at its end).
    mutating func release() {
        linear?.deallocate()
        linear = nil
        linearCapacity = 0
    }
}
