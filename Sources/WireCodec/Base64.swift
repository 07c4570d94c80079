// Base64: the standard alphabet with '=' padding (RFC 4648 §4), as WAMP uses for binary values in
// JSON ("\u0000" + base64). Encoding appends to the caller's array without allocating; decoding is
// strict (length a multiple of 4, padding only at the end, zero unused bits) so only canonical text
// converts, and bytes → text → bytes → text gives the same text. Used by the JSON writer and
// transcoder, the WebSocket handshake (Sec-WebSocket-Key/Accept) and FilterVM's view of bin values.

public enum Base64 {
    /// The symbol for the low six bits of `six`.
    @inlinable @inline(__always)
    public static func symbol(_ six: UInt32) -> UInt8 {
        let v = UInt8(truncatingIfNeeded: six & 63)
        switch v {
        case 0..<26: return UInt8(ascii: "A") &+ v
        case 26..<52: return UInt8(ascii: "a") &+ (v &- 26)
        case 52..<62: return UInt8(ascii: "0") &+ (v &- 52)
        case 62: return UInt8(ascii: "+")
        default: return UInt8(ascii: "/")
        }
    }

    public static func encodedCount(_ byteCount: Int) -> Int { (byteCount + 2) / 3 * 4 }

    /// The base64 text of `bytes` (off the hot path: builds a String).
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(encodedCount(bytes.count))
        bytes.withUnsafeBytes { encode($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of strict base64 `text`, nil when it is not strict base64 (rules above).
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        guard decode(&iterator, { out.append($0) }) != nil else { return nil }
        return out
    }

    public static func encode(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var k = 0
        let n = bytes.count
        while n - k >= 3 {
            let group = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2])
            out.append(symbol(group >> 18))
            out.append(symbol(group >> 12))
            out.append(symbol(group >> 6))
            out.append(symbol(group))
            k += 3
        }
        if n - k == 1 {
            let group = UInt32(bytes[k]) << 16
            out.append(symbol(group >> 18))
            out.append(symbol(group >> 12))
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if n - k == 2 {
            let group = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8
            out.append(symbol(group >> 18))
            out.append(symbol(group >> 12))
            out.append(symbol(group >> 6))
            out.append(UInt8(ascii: "="))
        }
    }

    /// The 6-bit value of a base64 symbol, nil for anything else (including '=').
    @inlinable @inline(__always)
    public static func value(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    /// Decodes base64 text produced by `next()` calls of `text` (an iterator of bytes), handing each
    /// decoded byte to `sink`. Returns the decoded byte count, or nil when the text is not strict
    /// base64 (then some bytes may already have gone to the sink).
    public static func decode<I: IteratorProtocol>(_ text: inout I, _ sink: (UInt8) -> Void) -> Int? where I.Element == UInt8 {
        var count = 0
        while true {
            guard let c0 = text.next() else { return count }  // clean end between groups
            guard let c1 = text.next(), let c2 = text.next(), let c3 = text.next() else { return nil }
            guard let v0 = value(c0), let v1 = value(c1) else { return nil }
            if c2 == UInt8(ascii: "=") {
                // Canonical only: unused low bits must be zero, so re-encoding gives the same text.
                guard c3 == UInt8(ascii: "="), v1 & 0x0F == 0, text.next() == nil else { return nil }
                sink(UInt8(truncatingIfNeeded: (v0 << 18 | v1 << 12) >> 16))
                return count + 1
            }
            guard let v2 = value(c2) else { return nil }
            if c3 == UInt8(ascii: "=") {
                guard v2 & 0x03 == 0, text.next() == nil else { return nil }
                let group = v0 << 18 | v1 << 12 | v2 << 6
                sink(UInt8(truncatingIfNeeded: group >> 16))
                sink(UInt8(truncatingIfNeeded: group >> 8))
                return count + 2
            }
            guard let v3 = value(c3) else { return nil }
            let group = v0 << 18 | v1 << 12 | v2 << 6 | v3
            sink(UInt8(truncatingIfNeeded: group >> 16))
            sink(UInt8(truncatingIfNeeded: group >> 8))
            sink(UInt8(truncatingIfNeeded: group))
            count += 3
        }
    }
}
