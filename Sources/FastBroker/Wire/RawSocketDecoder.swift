// Receiving side of RawSocket: a resumable decoder over the connection's RingBuffer that yields the
// client hello first, then one event per frame. Payloads point into the ring when contiguous and into
// a reused scratch buffer when the frame straddles the ring's seam; nothing allocates per frame.

/// Why a RawSocket byte stream was rejected. Every case fails the connection.
public enum RawSocketFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first octet of the hello was not 0x7F.
    case badMagic(UInt8)
    /// Octets 3 and 4 of the hello were not zero.
    case reservedBits
    /// A frame's length exceeds our receive limit.
    case frameTooLarge(length: Int, limit: Int)
    /// TTT of a frame prefix was 3...7.
    case unknownFrameType(UInt8)
    /// RRRR of a frame prefix was not zero (the whole first octet is given).
    case frameReservedBits(UInt8)
    /// The X (25th length) bit was set with a non-zero 24-bit length; X means exactly 16 MiB.
    case extendedLengthMisused(lowBits: Int)

    public var description: String {
        switch self {
        case .badMagic(let b):
            return "RawSocket hello: first octet is 0x\(hex(b)), expected 0x7F"
        case .reservedBits:
            return "RawSocket hello: reserved octets 3 and 4 are not zero"
        case .frameTooLarge(let length, let limit):
            return "RawSocket frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .unknownFrameType(let t):
            return "RawSocket frame prefix: unknown frame type \(t) (0 message, 1 ping, 2 pong)"
        case .frameReservedBits(let b):
            return "RawSocket frame prefix: reserved bits set in first octet 0x\(hex(b))"
        case .extendedLengthMisused(let low):
            return "RawSocket frame prefix: 25th length bit set with non-zero low length \(low) (only 16 MiB may use it)"
        }
    }

    private func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }
}

public enum RawSocketEvent {
    /// Every complete frame has been returned; read more bytes into the ring.
    case needMore
    /// The 4-octet client hello (always the first event). The connection validates it and replies.
    case hello(RawSocketHello)
    case message(UnsafeMutableRawBufferPointer)
    /// A PING; the reply PONG must echo this payload.
    case ping(UnsafeMutableRawBufferPointer)
    case pong(UnsafeMutableRawBufferPointer)
    /// The stream is broken; the decoder returns the same failure from now on.
    case failure(RawSocketFailure)
}

/// One per connection, held by it and used only on its loop thread (copies would share the scratch buffer).
public struct RawSocketDecoder {
    /// Our receive limit for frame payloads (all frame types): exactly what our hello reply
    /// announces, 2^(9 + lengthExponent).
    public let maxMessageBytes: Int
    /// The exponent our hello reply announces.
    public let lengthExponent: UInt8
    /// Whether the 4-octet hello has been decoded.
    private var helloSeen = false
    /// Bytes of the last returned event, consumed at the start of the next call so its payload stays
    /// readable until then.
    private var pendingConsume = 0
    /// Set once the stream is broken; sticky.
    private var failed: RawSocketFailure?
    /// Holds payloads of frames that straddle the ring's seam; at most `maxMessageBytes`.
    private let scratch: FrameScratch

    /// `maxMessageBytes` is rounded to what a hello can announce (RawSocketFraming.lengthExponent).
    public init(maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0, "negative RawSocket limit")
        lengthExponent = RawSocketFraming.lengthExponent(forMaxMessageBytes: maxMessageBytes)
        self.maxMessageBytes = RawSocketFraming.maxMessageBytes(lengthExponent: lengthExponent)
        self.scratch = FrameScratch(maxCapacity: self.maxMessageBytes)
    }

    /// Bytes held by the scratch buffer (for the receive-memory gauge).
    public var scratchCapacity: Int { scratch.capacity }

    /// Consumes the bytes of the event it returned last time, then decodes the next event. A payload
    /// is valid until the next call. The first event of a connection is the 4-byte hello.
    ///
    /// When a frame within the limit is larger than the ring, this grows the ring as its bytes
    /// arrive (`ring.growIfFull`) so the frame can arrive whole; `.needMore` therefore always means
    /// the ring has room for more bytes. On `.needMore` it also gives back memory a large frame
    /// left (`ring.shrinkIfIdle`, and a scratch buffer larger than the ring).
    public mutating func next(_ ring: RingBuffer) -> RawSocketEvent {
        let event = decodeNext(ring)
        if case .needMore = event {
            ring.shrinkIfIdle()
            scratch.release(ifOver: ring.capacity)
        }
        return event
    }

    @inline(__always)   // one caller, per frame: no second copy of the event
    private mutating func decodeNext(_ ring: RingBuffer) -> RawSocketEvent {
        if let failure = failed { return .failure(failure) }
        if pendingConsume > 0 {
            ring.consume(pendingConsume)
            pendingConsume = 0
        }
        let readable = ring.readableBytes
        if !helloSeen { return decodeHello(ring, readable: readable) }

        guard readable >= RawSocketFraming.headerSize else { return .needMore }
        let prefix = ring.bigEndianWordAtReadCursor()   // the 4-octet frame prefix
        let first = UInt8(truncatingIfNeeded: prefix >> 24)
        guard first & 0xF0 == 0 else { return fail(.frameReservedBits(first)) }
        let typeBits = first & 0x07
        guard let type = RawSocketFrameType(rawValue: typeBits) else { return fail(.unknownFrameType(typeBits)) }
        let low = Int(prefix & 0x00FF_FFFF)
        let length: Int
        if first & 0x08 != 0 {
            guard low == 0 else { return fail(.extendedLengthMisused(lowBits: low)) }
            length = RawSocketFraming.maxFrameLength
        } else {
            length = low
        }
        guard length <= maxMessageBytes else { return fail(.frameTooLarge(length: length, limit: maxMessageBytes)) }

        let frameBytes = RawSocketFraming.headerSize + length
        guard readable >= frameBytes else {
            ring.growIfFull(forFrameOf: frameBytes)
            return .needMore
        }
        let payload: UnsafeMutableRawBufferPointer
        if let inPlace = ring.contiguousBytes(at: RawSocketFraming.headerSize, count: length) {
            payload = inPlace
        } else {
            let base = scratch.reserve(length, keeping: 0)
            ring.copyBytes(at: RawSocketFraming.headerSize, count: length, into: base)
            payload = UnsafeMutableRawBufferPointer(start: base, count: length)
        }
        pendingConsume = frameBytes
        switch type {
        case .message: return .message(payload)
        case .ping: return .ping(payload)
        case .pong: return .pong(payload)
        }
    }

    private mutating func decodeHello(_ ring: RingBuffer, readable: Int) -> RawSocketEvent {
        // Check the magic as soon as one octet is in, so an HTTP client on the wrong port fails fast.
        guard readable >= 1 else { return .needMore }
        let magic = ring.byte(at: 0)
        guard magic == RawSocketFraming.magic else { return fail(.badMagic(magic)) }
        guard readable >= 4 else { return .needMore }
        guard ring.byte(at: 2) == 0 && ring.byte(at: 3) == 0 else { return fail(.reservedBits) }
        let second = ring.byte(at: 1)
        helloSeen = true
        pendingConsume = 4
        return .hello(RawSocketHello(serializer: second & 0x0F, lengthExponent: second >> 4))
    }

    private mutating func fail(_ failure: RawSocketFailure) -> RawSocketEvent {
        failed = failure
        return .failure(failure)
    }
}
