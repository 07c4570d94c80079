// DecimalText: the decimal digits of an unsigned integer, written in place two at a time from a
// table of digit pairs — the one integer-to-text routine: JSONWriter's integers, the in-place JSON
// EVENT head (WampEncoder, on the publish path) and FilterVM's numbers beyond Int.

public enum DecimalText {
    /// How many decimal digits `value` has (1…20).
    @inlinable @inline(__always)
    public static func digitCount(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 100 {
            rest /= 100
            digits += 2
        }
        if rest >= 10 { digits += 1 }
        return digits
    }

    /// Writes `value` in decimal at `offset` (room for 20 bytes); returns the offset after the
    /// last digit.
    @inlinable @inline(__always)
    public static func write(_ value: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        let end = offset + digitCount(value)
        let pairs = digitPairs.utf8Start
        var v = value
        var k = end
        while v >= 100 {
            let pair = Int(v % 100) &* 2
            v /= 100
            k -= 2
            base.storeBytes(of: pairs[pair], toByteOffset: k, as: UInt8.self)
            base.storeBytes(of: pairs[pair + 1], toByteOffset: k + 1, as: UInt8.self)
        }
        if v >= 10 {
            let pair = Int(v) &* 2
            base.storeBytes(of: pairs[pair], toByteOffset: k - 2, as: UInt8.self)
            base.storeBytes(of: pairs[pair + 1], toByteOffset: k - 1, as: UInt8.self)
        } else {
            base.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v), toByteOffset: k - 1, as: UInt8.self)
        }
        return end
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

    /// "00", "01", … "99" back to back (a literal: its bytes are a constant, no lazy global).
    @inlinable
    static var digitPairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }
}
