// JSONEscape: one JSON string escape (RFC 8259 §7) decoded — the two-character escapes, and
// `\uXXXX` with a high surrogate paired to the `\uDC00`–`\uDFFF` escape that must follow it — for
// the readers that build strings: BrokerSerialization's JSONTreeReader (config, user database) and
// FilterVM's filter_values parser and lazy document strings. Each reader words its own errors
// from the outcome (where the bad byte is, which surrogate stood alone).

public enum JSONEscape {
    /// The byte the two-character escape `\c` stands for (`n` → 0x0A), or nil for `u` and for
    /// bytes that do not form an escape.
    @inlinable
    public static func simple(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return c
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        default: return nil
        }
    }

    /// The value of one hex digit (either case), or nil.
    @inlinable @inline(__always)
    public static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b &- UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b &- UInt8(ascii: "A") &+ 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b &- UInt8(ascii: "a") &+ 10
        default: return nil
        }
    }

    /// What a `\u` escape decodes to.
    public enum Unicode: Equatable, Sendable {
        /// A Unicode scalar (never a surrogate); `end` is just past its last hex digit.
        case scalar(UInt32, end: Int)
        /// A hex digit is missing at `at` (`at` == the text's length: the text ended first).
        case badHex(at: Int)
        /// A high surrogate without a low one after it, or a lone low one (`value`); `end` is
        /// just past the hex digits read.
        case unpairedSurrogate(UInt32, end: Int)
    }

    /// Decodes the `\u` escape whose four hex digits start at `i` (just past `\u`), with the
    /// low-surrogate escape after a high surrogate.
    @inlinable
    public static func unicode<Bytes: RandomAccessCollection>(_ bytes: Bytes, _ i: Int) -> Unicode
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let high: UInt32
        switch hex4(bytes, i) {
        case .success(let value): high = value
        case .failure(let bad): return .badHex(at: bad.at)
        }
        var end = i + 4
        if (0xDC00...0xDFFF).contains(high) { return .unpairedSurrogate(high, end: end) }
        guard (0xD800...0xDBFF).contains(high) else { return .scalar(high, end: end) }
        guard end + 1 < bytes.endIndex, bytes[end] == UInt8(ascii: "\\"), bytes[end + 1] == UInt8(ascii: "u") else {
            return .unpairedSurrogate(high, end: end)
        }
        let low: UInt32
        switch hex4(bytes, end + 2) {
        case .success(let value): low = value
        case .failure(let bad): return .badHex(at: bad.at)
        }
        end += 6
        guard (0xDC00...0xDFFF).contains(low) else { return .unpairedSurrogate(high, end: end) }
        return .scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), end: end)
    }

    /// What `decode` found after a backslash.
    public enum Escape: Equatable, Sendable {
        /// Decoded and appended; `end` is just past the escape.
        case decoded(end: Int)
        /// The text ended right after the backslash.
        case endOfInput
        /// `\c` where `c` (just past the backslash) starts no escape.
        case notAnEscape(UInt8)
        /// As in `Unicode` (the `\u` escape's outcomes).
        case badHex(at: Int)
        case unpairedSurrogate(UInt32, end: Int)
    }

    /// Decodes the escape whose letter is at `i` (just past the backslash) and appends its UTF-8
    /// to `out` — the one escape decoder of the string-building readers.
    @inlinable
    public static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes, _ i: Int, into out: inout [UInt8]) -> Escape
    where Bytes.Element == UInt8, Bytes.Index == Int {
        guard i < bytes.endIndex else { return .endOfInput }
        let c = bytes[i]
        if let byte = simple(c) {
            out.append(byte)
            return .decoded(end: i + 1)
        }
        guard c == UInt8(ascii: "u") else { return .notAnEscape(c) }
        switch unicode(bytes, i + 1) {
        case .scalar(let scalar, let end):
            appendUTF8(scalar, to: &out)
            return .decoded(end: end)
        case .badHex(let at):
            return .badHex(at: at)
        case .unpairedSurrogate(let value, let end):
            return .unpairedSurrogate(value, end: end)
        }
    }

    /// Where four hex digits were expected and one was not.
    public struct BadHex: Error, Sendable {
        public let at: Int
        @inlinable public init(at: Int) { self.at = at }
    }

    /// The value of the four hex digits at `i`.
    @inlinable
    public static func hex4<Bytes: RandomAccessCollection>(_ bytes: Bytes, _ i: Int) -> Result<UInt32, BadHex>
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var value: UInt32 = 0
        for k in i..<i + 4 {
            guard k < bytes.endIndex, let digit = hexDigit(bytes[k]) else { return .failure(BadHex(at: min(k, bytes.endIndex))) }
            value = value << 4 | UInt32(digit)
        }
        return .success(value)
    }

    /// Appends the UTF-8 encoding of `scalar` (a Unicode scalar value).
    @inlinable
    public static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        if scalar < 0x80 {
            out.append(UInt8(scalar))
        } else if scalar < 0x800 {
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
