// SWAR: word-at-a-time byte tests (the "haszero"/"hasless" bit tricks) over 8 bytes loaded as a
// little-endian UInt64, so byte k of the input is byte k of the word. The JSON scanner uses them to
// skip plain string runs and digit runs and to read short integers; FilterVM's JSON document to find
// quotes, brackets and value ends.

public enum SWAR {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let highs: UInt64 = 0x8080_8080_8080_8080

    /// True when all eight bytes of `w` are ASCII (below 0x80).
    @inlinable @inline(__always)
    public static func isASCII(_ w: UInt64) -> Bool { w & highs == 0 }

    @inlinable @inline(__always)
    public static func hasZeroByte(_ w: UInt64) -> Bool { (w &- ones) & ~w & highs != 0 }

    /// True when any byte of `w` is a control character, '"', '\\' or non-ASCII.
    @inlinable @inline(__always)
    public static func needsAttention(_ w: UInt64) -> Bool {
        let lessThan0x20 = (w &- ones &* 0x20) & ~w & highs
        return lessThan0x20 | (w & highs) != 0
            || hasZeroByte(w ^ (ones &* 0x22)) || hasZeroByte(w ^ (ones &* 0x5C))
    }

    /// High bit set in each byte of `w` equal to `b` (the lowest set bit is exact; bits above a
    /// match may be false positives, so only the lowest is used).
    @inlinable @inline(__always)
    public static func bytesEqual(_ w: UInt64, _ b: UInt8) -> UInt64 {
        let x = w ^ (ones &* UInt64(b))
        return (x &- ones) & ~x & highs
    }

    /// High bit set in each byte of `w` below `n` (n <= 0x80; lowest set bit exact).
    @inlinable @inline(__always)
    public static func bytesBelow(_ w: UInt64, _ n: UInt8) -> UInt64 {
        (w &- ones &* UInt64(n)) & ~w & highs
    }

    /// High bit of each byte of `x` that is zero, exactly (no false positives, unlike the
    /// lowest-hit tests above: no borrow crosses bytes).
    @inlinable @inline(__always)
    public static func zeroBytes(_ x: UInt64) -> UInt64 {
        ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x) & highs
    }

    /// The high bits of `h` (0x80 per byte) gathered into 8 bits, byte k → bit k.
    @inlinable @inline(__always)
    public static func byteMask(_ h: UInt64) -> UInt64 {
        ((h >> 7) &* 0x0102_0408_1020_4080) >> 56
    }

    /// High bit set in each byte of `w` that a JSON string scan must stop at: a control character
    /// (< 0x20), '"', '\\' or a non-ASCII byte (≥ 0x80). The lowest set bit is exact.
    @inlinable @inline(__always)
    public static func stringAttention(_ w: UInt64) -> UInt64 {
        bytesBelow(w, 0x20) | (w & highs) | bytesEqual(w, UInt8(ascii: "\"")) | bytesEqual(w, UInt8(ascii: "\\"))
    }

    /// High bit set in each byte of `x` that is ≥ 10, exactly: with `x` = a word XOR 0x30 per byte,
    /// the bytes that are not ASCII digits. No carry crosses bytes ((x & 0x7F) + 0x76 ≤ 0xF5).
    @inlinable @inline(__always)
    public static func bytesAbove9(_ x: UInt64) -> UInt64 {
        (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & highs
    }

    /// How many of the first bytes of `w` (0...8, lowest address first) are ASCII digits.
    @inlinable @inline(__always)
    public static func leadingDigitCount(_ w: UInt64) -> Int {
        bytesAbove9(w ^ (ones &* 0x30)).trailingZeroBitCount >> 3
    }

    /// The value of the `count` (1...8) ASCII digits at the low end of `w` (first digit lowest),
    /// or nil when one of them is not a digit; the bytes above them are ignored.
    @inlinable @inline(__always)
    public static func decimalValue(_ w: UInt64, count: Int) -> UInt64? {
        // Shift the digits to the top: the junk above them falls out, zero digits come in below.
        let x = (w ^ (ones &* 0x30)) &<< UInt64(truncatingIfNeeded: 64 - 8 * count)
        guard bytesAbove9(x) == 0 else { return nil }
        // Pairs, then quads, then all eight (most significant digit at the lowest address).
        let pairs = (x &* 0x0A01) &>> 8 & 0x00FF_00FF_00FF_00FF
        let quads = (pairs &* 0x0064_0001) &>> 16 & 0x0000_FFFF_0000_FFFF
        return (quads &* 0x0000_2710_0000_0001) &>> 32
    }
}
