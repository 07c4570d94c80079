// JSONScanner: strict RFC 8259 validation of one complete message in a single pass, recording the
// spans of the top-level elements of a WAMP message without allocating.
//
// Rules (RFC 8259, strictly): UTF-8 validity incl. inside strings, no trailing commas, no leading
// zeros, no NaN/Infinity, only whitespace after the top-level value, nesting depth ≤ 64 (the
// top-level array of a message is level 1); a message is an array of at most 7 elements.
//
// Not a resumable state machine on purpose: the transports hand over whole messages (a RawSocket
// frame, a reassembled WebSocket message), so the scanner always sees every byte at once. Nesting is
// kept in a 64-bit stack word instead of recursion, so no input can overflow the call stack, and the
// success path touches only the caller's buffer and inline storage. Errors (which allocate their
// message) are thrown with typed throws, so no existential box is created either.

import WireCodec

public enum JSONScanner: WireScanner {
    @inlinable public static var format: WireFormat { .json }
}

/// The single-pass validator behind `scanMessage` and `scanValue`.
@usableFromInline
struct JSONValidator: MessageValidator {
    static var format: WireFormat { .json }

    private let base: UnsafeRawPointer?
    private let n: Int
    private var i = 0

    @usableFromInline
    init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress
        n = buffer.count
    }

    @inline(__always) private func byte(_ at: Int) -> UInt8 {
        base.unsafelyUnwrapped.load(fromByteOffset: at, as: UInt8.self)
    }

    @inline(__always) private mutating func skipWhitespace() {
        while i < n {
            let c = byte(i)
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// Validates the text; with `message`, requires a top-level array and records its elements.
    @usableFromInline
    mutating func run(message: Bool, elements: inout WampMessageView.Elements) throws(JSONScanError) -> JSONSpan {
        skipWhitespace()
        guard i < n else { throw fail(i, n == 0 ? "empty input" : "only whitespace, expected a value") }
        let topStart = i
        if message && byte(i) != UInt8(ascii: "[") {
            throw fail(i, "a WAMP message must be a JSON array")
        }
        var stack: UInt64 = 0  // bit d set = the container at depth d+1 is an object
        var depth = 0
        var elementStart = 0

        valueLoop: while true {
            // Here a value must start at i (whitespace already skipped).
            guard i < n else { throw fail(i, "unexpected end of input, expected a value") }
            if message && depth == 1 {
                if elements.count == JSONScanner.maxMessageElements {
                    throw fail(i, "a WAMP message has at most \(JSONScanner.maxMessageElements) elements")
                }
                elementStart = i
            }
            var kind: JSONKind
            switch byte(i) {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                // One path for both openers: '{' + 2 is '}' and '[' + 2 is ']'.
                let opener = byte(i)
                let isObject = opener == UInt8(ascii: "{")
                guard depth < JSONScanner.maxDepth else {
                    throw fail(i, "nesting deeper than \(JSONScanner.maxDepth) levels")
                }
                let bit: UInt64 = 1 &<< UInt64(depth)
                stack = isObject ? stack | bit : stack & ~bit
                depth += 1
                i += 1
                skipWhitespace()
                if i < n && byte(i) == opener &+ 2 {
                    i += 1
                    depth -= 1
                    kind = isObject ? .object : .array
                } else {
                    if isObject { try objectKey() }
                    continue valueLoop
                }
            case UInt8(ascii: "\""):
                try string()
                kind = .string
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
                kind = .number
            case UInt8(ascii: "t"):
                try literal(0x74_72_75_65, 4)  // "true"
                kind = .true
            case UInt8(ascii: "f"):
                try literal(0x66_61_6C_73_65, 5)  // "false"
                kind = .false
            case UInt8(ascii: "n"):
                try literal(0x6E_75_6C_6C, 4)  // "null"
                kind = .null
            case UInt8(ascii: "]") where depth > 0:
                throw fail(i, "expected a value (trailing comma?)")
            default:
                throw fail(i, "expected a value")
            }

            // A value of `kind` just ended at i; close as many containers as end here.
            while true {
                if message && depth == 1 {
                    elements.append(JSONSpan(start: elementStart, end: i, kind: kind))
                }
                if depth == 0 {
                    let topEnd = i
                    skipWhitespace()
                    guard i == n else { throw fail(i, "unexpected data after the top-level value") }
                    return JSONSpan(start: topStart, end: topEnd, kind: kind)
                }
                skipWhitespace()
                let inObject = (stack &>> UInt64(depth - 1)) & 1 == 1
                guard i < n else {
                    throw fail(i, inObject ? "unexpected end of input, expected ',' or '}'"
                                           : "unexpected end of input, expected ',' or ']'")
                }
                let c = byte(i)
                if c == UInt8(ascii: ",") {
                    i += 1
                    skipWhitespace()
                    if inObject { try objectKey() }
                    continue valueLoop
                }
                if c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    depth -= 1
                    kind = inObject ? .object : .array
                    continue
                }
                throw fail(i, inObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        }
    }

    /// `"key" ws : ws` — leaves i at the start of the member's value.
    private mutating func objectKey() throws(JSONScanError) {
        guard i < n else { throw fail(i, "unexpected end of input, expected an object key") }
        guard byte(i) == UInt8(ascii: "\"") else {
            throw fail(i, byte(i) == UInt8(ascii: "}") ? "expected an object key (trailing comma?)"
                                                       : "expected a string as object key")
        }
        try string()
        skipWhitespace()
        guard i < n, byte(i) == UInt8(ascii: ":") else { throw fail(i, "expected ':' after an object key") }
        i += 1
        skipWhitespace()
    }

    /// `true` / `false` / `null`, given as big-endian packed ASCII.
    private mutating func literal(_ packed: UInt64, _ length: Int) throws(JSONScanError) {
        guard n - i >= length else { throw fail(i, "invalid literal (expected true, false or null)") }
        var got: UInt64 = 0
        for k in 0..<length { got = got &<< 8 | UInt64(byte(i + k)) }
        guard got == packed else { throw fail(i, "invalid literal (expected true, false or null)") }
        i += length
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() throws(JSONScanError) {
        if byte(i) == UInt8(ascii: "-") { i += 1 }
        guard i < n else { throw fail(i, "unexpected end of input in a number") }
        let first = byte(i)
        if first == UInt8(ascii: "0") {
            i += 1
            if i < n && isDigit(byte(i)) { throw fail(i - 1, "leading zeros are not allowed in numbers") }
        } else if isDigit(first) {
            i += 1
            while i < n && isDigit(byte(i)) { i += 1 }
        } else {
            throw fail(i, "expected a digit in a number")
        }
        if i < n && byte(i) == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(byte(i)) else { throw fail(i, "expected a digit after '.' in a number") }
            while i < n && isDigit(byte(i)) { i += 1 }
        }
        if i < n && (byte(i) | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < n && (byte(i) == UInt8(ascii: "+") || byte(i) == UInt8(ascii: "-")) { i += 1 }
            guard i < n, isDigit(byte(i)) else { throw fail(i, "expected a digit in a number's exponent") }
            while i < n && isDigit(byte(i)) { i += 1 }
        }
    }

    @inline(__always) private func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// A string token starting at the opening quote: escapes, no raw control characters, valid UTF-8.
    private mutating func string() throws(JSONScanError) {
        let open = i
        i += 1
        while true {
            // Skip 8 plain ASCII bytes at a time: none is < 0x20, '"', '\\' or ≥ 0x80. A word
            // with such a byte jumps straight to the first one (each test's lowest hit is exact).
            while n - i >= 8 {
                let w = base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let attention = SWAR.bytesBelow(w, 0x20) | (w & 0x8080_8080_8080_8080)
                    | SWAR.bytesEqual(w, UInt8(ascii: "\"")) | SWAR.bytesEqual(w, UInt8(ascii: "\\"))
                if attention != 0 {
                    i += attention.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < n else { throw fail(n, "unterminated string (opened at byte \(open))") }
            let c = byte(i)
            if c == UInt8(ascii: "\"") {
                i += 1
                return
            }
            if c == UInt8(ascii: "\\") {
                try escape()
            } else if c < 0x20 {
                throw fail(i, "control character 0x\(hex2(c)) must be escaped in a string")
            } else if c < 0x80 {
                i += 1
            } else {
                try utf8Sequence(c)
            }
        }
    }

    private mutating func escape() throws(JSONScanError) {
        guard i + 1 < n else { throw fail(n, "unterminated escape sequence") }
        switch byte(i + 1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            // Lone surrogates (\ud800 alone) are accepted: RFC 8259's grammar allows them and JS/Python
            // clients emit them; decoding maps them to U+FFFD (see JSONScanner+Strings.swift).
            guard n - i >= 6 else { throw fail(i, "\\u needs four hex digits") }
            for k in 2..<6 where JSONHex.value(byte(i + k)) == nil {
                throw fail(i + k, "\\u needs four hex digits")
            }
            i += 6
        default:
            throw fail(i, "invalid escape sequence")
        }
    }

    /// One multi-byte UTF-8 sequence led by `lead` (≥ 0x80): shortest form, no surrogates, ≤ U+10FFFF.
    private mutating func utf8Sequence(_ lead: UInt8) throws(JSONScanError) {
        let text = UnsafeRawBufferPointer(start: base, count: n)
        let length = UTF8Sequence.length(text, i)
        guard length > 0 else {
            switch UTF8Sequence.problem(text, i) {
            case .overlongLead: throw fail(i, "invalid UTF-8 (overlong encoding)")
            case .invalidLead: throw fail(i, "invalid UTF-8 byte 0x\(hex2(lead))")
            case .truncated: throw fail(i, "invalid UTF-8 (truncated sequence)")
            case .overlongSurrogateOrOutOfRange: throw fail(i, "invalid UTF-8 (overlong, surrogate or out of range)")
            }
        }
        i += length
    }

    private func hex2(_ c: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(c >> 4)], digits[Int(c & 15)]], as: UTF8.self)
    }
}

/// Hex digit values for `\uXXXX`.
enum JSONHex {
    @inline(__always) static func value(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c &- UInt8(ascii: "A") &+ 10)
        default: return nil
        }
    }
}
