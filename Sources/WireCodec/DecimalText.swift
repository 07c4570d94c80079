// DecimalText: the decimal digits of an unsigned integer — the one integer-to-text routine: JSONWriter's
// integers, the in-place JSON EVENT head (WampEncoder, on the publish path: publication ids have ~16
// digits) and FilterVM's numbers beyond Int. The digit count comes from the bit width and one compare;
// the digits are made eight at a time in one 64-bit word (SWAR), so a 16-digit id costs two divisions.

public enum DecimalText {
    /// How many decimal digits `value` has (1…20).
    @inlinable @inline(__always)
    public static func digitCount(_ value: UInt64) -> Int {
        // bits·1233/4096 ≈ bits·log10(2): the digit count of the bit width's smallest value, less one;
        // one compare with the power of ten at that guess adds the last digit.
        let bits = 64 &- (value | 1).leadingZeroBitCount
        let guess = (bits &* 1233) &>> 12  // 0…19
        // `| 1`: 0…7 guess 0 and must count one digit (10^k is even, so no other answer changes).
        return guess &+ ((value | 1) >= powerOfTen(guess) ? 1 : 0)
    }

    /// 10^`exponent` for 0…19 (FilterVM's decimal scaling uses it too). A switch over constants:
    /// the optimiser makes it a constant table, with no lazily initialised global.
    @inlinable @inline(__always)
    public static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1_000
        case 4: return 10_000
        case 5: return 100_000
        case 6: return 1_000_000
        case 7: return 10_000_000
        case 8: return 100_000_000
        case 9: return 1_000_000_000
        case 10: return 10_000_000_000
        case 11: return 100_000_000_000
        case 12: return 1_000_000_000_000
        case 13: return 10_000_000_000_000
        case 14: return 100_000_000_000_000
        case 15: return 1_000_000_000_000_000
        case 16: return 10_000_000_000_000_000
        case 17: return 100_000_000_000_000_000
        case 18: return 1_000_000_000_000_000_000
        default: return 10_000_000_000_000_000_000
        }
    }

    /// The eight decimal digits of `value` (< 10^8, leading zeros kept) as ASCII in one word whose
    /// lowest byte is the most significant digit (memory order once stored little-endian). Each step
    /// splits every lane at once: 4-digit halves, then 2-digit quarters, then single digits, dividing
    /// by multiply-shift (n·10486>>20 = n/100 for n < 10^4, n·103>>10 = n/10 for n < 100).
    @inlinable @inline(__always)
    static func eightDigits(_ value: UInt64) -> UInt64 {
        eightDigitValues(value) | asciiZeros
    }

    /// The same digits as values 0…9 (a zero digit is a zero byte); `| asciiZeros` makes them text.
    @inlinable @inline(__always)
    static func eightDigitValues(_ value: UInt64) -> UInt64 {
        let merged = (value / 10_000) | ((value % 10_000) &<< 32)
        let hundreds = ((merged &* 10486) &>> 20) & 0x0000_007F_0000_007F
        let pairs = ((merged &- hundreds &* 100) &<< 16) &+ hundreds
        let tens = ((pairs &* 103) &>> 10) & 0x000F_000F_000F_000F
        return tens &+ ((pairs &- tens &* 10) &<< 8)
    }

    /// A constant, not a stored global (which inlined code would reach through a lazy initialiser).
    @inlinable static var asciiZeros: UInt64 { 0x3030_3030_3030_3030 }

    /// Writes `value` in decimal at `offset` (room for 20 bytes); returns the offset after the
    /// last digit. Writes exactly the digits' bytes, nothing beyond them.
    @inlinable @inline(__always)
    public static func write(_ value: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        let end = offset &+ digitCount(value)
        var v = value
        var k = end
        while v >= 100_000_000 {
            k &-= 8
            base.storeBytes(of: eightDigits(v % 100_000_000).littleEndian, toByteOffset: k, as: UInt64.self)
            v /= 100_000_000
        }
        // The leading 1…8 digits: drop the word's leading zeros, then store it as two overlapping
        // stores of 4, 2 or 1 bytes, so no byte beyond the digits is touched.
        let lead = k &- offset
        let word = eightDigits(v) &>> UInt64(truncatingIfNeeded: (8 &- lead) &* 8)
        if lead >= 4 {
            base.storeBytes(of: UInt32(truncatingIfNeeded: word).littleEndian, toByteOffset: offset, as: UInt32.self)
            base.storeBytes(of: UInt32(truncatingIfNeeded: word &>> UInt64(truncatingIfNeeded: (lead &- 4) &* 8)).littleEndian,
                            toByteOffset: k &- 4, as: UInt32.self)
        } else if lead >= 2 {
            base.storeBytes(of: UInt16(truncatingIfNeeded: word).littleEndian, toByteOffset: offset, as: UInt16.self)
            base.storeBytes(of: UInt16(truncatingIfNeeded: word &>> UInt64(truncatingIfNeeded: (lead &- 2) &* 8)).littleEndian,
                            toByteOffset: k &- 2, as: UInt16.self)
        } else {
            base.storeBytes(of: UInt8(truncatingIfNeeded: word), toByteOffset: offset, as: UInt8.self)
        }
        return end
    }

    /// `write`'s digits with fewer instructions, for text built in place whose following bytes are
    /// written next (the JSON EVENT head): up to 16 digits take one or two whole-word stores, the
    /// first with its leading zeros shifted out, so up to 7 bytes after the last digit may be
    /// overwritten (never beyond the 20 bytes of room at `offset`). The digit count comes from the
    /// leading zero digits of the top word (a trailing-zero count), not from a power-of-ten compare.
    @inlinable @inline(__always)
    public static func writeOverwritingTail(_ value: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        // 17 digits and more (never a WAMP id: those are ≤ 2^53): the exact writer.
        guard value < 10_000_000_000_000_000 else { return writeOutOfLine(value, to: base, at: offset) }
        if value >= 100_000_000 {
            let high = value / 100_000_000
            let low = value &- high &* 100_000_000
            let highDigits = eightDigitValues(high)
            let zeros = highDigits.trailingZeroBitCount &>> 3   // high ≥ 1: at most 7 leading zero digits
            base.storeBytes(of: ((highDigits | asciiZeros) &>> (zeros &* 8)).littleEndian, toByteOffset: offset, as: UInt64.self)
            let lowAt = offset &+ 8 &- zeros
            base.storeBytes(of: (eightDigitValues(low) | asciiZeros).littleEndian, toByteOffset: lowAt, as: UInt64.self)
            return lowAt &+ 8
        }
        let digits = eightDigitValues(value)
        let zeros = (digits | (1 &<< 56)).trailingZeroBitCount &>> 3   // 0 still has its one digit
        base.storeBytes(of: ((digits | asciiZeros) &>> (zeros &* 8)).littleEndian, toByteOffset: offset, as: UInt64.self)
        return offset &+ 8 &- zeros
    }

    /// `write` behind a call: keeps the rare 17-to-20-digit path out of `writeOverwritingTail`'s
    /// inlined body, so that body stays small enough to inline and needs fewer registers.
    @usableFromInline @inline(never)
    static func writeOutOfLine(_ value: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        write(value, to: base, at: offset)
    }

    /// Calls `body` with the digits of `value`, written into stack storage (no allocation).
    @inlinable
    public static func withDigits<R>(_ value: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ the 20 digits of UInt64.max
        return try withUnsafeMutableBytes(of: &scratch) { buffer in
            let base = buffer.baseAddress!
            let count = write(value, to: base, at: 0)
            return try body(UnsafeRawBufferPointer(start: base, count: count))
        }
    }
}
