// UTF8Sequence: UTF-8 well-formedness one sequence at a time, for validators that skip ASCII runs
// themselves (a SWAR word test) and only need the multi-byte sequences checked: the MessagePack
// scanner's str check, the JSON scanner's string check and the JSON writer's validating copy.

/// UTF-8 well-formedness (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
public enum UTF8Sequence {
    /// RFC 3629's table: for a lead byte, the sequence length and the allowed range of the second
    /// byte (narrower after 0xE0/0xF0 to refuse overlongs, after 0xED to refuse surrogates, after
    /// 0xF4 to stay ≤ U+10FFFF). nil for a byte that cannot lead a multi-byte sequence.
    @usableFromInline @inline(__always)
    static func rule(_ lead: UInt8) -> (length: Int, low: UInt8, high: UInt8)? {
        switch lead {
        case 0xC2...0xDF: return (2, 0x80, 0xBF)
        case 0xE0: return (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: return (3, 0x80, 0xBF)
        case 0xED: return (3, 0x80, 0x9F)
        case 0xF0: return (4, 0x90, 0xBF)
        case 0xF1...0xF3: return (4, 0x80, 0xBF)
        case 0xF4: return (4, 0x80, 0x8F)
        default: return nil
        }
    }

    /// Length of the well-formed sequence starting at `i` (whose lead byte is ≥ 0x80), 0 if ill-formed.
    @inlinable
    public static func length(_ s: UnsafeRawBufferPointer, _ i: Int) -> Int {
        guard let (length, low, high) = rule(s[i]) else { return 0 }
        guard s.count - i >= length, s[i + 1] >= low, s[i + 1] <= high else { return 0 }
        for k in 2..<length where s[i + k] & 0xC0 != 0x80 { return 0 }
        return length
    }

    /// Offset of the first ill-formed sequence in `s[start..<end]`, nil when all of it is well
    /// formed; ASCII runs are skipped 8 bytes at a time. Sequences never read past `end`. (The
    /// MessagePack and CBOR scanners' string check.)
    @inlinable
    public static func firstInvalid(_ s: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var k = start
        let text = UnsafeRawBufferPointer(rebasing: s[0..<end])
        while k < end {
            if end - k >= 8 && SWAR.isASCII(s.loadUnaligned(fromByteOffset: k, as: UInt64.self)) {
                k += 8
                continue
            }
            if s[k] < 0x80 {
                k += 1
                continue
            }
            let length = length(text, k)
            guard length > 0 else { return k }
            k += length
        }
        return nil
    }

    /// Why a sequence is ill-formed, for error messages.
    public enum Problem: Equatable, Sendable {
        /// Lead byte 0xC0 or 0xC1: could only start an overlong form of an ASCII character.
        case overlongLead
        /// A continuation byte (0x80...0xBF) or 0xF5...0xFF where a lead byte must be.
        case invalidLead
        /// The sequence ends early: input runs out or a continuation byte is missing.
        case truncated
        /// A continuation byte outside the lead's range: overlong, a UTF-16 surrogate or above U+10FFFF.
        case overlongSurrogateOrOutOfRange
    }

    /// Why the sequence at `i` is ill-formed; call only when `length(s, i)` is 0.
    public static func problem(_ s: UnsafeRawBufferPointer, _ i: Int) -> Problem {
        let lead = s[i]
        if lead == 0xC0 || lead == 0xC1 { return .overlongLead }
        guard let (length, low, high) = rule(lead) else { return .invalidLead }
        guard s.count - i >= length else { return .truncated }
        let second = s[i + 1]
        guard second >= low && second <= high else {
            return second & 0xC0 != 0x80 ? .truncated : .overlongSurrogateOrOutOfRange
        }
        return .truncated  // a later byte is not a continuation byte
    }
}
