// FilterNumber: an exact decimal with DynamoDB N semantics (up to 38 significant digits,
// magnitude 1E-130 ... 9.99…E+125). Stored normalized so that equal values have equal bits:
// value = sign × 0.d1d2…d38 × 10^exponent with d1 ≠ 0, the 38 digits left-aligned in two
// 19-digit halves. Ordering is then (sign, exponent, high, low): no Double, no allocation.

import WireCodec

/// An exact DynamoDB number. `1`, `1.0` and `10E-1` are the same value (equal and same hash).
public struct FilterNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// -1, 0 or +1; zero has exponent, high and low all 0.
    @usableFromInline var sign: Int8
    /// Adjusted exponent: the value is 0.d1d2… × 10^exponent.
    @usableFromInline var exponent: Int16
    /// Digits d1…d19 as a 19-digit integer (d1 is the most significant).
    @usableFromInline var high: UInt64
    /// Digits d20…d38 as a 19-digit integer.
    @usableFromInline var low: UInt64

    /// DynamoDB's N limits: 38 significant digits, positive magnitudes 1E-130 … 9.99…E+125.
    static let maxDigits = 38
    static let minExponent = -129  // 1E-130 = 0.1 × 10^-129
    static let maxExponent = 126  // 9.9…E+125 = 0.99… × 10^126

    public static let zero = FilterNumber(sign: 0, exponent: 0, high: 0, low: 0)

    @usableFromInline init(sign: Int8, exponent: Int16, high: UInt64, low: UInt64) {
        self.sign = sign
        self.exponent = exponent
        self.high = high
        self.low = low
    }

    /// An integer value (exact; a 64-bit Int has at most 19 digits, so it always fits).
    public init(_ value: Int) {
        if value == 0 {
            self = .zero
            return
        }
        let magnitude = UInt64(value.magnitude)
        var count = 0
        var t = magnitude
        while t > 0 {
            t /= 10
            count += 1
        }
        self.init(
            sign: value < 0 ? -1 : 1, exponent: Int16(count), high: magnitude * DecimalText.powerOfTen(19 - count), low: 0)
    }

    /// Parses a JSON number literal (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
    /// Returns nil for anything else, and for numbers outside DynamoDB's N range or precision.
    public init?(text: String) {
        var text = text
        guard let parsed = text.withUTF8({ FilterNumber(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    /// Parses exactly the bytes given as a JSON number literal (see `init?(text:)`).
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard let (number, used) = FilterNumber.scan(bytes, from: 0), used == bytes.count, let number else {
            return nil
        }
        self = number
    }

    /// Scans a JSON number starting at `start`. Returns nil when the bytes there are not a JSON
    /// number; otherwise the value and the byte count used. The value is nil when the number is
    /// valid JSON but not a DynamoDB N (more than 38 significant digits, out of range).
    /// Allocation-free: this runs per event on document numbers.
    @inline(__always)
    static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (FilterNumber?, Int)? {
        if let fast = scanPlain(bytes, from: start) { return fast }
        return scanGeneral(bytes, from: start)
    }

    /// Appends the decimal digits from `i` (up to `end`) to `v` (wrapping: callers bound the count);
    /// leaves `i` past them and returns how many there were.
    @inline(__always)
    static func accumulateDigits(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int, into v: inout UInt64) -> Int {
        var count = 0
        while i < end {
            let d = bytes[i] &- 0x30
            if d > 9 { break }
            v = v &* 10 &+ UInt64(d)
            count &+= 1
            i &+= 1
        }
        return count
    }

    /// The common case in one tight loop: `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 19 digits
    /// in all and no exponent. Returns nil for anything else (then scanGeneral decides), and
    /// otherwise exactly what scanGeneral would.
    @inline(__always)
    static func scanPlain(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (FilterNumber?, Int)? {
        let end = bytes.count
        var i = start
        let negative = i < end && bytes[i] == UInt8(ascii: "-")
        if negative { i &+= 1 }
        guard i < end else { return nil }
        var v: UInt64 = 0
        var digits = 0
        if bytes[i] == 0x30 {
            i &+= 1  // a lone 0: no more integer digits may follow (scanGeneral stops there too)
        } else {
            digits = accumulateDigits(bytes, &i, end, into: &v)
            guard digits > 0 else { return nil }
        }
        var fraction = 0
        if i < end && bytes[i] == UInt8(ascii: ".") {
            i &+= 1
            fraction = accumulateDigits(bytes, &i, end, into: &v)
            guard fraction > 0 else { return nil }
        }
        guard digits &+ fraction <= 19 else { return nil }
        if i < end && (bytes[i] | 0x20) == UInt8(ascii: "e") { return nil }
        if v == 0 { return (.zero, i &- start) }
        let significant = DecimalText.digitCount(v)
        return (
            FilterNumber(
                sign: negative ? -1 : 1, exponent: Int16(significant &- fraction), high: v &* DecimalText.powerOfTen(19 &- significant),
                low: 0),
            i &- start
        )
    }

    /// Any JSON number (see `scan`).
    static func scanGeneral(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (FilterNumber?, Int)? {
        let end = bytes.count
        var i = start
        var negative = false
        if i < end && bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < end, bytes[i] >= 0x30 && bytes[i] <= 0x39 else { return nil }
        // A struct, not a nested func capturing locals: captured vars are heap boxes in
        // unoptimized builds, and this runs per event.
        var digits = DigitAccumulator()

        // Integer part: a lone 0, or digits not starting with 0.
        if bytes[i] == 0x30 {
            i += 1
        } else {
            while i < end, bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                digits.take(UInt64(bytes[i] &- 0x30))
                i += 1
            }
        }
        var pointExponent = digits.significant  // adjusted exponent before e±x
        if i < end && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard i < end, bytes[i] >= 0x30 && bytes[i] <= 0x39 else { return nil }
            while i < end, bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                let digit = UInt64(bytes[i] &- 0x30)
                if !digits.seenNonZero && digit == 0 { pointExponent -= 1 }
                digits.take(digit)
                i += 1
            }
        }
        var exponentValue = 0
        if i < end && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < end && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < end, bytes[i] >= 0x30 && bytes[i] <= 0x39 else { return nil }
            while i < end, bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                // Saturate: anything beyond 10^6 is far outside N's range anyway.
                if exponentValue < 1_000_000 { exponentValue = exponentValue * 10 + Int(bytes[i] &- 0x30) }
                i += 1
            }
            if expNegative { exponentValue = -exponentValue }
        }
        let used = i - start
        if !digits.seenNonZero { return (.zero, used) }
        if digits.tooPrecise { return (nil, used) }
        let adjusted = pointExponent + exponentValue
        guard adjusted >= minExponent && adjusted <= maxExponent else { return (nil, used) }
        // Left-align both halves to 19 digits so that trailing zeros do not matter.
        let taken = min(digits.significant, 38)
        if taken < 19 {
            digits.high = digits.high &* DecimalText.powerOfTen(19 - taken)
        } else {
            digits.low = digits.low &* DecimalText.powerOfTen(38 - taken)
        }
        return (FilterNumber(sign: negative ? -1 : 1, exponent: Int16(adjusted), high: digits.high, low: digits.low), used)
    }

    /// Significant digits of a literal: the first 19 in `high`, the next 19 in `low`.
    private struct DigitAccumulator {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var significant = 0   // digits taken since the first non-zero digit
        var tooPrecise = false
        var seenNonZero = false

        @inline(__always)
        mutating func take(_ digit: UInt64) {
            if !seenNonZero {
                if digit == 0 { return }
                seenNonZero = true
            }
            if significant < 19 {
                high = high &* 10 &+ digit
            } else if significant < 38 {
                low = low &* 10 &+ digit
            } else if digit != 0 {
                tooPrecise = true
            }
            significant += 1
        }
    }

    public static func < (lhs: FilterNumber, rhs: FilterNumber) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// -1, 0 or +1.
    @inline(__always)
    static func compare(_ a: FilterNumber, _ b: FilterNumber) -> Int {
        if a.sign != b.sign { return a.sign < b.sign ? -1 : 1 }
        if a.sign == 0 { return 0 }
        let magnitude: Int
        if a.exponent != b.exponent {
            magnitude = a.exponent < b.exponent ? -1 : 1
        } else if a.high != b.high {
            magnitude = a.high < b.high ? -1 : 1
        } else if a.low != b.low {
            magnitude = a.low < b.low ? -1 : 1
        } else {
            magnitude = 0
        }
        return a.sign < 0 ? -magnitude : magnitude
    }

    /// Canonical text: plain decimal for moderate exponents, else `d.dddE±x`. Equal values give
    /// equal text (used in fingerprints and disassembly); the text parses back to the same value.
    public var description: String {
        if sign == 0 { return "0" }
        var digits = [UInt8](repeating: 0x30, count: 38)
        var h = high
        var l = low
        for k in stride(from: 18, through: 0, by: -1) {
            digits[k] = 0x30 + UInt8(h % 10)
            h /= 10
            digits[19 + k] = 0x30 + UInt8(l % 10)
            l /= 10
        }
        while digits.count > 1 && digits.last == 0x30 { digits.removeLast() }
        let e = Int(exponent)
        var out: [UInt8] = sign < 0 ? [UInt8(ascii: "-")] : []
        if e > 0 && e <= 40 {
            if digits.count <= e {
                out += digits + [UInt8](repeating: 0x30, count: e - digits.count)
            } else {
                out += digits[0..<e] + [UInt8(ascii: ".")] + digits[e...]
            }
        } else if e <= 0 && e > -7 {
            out += [0x30, UInt8(ascii: ".")] + [UInt8](repeating: 0x30, count: -e) + digits
        } else {
            out.append(digits[0])
            if digits.count > 1 { out += [UInt8(ascii: ".")] + digits[1...] }
            out += Array("E\(e - 1 >= 0 ? "+" : "")\(e - 1)".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
