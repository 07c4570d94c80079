// UTF8Sequence: UTF-8 well-formedness one sequence at a time, for validators that skip ASCII runs
// themselves (a SWAR word test) and only need the multi-byte sequences checked: the MessagePack
// scanner's str check and the JSON writer's validating string copy.

/// UTF-8 well-formedness (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
public enum UTF8Sequence {
    /// Length of the well-formed sequence starting at `i` (whose lead byte is ≥ 0x80), 0 if ill-formed.
    @inlinable
    public static func length(_ s: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let lead = s[i]
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return 0
        }
        guard s.count - i >= length, s[i + 1] >= low, s[i + 1] <= high else { return 0 }
        for k in 2..<length where s[i + k] & 0xC0 != 0x80 { return 0 }
        return length
    }
}
