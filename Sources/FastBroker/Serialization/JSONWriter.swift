// JSONWriter: appends JSON to a byte array without Foundation. With capacity reserved, appends do not
// allocate. The output is always valid JSON: invalid UTF-8 handed to appendString(UnsafeRawBufferPointer)
// becomes U+FFFD. Binary (JSONValue.binary) is written the WAMP way: "\u0000" + base64 of the bytes.

import WireCodec

public enum JSONWriter {
    /// A quoted string; `"` and `\` escaped, control characters as \u00xx, non-ASCII kept as UTF-8.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s  // withUTF8 is mutating; a native String is already contiguous, so this does not copy.
        s.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), validate: false, to: &out) }
    }

    /// `s` as a JSON string literal, for text (paths, messages, challenges) rather than byte buffers.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A quoted string from UTF-8 bytes; invalid sequences are written as U+FFFD.
    public static func appendString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendEscaped(utf8, validate: true, to: &out)
    }

    public static func appendString(_ s: StaticString, to out: inout [UInt8]) {
        s.withUTF8Buffer { appendEscaped(UnsafeRawBufferPointer($0), validate: true, to: &out) }
    }

    public static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        DecimalText.withDigits(v) { out.append(contentsOf: $0) }
    }

    /// `value` in decimal at `offset` of raw storage with room for 20 bytes; returns the offset after
    /// it. For heads built in place (WampEncoder's JSON EVENT head): the same digits as appendUInt,
    /// but up to 7 bytes after them, within the room, may be overwritten (the head writes them next).
    @inlinable @inline(__always)
    public static func writeDecimal(_ value: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        DecimalText.writeOverwritingTail(value, to: base, at: offset)
    }

    public static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        appendUInt(v.magnitude, to: &out)
    }

    public static func appendBool(_ v: Bool, to out: inout [UInt8]) {
        appendRaw(v ? "true" : "false", to: &out)
    }

    public static func appendNull(to out: inout [UInt8]) {
        appendRaw("null", to: &out)
    }

    /// The shortest text that reads back as the same Double (Swift's `description` algorithm).
    /// Integral values keep a ".0" ("3.0"; large magnitudes use exponent form, "1e+16"), so a reader can tell a double from
    /// an integer; -0.0 is written "-0.0". NaN and infinities have no JSON form: written as null.
    public static func appendDouble(_ v: Double, to out: inout [UInt8]) {
        guard v.isFinite else {
            appendNull(to: &out)
            return
        }
        ShortestDouble.append(v, to: &out)
    }

    /// A WAMP binary in JSON: the string "\u0000" followed by the standard base64 of `bytes`.
    public static func appendBinary(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendRaw("\"\\u0000", to: &out)
        Base64.encode(bytes, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// A quoted string from UTF-8 bytes already known to be valid (e.g. a validated MessagePack str).
    static func appendValidString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendEscaped(utf8, validate: false, to: &out)
    }

    public static func appendValue(_ v: JSONValue, to out: inout [UInt8]) {
        switch v {
        case .null: appendNull(to: &out)
        case .bool(let b): appendBool(b, to: &out)
        case .number(let n): appendNumber(n, to: &out)
        case .string(let s): appendString(s, to: &out)
        case .binary(let bytes): bytes.withUnsafeBytes { appendBinary($0, to: &out) }
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (k, e) in elements.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                appendValue(e, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (k, m) in members.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                appendString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendValue(m.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The number's text when it is a valid JSON number literal (it is for every JSONNumber made by
    /// the scanner or the initializers), else its double.
    public static func appendNumber(_ n: JSONNumber, to out: inout [UInt8]) {
        var text = n.text
        let valid = text.withUTF8 { utf8 -> Bool in
            let raw = UnsafeRawBufferPointer(utf8)
            guard case .success(let span) = JSONScanner.scanValue(raw) else { return false }
            return span.kind == .number && span.start == 0 && span.end == raw.count
        }
        if valid {
            text.withUTF8 { out.append(contentsOf: $0) }
        } else if let i = n.integer {
            appendInt(i, to: &out)
        } else {
            appendDouble(n.double, to: &out)
        }
    }

    /// Bytes copied verbatim (e.g. validated PUBLISH args/kwargs into an EVENT).
    public static func appendRaw(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: bytes)
    }

    public static func appendRaw(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    private static func appendEscaped(_ s: UnsafeRawBufferPointer, validate: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            if c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            if c >= 0x80 {
                let length = validate ? UTF8Sequence.length(s, i) : 1
                if length > 0 {
                    i += length
                    continue
                }
            }
            if runStart < i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[runStart..<i])) }
            switch c {
            case UInt8(ascii: "\""): appendRaw("\\\"", to: &out)
            case UInt8(ascii: "\\"): appendRaw("\\\\", to: &out)
            case 0x0A: appendRaw("\\n", to: &out)
            case 0x0D: appendRaw("\\r", to: &out)
            case 0x09: appendRaw("\\t", to: &out)
            case ..<0x20:
                let hex: StaticString = "0123456789abcdef"
                appendRaw("\\u00", to: &out)
                out.append(hex.utf8Start[Int(c >> 4)])
                out.append(hex.utf8Start[Int(c & 15)])
            default:
                appendRaw("\u{FFFD}", to: &out)  // one replacement character per bad UTF-8 byte
            }
            i += 1
            runStart = i
        }
        if runStart < n { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[runStart..<n])) }
        out.append(UInt8(ascii: "\""))
    }
}
