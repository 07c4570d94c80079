// JSONFilterDocument: FilterDocument over the raw bytes of a JSON kwargs object. Nothing is
// decoded up front: member lookup scans keys in place (all keys a program reads from one map in
// one resumable pass, JSONMemberScan.swift), skipping unread values eight bytes at a time
// (strings and scalars by SWAR search, containers by SWAR bracket counting with a quote-parity
// mask), and only the values a filter touches are ever read. The broker hands over validated
// JSON (precondition, not re-checked); malformed bytes still never crash or loop (every read is
// bounds-checked and every scan advances), they just give unspecified matches. Duplicate keys:
// the first occurrence wins.

import WireCodec

/// A kwargs object in JSON. An empty buffer means `{}` (an event without kwargs).
///
/// Precondition (not checked, for speed): the bytes are one valid JSON object, as the broker
/// guarantees by validating every payload before routing it. Invalid bytes are still safe —
/// every read is bounds-checked and every scan advances — but then which events match is
/// unspecified.
public struct JSONFilterDocument: FilterDocument {
    /// The payload's first byte. Never nil, so that bounds checks are one comparison with
    /// `count`; an empty payload points at an address that is never read.
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let count: Int

    @inlinable public init(_ kwargs: UnsafeRawBufferPointer) {
        // Positions are Int32 offsets; a payload beyond that is treated as having no kwargs.
        if let start = kwargs.baseAddress, kwargs.count < Int(Int32.max) {
            base = start
            count = kwargs.count
        } else {
            base = UnsafeRawPointer(bitPattern: 0x10)!
            count = 0
        }
    }

    @inline(__always) var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// The byte at `i` (>= 0), or 0 past the end (0 is never a JSON token byte).
    @inline(__always) func byte(_ i: Int) -> UInt8 {
        i < count ? base.load(fromByteOffset: i, as: UInt8.self) : 0
    }

    /// Index of the first non-whitespace byte at or after `i`. Inline for the usual cases (no
    /// space, or one), out of line for runs of whitespace.
    @inline(__always) func skipWhitespace(_ i: Int) -> Int {
        var i = i
        if byte(i) == 0x20 { i &+= 1 }
        if byte(i) > 0x20 { return i }
        return skipWhitespaceRun(i)
    }

    func skipWhitespaceRun(_ i: Int) -> Int {
        var i = i
        while i < count {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            if b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09 { break }
            i &+= 1
        }
        return i
    }

    /// Eight bytes at `i` as a little-endian word (caller guarantees i + 8 <= count).
    @inline(__always) func word(_ i: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    /// Flags the bytes of `w` that are '"' or '\\' (SWAR: the lowest flagged byte is exact).
    @inline(__always) static func quotesOrBackslashes(_ w: UInt64) -> UInt64 {
        SWAR.bytesEqual(w, 0x22) | SWAR.bytesEqual(w, 0x5C)
    }

    /// Index just past the string whose opening quote is at `i`, and whether it holds escapes.
    /// Scans eight bytes at a time for '"' or '\\'.
    @inline(__always) func scanString(_ i: Int) -> (end: Int, escaped: Bool) {
        var j = i &+ 1
        var escaped = false
        while j &+ 8 <= count {
            let hits = JSONFilterDocument.quotesOrBackslashes(word(j))
            if hits == 0 {
                j &+= 8
                continue
            }
            let k = j &+ hits.trailingZeroBitCount >> 3
            if base.load(fromByteOffset: k, as: UInt8.self) == 0x22 { return (k &+ 1, escaped) }
            escaped = true
            j = k &+ 2
        }
        while j < count {
            let b = base.load(fromByteOffset: j, as: UInt8.self)
            if b == 0x22 { return (j &+ 1, escaped) }
            if b == 0x5C {
                escaped = true
                j &+= 2
            } else {
                j &+= 1
            }
        }
        return (count, escaped)
    }

    @inline(__always) func skipString(_ i: Int) -> Int {
        scanString(i).end
    }

    /// Index just past the value starting at `i` (at least i + 1).
    @inline(__always) func skipValue(_ i: Int) -> Int {
        let b = byte(i)
        if b == 0x22 { return skipString(i) }
        if b == 0x7B || b == 0x5B { return skipContainer(i) }
        return skipScalar(i)
    }

    /// A number, true, false or null (or junk): up to the next ',', '}', ']' or whitespace,
    /// eight bytes at a time.
    @inline(__always) func skipScalar(_ i: Int) -> Int {
        var j = i
        while j &+ 8 <= count {
            let w = word(j)
            // ']' | 0x20 == '}', and no scalar byte turns into '}' that way.
            let stops = SWAR.bytesBelow(w, 0x21) | SWAR.bytesEqual(w, 0x2C)
                | SWAR.bytesEqual(w | 0x2020_2020_2020_2020, 0x7D)
            if stops != 0 { return max(j &+ stops.trailingZeroBitCount >> 3, i &+ 1) }
            j &+= 8
        }
        while j < count {
            let c = base.load(fromByteOffset: j, as: UInt8.self)
            if c == 0x2C || c == 0x7D || c == 0x5D || c <= 0x20 { break }
            j &+= 1
        }
        return max(j, i &+ 1)
    }



    /// An object or array: bracket counting a word at a time. Each word's quotes, opening and
    /// closing brackets become 8-bit masks; a prefix XOR of the quote mask tells which bytes lie
    /// inside strings, so brackets in strings are ignored without walking the string. Words
    /// with a backslash (escapes can hide quotes) and the tail go byte by byte.
    func skipContainer(_ i: Int) -> Int {
        var depth = 0
        var inString = false
        var escaped = false  // the previous byte was a backslash inside a string
        var j = i
        while j < count {
            if j &+ 8 <= count && !escaped {
                let w = word(j)
                let backslashes = SWAR.zeroBytes(w ^ 0x5C5C_5C5C_5C5C_5C5C)
                if backslashes == 0 {
                    let folded = w | 0x2020_2020_2020_2020  // '[' → '{', ']' → '}'
                    let quotes = SWAR.byteMask(SWAR.zeroBytes(w ^ 0x2222_2222_2222_2222))
                    var inside = quotes ^ (quotes << 1)
                    inside ^= inside << 2
                    inside ^= inside << 4
                    if inString { inside = ~inside }
                    inside &= 0xFF
                    let outside = ~inside & 0xFF
                    let opens = SWAR.byteMask(SWAR.zeroBytes(folded ^ 0x7B7B_7B7B_7B7B_7B7B))
                        & outside
                    let closes = SWAR.byteMask(SWAR.zeroBytes(folded ^ 0x7D7D_7D7D_7D7D_7D7D))
                        & outside
                    if closes != 0 && depth <= closes.nonzeroBitCount {
                        // The container may end in this word: walk its brackets in order.
                        var brackets = opens | closes
                        while brackets != 0 {
                            let bit = brackets & (0 &- brackets)
                            if opens & bit != 0 {
                                depth &+= 1
                            } else {
                                depth &-= 1
                                if depth == 0 { return j &+ bit.trailingZeroBitCount &+ 1 }
                            }
                            brackets &= brackets &- 1
                        }
                    } else {
                        depth &+= opens.nonzeroBitCount &- closes.nonzeroBitCount
                    }
                    inString = inside & 0x80 != 0
                    j &+= 8
                    continue
                }
            }
            // One byte at a time (a word with a backslash, a pending escape, or the tail).
            let end = min(j &+ 8, count)
            while j < end {
                let b = base.load(fromByteOffset: j, as: UInt8.self)
                j &+= 1
                if inString {
                    if escaped {
                        escaped = false
                    } else if b == 0x5C {
                        escaped = true
                    } else if b == 0x22 {
                        inString = false
                    }
                } else if b == 0x22 {
                    inString = true
                } else if b == 0x7B || b == 0x5B {
                    depth &+= 1
                } else if b == 0x7D || b == 0x5D {
                    depth &-= 1
                    if depth == 0 { return j }
                }
            }
        }
        return count
    }

    @inline(__always) public var root: FilterPosition? {
        let i = skipWhitespace(0)
        guard byte(i) == 0x7B else { return nil }
        return FilterPosition(offset: Int32(i), aux: -1)
    }

    @inline(__always) public func kind(at position: FilterPosition) -> FilterKind {
        switch byte(Int(position.offset)) {
        case 0x7B: return .map
        case 0x5B: return .list
        case 0x22: return .string
        case 0x74, 0x66: return .bool
        case 0x2D, 0x30...0x39: return .number
        default: return .null
        }
    }

    @inline(__always) public func bool(at position: FilterPosition) -> Bool {
        byte(Int(position.offset)) == 0x74
    }

    public func number(at position: FilterPosition) -> FilterNumber? {
        guard let (number, _) = FilterNumber.scan(bytes, from: Int(position.offset)) else { return nil }
        return number
    }

    public func stringBytes(at position: FilterPosition) -> JSONStringBytes {
        JSONStringBytes(bytes: bytes, index: Int(position.offset) + 1)
    }

    public func keyBytes(of member: FilterPosition) -> JSONStringBytes {
        JSONStringBytes(bytes: bytes, index: member.aux < 0 ? bytes.count : Int(member.aux) + 1)
    }

    /// Position of the member whose key's opening quote is at `keyStart` (value after the colon).
    @inline(__always) func memberAt(_ keyStart: Int) -> FilterPosition? {
        guard byte(keyStart) == 0x22 else { return nil }
        var i = skipWhitespace(skipString(keyStart))
        guard byte(i) == 0x3A else { return nil }
        i = skipWhitespace(i + 1)
        guard i < bytes.count else { return nil }
        return FilterPosition(offset: Int32(i), aux: Int32(keyStart))
    }

    /// Does the key whose opening quote is at `keyStart` equal `key`? Bytes before the first
    /// escape are the decoded bytes verbatim, so the fast path needs no decoding.
    @inline(__always) func keyMatches(_ keyStart: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let start = keyStart + 1
        let n = key.count
        var k = 0
        while k < n && start + k < bytes.count {
            let b = bytes[start + k]
            if b == 0x5C { return keyMatchesDecoding(start, key) }
            if b == 0x22 || b != key[k] { return false }
            k += 1
        }
        // All n bytes matched: equal only if the raw key ends right here.
        return k == n && byte(start + n) == 0x22
    }

    func keyMatchesDecoding(_ start: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        var raw = JSONStringBytes(bytes: bytes, index: start)
        var k = 0
        while let b = raw.next() {
            if k >= key.count || b != key[k] { return false }
            k += 1
        }
        return k == key.count
    }

    public func member(of map: FilterPosition, key: UnsafeRawBufferPointer, hash: UInt64) -> FilterPosition? {
        var i = Int(map.offset)
        guard byte(i) == 0x7B else { return nil }
        i = skipWhitespace(i + 1)
        let n = key.count
        let first: UInt8 = n > 0 ? key[0] : 0x22
        while i < bytes.count && bytes[i] == 0x22 {
            let keyStart = i
            var matched = false
            let afterKey: Int
            if i + 1 + n < bytes.count && bytes[i + 1] == first && bytes[i + 1 + n] == 0x22
                && rawKeyEquals(i + 1, key)
            {
                matched = true
                afterKey = i + n + 2
            } else {
                let (end, escaped) = scanString(i)
                afterKey = end
                if escaped { matched = keyMatchesDecoding(i + 1, key) }
            }
            i = skipWhitespace(afterKey)
            guard byte(i) == 0x3A else { return nil }
            i = skipWhitespace(i + 1)
            guard i < bytes.count else { return nil }
            if matched { return FilterPosition(offset: Int32(i), aux: Int32(keyStart)) }
            i = skipWhitespace(skipValue(i))
            guard byte(i) == 0x2C else { return nil }
            i = skipWhitespace(i + 1)
        }
        return nil
    }

    /// The n raw bytes at `start` equal `key`, and none is a quote or backslash (so the raw key
    /// has no escapes and really ends where the caller saw its closing quote).
    @inline(__always) func rawKeyEquals(_ start: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        var k = 0
        while k < key.count {
            let b = bytes[start + k]
            if b != key[k] || b == 0x22 || b == 0x5C { return false }
            k += 1
        }
        return true
    }

    public func firstChild(of container: FilterPosition) -> FilterPosition? {
        let open = Int(container.offset)
        let b = byte(open)
        let i = skipWhitespace(open + 1)
        if b == 0x5B {
            guard i < bytes.count, bytes[i] != 0x5D else { return nil }
            return FilterPosition(offset: Int32(i), aux: -1)
        }
        if b == 0x7B { return memberAt(i) }
        return nil
    }

    public func nextChild(after child: FilterPosition) -> FilterPosition? {
        var i = skipWhitespace(skipValue(Int(child.offset)))
        guard byte(i) == 0x2C else { return nil }
        i = skipWhitespace(i + 1)
        if child.aux >= 0 { return memberAt(i) }
        guard i < bytes.count else { return nil }
        return FilterPosition(offset: Int32(i), aux: -1)
    }

    public func element(_ index: Int, of list: FilterPosition) -> FilterPosition? {
        guard byte(Int(list.offset)) == 0x5B else { return nil }
        return child(index, of: list)
    }
}
