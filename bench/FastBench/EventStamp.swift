// The per-event parse of the load tool: the send timestamp and publication number the tool put in
// each EVENT's first argument `[TS, N, "pad"]`, read by a direct scan that skips the envelope
// (JSON: `[36,SUB,PUB,{DETAILS},[[TS,N,"pad"]]...]`; MessagePack and CBOR: the same array with an
// empty details map). Anything of another shape returns nil and goes to the full scanner, so a broker
// that formats EVENTs differently is still measured correctly.

struct EventStamp {
    /// MonotonicClock nanoseconds at publication.
    var timestamp: UInt64
    /// The run's publication number (0-based, across all publishers).
    var publication: UInt64

    /// The stamp of a compact JSON EVENT, or nil when the message is not in the expected shape.
    static func parseJSON(_ bytes: UnsafeRawBufferPointer) -> EventStamp? {
        let end = bytes.count
        guard end > 4, bytes[0] == 0x5B, bytes[1] == 0x33, bytes[2] == 0x36, bytes[3] == 0x2C else { return nil }
        var i = 4
        // subscription id, publication id
        for _ in 0..<2 {
            let start = i
            while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            guard i > start, i < end, bytes[i] == 0x2C else { return nil }
            i += 1
        }
        // details object, skipped by depth, strings honoured
        guard i < end, bytes[i] == 0x7B else { return nil }
        var depth = 0
        var inString = false
        while i < end {
            let byte = bytes[i]
            if inString {
                if byte == 0x5C { i += 1 } else if byte == 0x22 { inString = false }
            } else if byte == 0x22 {
                inString = true
            } else if byte == 0x7B || byte == 0x5B {
                depth += 1
            } else if byte == 0x7D || byte == 0x5D {
                depth -= 1
                if depth == 0 { i += 1; break }
            }
            i += 1
        }
        guard depth == 0, i + 2 < end, bytes[i] == 0x2C, bytes[i + 1] == 0x5B, bytes[i + 2] == 0x5B else { return nil }
        i += 3
        guard let timestamp = decimal(bytes, &i), i < end, bytes[i] == 0x2C else { return nil }
        i += 1
        guard let publication = decimal(bytes, &i), i < end, bytes[i] == 0x2C || bytes[i] == 0x5D else { return nil }
        return EventStamp(timestamp: timestamp, publication: publication)
    }

    @inline(__always)
    private static func decimal(_ bytes: UnsafeRawBufferPointer, _ i: inout Int) -> UInt64? {
        var value: UInt64 = 0
        let start = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, i - start < 19 {
            value = value &* 10 &+ UInt64(bytes[i] &- 0x30)
            i += 1
        }
        return i > start ? value : nil
    }

    /// The stamp of a MessagePack EVENT `[36, SUB, PUB, {}, [[TS, N, "pad"]], kwargs?]`, or nil
    /// when the message is not in that shape (details not empty, other widths of containers).
    static func parseMessagePack(_ bytes: UnsafeRawBufferPointer) -> EventStamp? {
        // fixarray of 5 or 6 elements, then 36 as a positive fixint
        guard bytes.count > 8, bytes[0] == 0x95 || bytes[0] == 0x96, bytes[1] == 0x24 else { return nil }
        var i = 2
        guard unsigned(bytes, &i) != nil, unsigned(bytes, &i) != nil else { return nil }
        // empty details map, args = fixarray 1 holding fixarray 3
        guard i + 3 <= bytes.count, bytes[i] == 0x80, bytes[i + 1] == 0x91, bytes[i + 2] == 0x93 else { return nil }
        i += 3
        guard let timestamp = unsigned(bytes, &i), let publication = unsigned(bytes, &i) else { return nil }
        return EventStamp(timestamp: timestamp, publication: publication)
    }

    /// A MessagePack unsigned integer of any width (positive fixint, uint 8/16/32/64).
    @inline(__always)
    private static func unsigned(_ bytes: UnsafeRawBufferPointer, _ i: inout Int) -> UInt64? {
        guard i < bytes.count else { return nil }
        let marker = bytes[i]
        let width: Int
        switch marker {
        case 0x00...0x7F:
            i += 1
            return UInt64(marker)
        case 0xCC: width = 1
        case 0xCD: width = 2
        case 0xCE: width = 4
        case 0xCF: width = 8
        default: return nil
        }
        guard i + 1 + width <= bytes.count else { return nil }
        var value: UInt64 = 0
        for k in 1...width { value = value << 8 | UInt64(bytes[i + k]) }
        i += 1 + width
        return value
    }

    /// The stamp of a CBOR EVENT `[36, SUB, PUB, {}, [[TS, N, "pad"]], kwargs?]`, or nil when the
    /// message is not in that shape.
    static func parseCBOR(_ bytes: UnsafeRawBufferPointer) -> EventStamp? {
        // array of 5 or 6 elements, then 36 (0x18 0x24)
        guard bytes.count > 8, bytes[0] == 0x85 || bytes[0] == 0x86, bytes[1] == 0x18, bytes[2] == 0x24 else { return nil }
        var i = 3
        guard cborUnsigned(bytes, &i) != nil, cborUnsigned(bytes, &i) != nil else { return nil }
        // empty details map, args = array 1 holding array 3
        guard i + 3 <= bytes.count, bytes[i] == 0xA0, bytes[i + 1] == 0x81, bytes[i + 2] == 0x83 else { return nil }
        i += 3
        guard let timestamp = cborUnsigned(bytes, &i), let publication = cborUnsigned(bytes, &i) else { return nil }
        return EventStamp(timestamp: timestamp, publication: publication)
    }

    /// A CBOR unsigned integer of any argument width.
    @inline(__always)
    private static func cborUnsigned(_ bytes: UnsafeRawBufferPointer, _ i: inout Int) -> UInt64? {
        guard i < bytes.count, bytes[i] >> 5 == 0 else { return nil }
        let info = bytes[i] & 0x1F
        if info < 24 {
            i += 1
            return UInt64(info)
        }
        guard info <= 27 else { return nil }
        let width = 1 << Int(info - 24)
        guard i + 1 + width <= bytes.count else { return nil }
        var value: UInt64 = 0
        for k in 1...width { value = value << 8 | UInt64(bytes[i + k]) }
        i += 1 + width
        return value
    }
}
