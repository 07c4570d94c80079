// JSONMemberScan: JSONFilterDocument's one-pass member lookup (see FilterMemberLookup.swift).
// One forward walk over a map's members serves every key the program reads from that map: each
// key is read once, with one or two 8-byte loads when it is shorter than 16 bytes and has no
// escape (its length and words then compare against the group's pre-digested keys in a few
// instructions), and the walk stops at the key the VM asked for, remembering where it stopped.
// Values of members nobody reads are skipped (JSONFilterDocument.skipValue), never decoded.

extension JSONFilterDocument {
    public func resolve(_ wanted: Int, of map: FilterPosition, in lookup: FilterMemberLookup) {
        var i: Int  // the next member's opening quote (anything else: the map ends)
        if let resume = lookup.resume {
            // The last call stopped at the value of the member it found: step over that value.
            i = nextKey(afterValueAt: Int(resume.offset))
        } else {
            i = Int(map.offset)
            guard byte(i) == 0x7B else { return lookup.finish() }
            i = skipWhitespace(i &+ 1)
        }
        while byte(i) == 0x22 {
            let keyStart = i
            let (afterKey, matched) = matchKey(keyStart, lookup)
            i = valueStart(afterKey: afterKey)
            guard i < count else { break }
            if matched >= 0
                && lookup.record(
                    matched, FilterPosition(offset: Int32(truncatingIfNeeded: i), aux: Int32(truncatingIfNeeded: keyStart)))
                && matched == wanted
            {
                lookup.resume = FilterPosition(offset: Int32(truncatingIfNeeded: i), aux: 0)
                return
            }
            i = nextKey(afterValueAt: i)
        }
        // End of the map (or malformed bytes): every key not seen is missing.
        lookup.finish()
    }

    /// The start of a member's value, given the index just past its key; `count` when the
    /// colon is missing. Inline for ":" and ": " followed by the value, else the general case.
    @inline(__always) func valueStart(afterKey j: Int) -> Int {
        if j &+ 3 <= count && base.load(fromByteOffset: j, as: UInt8.self) == 0x3A {
            let next = base.load(fromByteOffset: j &+ 1, as: UInt8.self)
            if next > 0x20 { return j &+ 1 }
            if next == 0x20 && base.load(fromByteOffset: j &+ 2, as: UInt8.self) > 0x20 { return j &+ 2 }
        }
        let colon = skipWhitespaceRun(j)
        guard byte(colon) == 0x3A else { return count }
        return skipWhitespaceRun(colon &+ 1)
    }

    /// The opening quote of the next member's key after the value at `i`; anything else when the
    /// map ends there. Inline for `,"` and `, "`, else the general case.
    @inline(__always) func nextKey(afterValueAt i: Int) -> Int {
        let end = skipValue(i)
        if end &+ 3 <= count && base.load(fromByteOffset: end, as: UInt8.self) == 0x2C {
            let next = base.load(fromByteOffset: end &+ 1, as: UInt8.self)
            if next == 0x22 { return end &+ 1 }
            if next == 0x20 && base.load(fromByteOffset: end &+ 2, as: UInt8.self) == 0x22 { return end &+ 2 }
        }
        let comma = skipWhitespaceRun(end)
        guard byte(comma) == 0x2C else { return count }
        return skipWhitespaceRun(comma &+ 1)
    }

    /// Reads the key whose opening quote is at `keyStart`: the index just past its closing quote,
    /// and which key of the group it is (-1: none).
    @inline(__always) func matchKey(_ keyStart: Int, _ lookup: FilterMemberLookup) -> (Int, Int) {
        let start = keyStart &+ 1
        if start &+ 16 <= count {
            // Fast path: the closing quote is among the next 16 bytes and no escape precedes it.
            // The lowest flagged byte is exact (see SWAR.bytesEqual).
            let low = word(start)
            let lowHits = JSONFilterDocument.quotesOrBackslashes(low)
            if lowHits != 0 {
                let length = lowHits.trailingZeroBitCount >> 3
                if base.load(fromByteOffset: start &+ length, as: UInt8.self) == 0x22 {
                    let end = start &+ length &+ 1
                    guard lookup.mayHaveKey(length: length) else { return (end, -1) }
                    let mask = (1 &<< UInt64(8 &* length)) &- 1
                    return (end, lookup.index(shortKey: length, low: low & mask, high: 0))
                }
            } else {
                let high = word(start &+ 8)
                let highHits = JSONFilterDocument.quotesOrBackslashes(high)
                let extra = highHits.trailingZeroBitCount >> 3  // 8 when nothing was flagged
                if extra < 8 && base.load(fromByteOffset: start &+ 8 &+ extra, as: UInt8.self) == 0x22 {
                    let length = 8 &+ extra
                    let end = start &+ length &+ 1
                    guard lookup.mayHaveKey(length: length) else { return (end, -1) }
                    let mask = (1 &<< UInt64(8 &* extra)) &- 1
                    return (end, lookup.index(shortKey: length, low: low, high: high & mask))
                }
            }
        }
        return matchKeySlowly(keyStart, lookup)
    }

    /// Long keys, keys with escapes, keys near the end of the buffer.
    func matchKeySlowly(_ keyStart: Int, _ lookup: FilterMemberLookup) -> (Int, Int) {
        let start = keyStart + 1
        let (end, escaped) = scanString(keyStart)
        if escaped {
            for k in 0..<lookup.count where keyMatchesDecoding(start, lookup.key(k)) { return (end, k) }
            return (end, -1)
        }
        // Unterminated (malformed) keys end at the buffer's end, like JSONStringBytes.
        let close = end - 1 > keyStart && bytes[end - 1] == 0x22 ? end - 1 : end
        return (end, lookup.index(of: UnsafeRawBufferPointer(rebasing: bytes[start..<close])) ?? -1)
    }

    public func contiguousString(at position: FilterPosition) -> UnsafeRawBufferPointer? {
        let open = Int(position.offset)
        let (end, escaped) = scanString(open)
        if escaped { return nil }
        let close = end - 1 > open && bytes[end - 1] == 0x22 ? end - 1 : end
        return UnsafeRawBufferPointer(start: base + open + 1, count: close - open - 1)
    }
}
