// The per-event parse of the load tool: the send timestamp of an EVENT
// `[36,SUB,PUB,{DETAILS},[[TS,"pad"]]...]`, read by a direct scan that skips the details object and
// stops at the first argument's first number. Anything of another shape returns nil and goes to
// the full JSON scanner, so a broker that formats EVENTs differently is still measured correctly.

enum EventTimestamp {
    /// Whether the message starts `[36,` (an EVENT in compact JSON).
    @inline(__always)
    static func isEvent(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count > 4 && bytes[0] == 0x5B && bytes[1] == 0x33 && bytes[2] == 0x36 && bytes[3] == 0x2C
    }

    /// The timestamp of a compact EVENT, or nil when the message is not in the expected shape.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard isEvent(bytes) else { return nil }
        let end = bytes.count
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
        var value: UInt64 = 0
        let start = i
        while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39, i - start < 19 {
            value = value &* 10 &+ UInt64(bytes[i] &- 0x30)
            i += 1
        }
        guard i > start, i < end, bytes[i] == 0x2C || bytes[i] == 0x5D else { return nil }
        return value
    }
}
