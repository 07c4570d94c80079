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

// WampMessageView.Elements is filled with plain stores of its halves and bytes (storeStart/storeEnd).
#if _endian(big)
#error("the JSON scanner's element records assume a little-endian target")
#endif

public enum JSONScanner: WireScanner {
    @inlinable public static var format: WireFormat { .json }
}

/// The single-pass validator behind `scanMessage` and `scanValue`. The position lives in a local
/// of `run` and is passed to and returned by the token scanners (not a stored property), so it stays
/// in a register; the common tokens (plain strings, integers) are scanned inline 8 bytes at a time,
/// and the rare cases (escapes, non-ASCII, fractions, exponents, whitespace runs) are out of line.
@usableFromInline
struct JSONValidator: MessageValidator {
    static var format: WireFormat { .json }

    private let base: UnsafeRawPointer?
    private let n: Int

    @usableFromInline
    init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress
        n = buffer.count
    }

    @inline(__always) private func byte(_ at: Int) -> UInt8 {
        base.unsafelyUnwrapped.load(fromByteOffset: at, as: UInt8.self)
    }

    @inline(__always) private func word(_ at: Int) -> UInt64 {
        base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: at, as: UInt64.self)
    }

    /// The first position at or after `p` that is not whitespace. Every whitespace byte is ≤ 0x20
    /// and every byte that can start or follow a token is above it, so compact JSON pays one compare.
    @inline(__always) private func skipWhitespace(_ p: Int) -> Int {
        p < n && byte(p) <= 0x20 ? skipWhitespaceRun(p) : p
    }

    private func skipWhitespaceRun(_ from: Int) -> Int {
        var p = from
        while p < n {
            let c = byte(p)
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return p }
            p += 1
        }
        return p
    }

    /// Validates the text; with `message`, requires a top-level array and records its elements.
    /// `scan` is inlined twice here, so `message` is a constant in each copy (the entries call this
    /// through the protocol's witness, which passes it at run time).
    mutating func run(message: Bool, elements: inout WampMessageView.Elements) throws(JSONScanError) -> JSONSpan {
        message ? try scan(message: true, &elements) : try scan(message: false, &elements)
    }

    @inline(__always)
    private func scan(message: Bool, _ elements: inout WampMessageView.Elements) throws(JSONScanError) -> JSONSpan {
        // Element bounds are stored as 32-bit offsets (WampMessageView.Elements).
        precondition(!message || n <= Int(UInt32.max), "a WAMP message longer than 4 GiB")
        var p = skipWhitespace(0)
        guard p < n else { throw fail(p, n == 0 ? "empty input" : "only whitespace, expected a value") }
        let topStart = p
        if message && byte(p) != UInt8(ascii: "[") {
            throw fail(p, "a WAMP message must be a JSON array")
        }
        var stack: UInt64 = 0  // bit d set = the container at depth d+1 is an object
        var depth = 0
        // The byte that closes the innermost open container ('}' or ']'; meaningless at depth 0):
        // kept in a register so the separator after a value needs no look at `stack`.
        var closer: UInt8 = 0
        // Elements found so far. Their bounds and kinds go straight to `elements` (a store each,
        // nothing else held in registers: the scan loop needs them for its own state).
        var elementCount = 0
        // The depth whose values are the message's elements (none for a lone value).
        let elementDepth = message ? 1 : -1

        valueLoop: while true {
            // Here a value must start at p (whitespace already skipped).
            guard p < n else { throw fail(p, "unexpected end of input, expected a value") }
            if depth == elementDepth {
                if elementCount == JSONScanner.maxMessageElements {
                    throw fail(p, "a WAMP message has at most \(JSONScanner.maxMessageElements) elements")
                }
                elements.storeStart(elementCount, p)
            }
            var kind: JSONKind
            var escaped = false
            let c = byte(p)
            // The common tokens first, by plain compares: a jump table costs more for them.
            if c == UInt8(ascii: "\"") {
                p = try string(p, &escaped)
                kind = .string
            } else if c &- UInt8(ascii: "1") < 9 {
                // A number starting 1...9 (ids, counts): its digit run right here.
                p = try numberEnd(digitRun(p &+ 1))
                kind = .number
            } else if c == UInt8(ascii: "-") || c == UInt8(ascii: "0") {
                p = try number(p)
                kind = .number
            } else if c | 0x20 == UInt8(ascii: "{") {
                // '{' or '[' ('[' | 0x20 is '{'). One path for both: '{' + 2 is '}', '[' + 2 is ']'.
                let isObject = c == UInt8(ascii: "{")
                guard depth < JSONScanner.maxDepth else {
                    throw fail(p, "nesting deeper than \(JSONScanner.maxDepth) levels")
                }
                p = skipWhitespace(p &+ 1)
                if p < n && byte(p) == c &+ 2 {
                    // Empty: a complete value, nothing pushed.
                    p &+= 1
                    kind = isObject ? .object : .array
                } else {
                    let bit: UInt64 = 1 &<< UInt64(truncatingIfNeeded: depth)
                    stack = isObject ? stack | bit : stack & ~bit
                    depth &+= 1
                    closer = c &+ 2
                    if isObject { p = try objectKey(p) }
                    continue valueLoop
                }
            } else {
                switch c {
                case UInt8(ascii: "t"):
                    p = try literal(p, 0x74_72_75_65, 4)  // "true"
                    kind = .true
                case UInt8(ascii: "f"):
                    p = try literal(p, 0x66_61_6C_73_65, 5)  // "false"
                    kind = .false
                case UInt8(ascii: "n"):
                    p = try literal(p, 0x6E_75_6C_6C, 4)  // "null"
                    kind = .null
                case UInt8(ascii: "]") where depth > 0:
                    throw fail(p, "expected a value (trailing comma?)")
                default:
                    throw fail(p, "expected a value")
                }
            }

            // A value of `kind` just ended at p; close as many containers as end here.
            while true {
                if depth == elementDepth {
                    elements.storeEnd(elementCount, p, kind: kind, escaped: escaped)
                    elementCount &+= 1
                }
                if depth == 0 {
                    let topEnd = p
                    p = skipWhitespace(p)
                    guard p == n else { throw fail(p, "unexpected data after the top-level value") }
                    if message { elements.storedCount = UInt8(truncatingIfNeeded: elementCount) }
                    return JSONSpan(start: topStart, end: topEnd, kind: kind)
                }
                let inObject = closer == UInt8(ascii: "}")
                // Compact JSON: the separator is the very next byte (one bounds check, one load).
                if p >= n || byte(p) <= 0x20 {
                    p = skipWhitespaceRun(p)
                    guard p < n else {
                        throw fail(p, inObject ? "unexpected end of input, expected ',' or '}'"
                                               : "unexpected end of input, expected ',' or ']'")
                    }
                }
                let c = byte(p)
                if c == UInt8(ascii: ",") {
                    p = skipWhitespace(p &+ 1)
                    if inObject { p = try objectKey(p) }
                    continue valueLoop
                }
                if c == closer {
                    p &+= 1
                    depth &-= 1
                    kind = inObject ? .object : .array
                    escaped = false
                    // The enclosing container's closer: ']' (0x5D) or, for an object, '}' (0x7D).
                    let enclosingIsObject = (stack &>> UInt64(truncatingIfNeeded: depth &- 1)) & 1
                    closer = UInt8(ascii: "]") | UInt8(truncatingIfNeeded: enclosingIsObject &<< 5)
                    continue
                }
                throw fail(p, inObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        }
    }

    /// `"key" ws : ws` at p; returns the start of the member's value.
    private func objectKey(_ at: Int) throws(JSONScanError) -> Int {
        guard at < n else { throw fail(at, "unexpected end of input, expected an object key") }
        guard byte(at) == UInt8(ascii: "\"") else {
            throw fail(at, byte(at) == UInt8(ascii: "}") ? "expected an object key (trailing comma?)"
                                                         : "expected a string as object key")
        }
        var escaped = false
        let p = skipWhitespace(try string(at, &escaped))
        guard p < n, byte(p) == UInt8(ascii: ":") else { throw fail(p, "expected ':' after an object key") }
        return skipWhitespace(p + 1)
    }

    /// `true` / `false` / `null` at p, given as big-endian packed ASCII; returns its end.
    private func literal(_ p: Int, _ packed: UInt64, _ length: Int) throws(JSONScanError) -> Int {
        guard n - p >= length else { throw fail(p, "invalid literal (expected true, false or null)") }
        var got: UInt64 = 0
        for k in 0..<length { got = got &<< 8 | UInt64(byte(p + k)) }
        guard got == packed else { throw fail(p, "invalid literal (expected true, false or null)") }
        return p + length
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `start`; returns its end. The
    /// integer part is inline (digit runs 8 at a time); a fraction or exponent continues out of line.
    @inline(__always) private func number(_ start: Int) throws(JSONScanError) -> Int {
        var p = start
        if byte(p) == UInt8(ascii: "-") {
            p &+= 1
            guard p < n else { throw fail(p, "unexpected end of input in a number") }
        }
        let first = byte(p)
        if first == UInt8(ascii: "0") {
            p += 1
            if p < n && isDigit(byte(p)) { throw fail(p - 1, "leading zeros are not allowed in numbers") }
        } else if isDigit(first) {
            p = digitRun(p &+ 1)
        } else {
            throw fail(p, "expected a digit in a number")
        }
        return try numberEnd(p)
    }

    /// The end of a number whose integer part ends at `p`: a fraction or exponent continues out
    /// of line.
    @inline(__always) private func numberEnd(_ p: Int) throws(JSONScanError) -> Int {
        if p < n {
            let c = byte(p)
            if c == UInt8(ascii: ".") || c | 0x20 == UInt8(ascii: "e") { return try numberTail(p) }
        }
        return p
    }

    /// The optional fraction and exponent of a number whose integer part ends at `from`.
    private func numberTail(_ from: Int) throws(JSONScanError) -> Int {
        var p = from
        if p < n && byte(p) == UInt8(ascii: ".") {
            p += 1
            guard p < n, isDigit(byte(p)) else { throw fail(p, "expected a digit after '.' in a number") }
            p = digitRun(p + 1)
        }
        if p < n && (byte(p) | 0x20) == UInt8(ascii: "e") {
            p += 1
            if p < n && (byte(p) == UInt8(ascii: "+") || byte(p) == UInt8(ascii: "-")) { p += 1 }
            guard p < n, isDigit(byte(p)) else { throw fail(p, "expected a digit in a number's exponent") }
            p = digitRun(p + 1)
        }
        return p
    }

    /// The end of the run of ASCII digits starting at `from`, 8 bytes at a time while 8 remain.
    @inline(__always) private func digitRun(_ from: Int) -> Int {
        var p = from
        let lastWord = n &- 8  // the last offset an 8-byte load may start at
        while p <= lastWord {
            let nonDigits = SWAR.bytesAbove9(word(p) ^ 0x3030_3030_3030_3030)
            if nonDigits != 0 { return p &+ nonDigits.trailingZeroBitCount &>> 3 }
            p &+= 8
        }
        while p < n && isDigit(byte(p)) { p += 1 }
        return p
    }

    @inline(__always) private func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// The string token opened at `open`: escapes, no raw control characters, valid UTF-8; returns
    /// its end and sets `escaped` when it holds an escape. Inline: plain ASCII 8 bytes at a time up
    /// to the closing quote; anything else (an escape, a control or non-ASCII byte, fewer than 8
    /// bytes left) continues in `stringRest`. The last 1...7 bytes of the buffer are read with
    /// one load ending at the buffer's end, shifted so they sit low with zeros above (a zero is
    /// a control byte: attention), so a string closing near the end needs no byte loop either.
    @inline(__always) private func string(_ open: Int, _ escaped: inout Bool) throws(JSONScanError) -> Int {
        var p = open &+ 1
        let lastWord = n &- 8  // the last offset an 8-byte load may start at
        while p <= lastWord {
            let attention = SWAR.stringAttention(word(p))
            if attention != 0 {
                p &+= attention.trailingZeroBitCount &>> 3
                if byte(p) == UInt8(ascii: "\"") { return p &+ 1 }
                return try stringRestFlagging(open, p, &escaped)
            }
            p &+= 8
        }
        if p < n && lastWord >= 0 {
            let tail = word(lastWord) &>> UInt64(truncatingIfNeeded: (p &- lastWord) &* 8)
            let q = p &+ SWAR.stringAttention(tail).trailingZeroBitCount &>> 3
            if q < n && byte(q) == UInt8(ascii: "\"") { return q &+ 1 }
        }
        return try stringRestFlagging(open, p, &escaped)
    }

    /// `stringRest` through a flag of its own, so the caller's `escaped` is never passed by
    /// address (it stays in a register through the scan loop) and is set only when true.
    @inline(__always)
    private func stringRestFlagging(_ open: Int, _ from: Int, _ escaped: inout Bool) throws(JSONScanError) -> Int {
        var found = false
        let end = try stringRest(open, from, &found)
        if found { escaped = true }
        return end
    }

    /// The rest of the string token opened at `open`, from `from` inside it.
    private func stringRest(_ open: Int, _ from: Int, _ escaped: inout Bool) throws(JSONScanError) -> Int {
        var p = from
        while true {
            // Skip 8 plain ASCII bytes at a time; a word with a byte needing attention jumps
            // straight to the first one (the lowest hit is exact).
            while n - p >= 8 {
                let attention = SWAR.stringAttention(word(p))
                if attention != 0 {
                    p += attention.trailingZeroBitCount >> 3
                    break
                }
                p += 8
            }
            guard p < n else { throw fail(n, "unterminated string (opened at byte \(open))") }
            let c = byte(p)
            if c == UInt8(ascii: "\"") {
                return p + 1
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                p = try escape(p)
            } else if c < 0x20 {
                throw fail(p, "control character 0x\(hex2(c)) must be escaped in a string")
            } else if c < 0x80 {
                p += 1
            } else {
                p = try utf8Sequence(p, c)
            }
        }
    }

    /// The escape sequence at `p` (its backslash); returns its end.
    private func escape(_ p: Int) throws(JSONScanError) -> Int {
        guard p + 1 < n else { throw fail(n, "unterminated escape sequence") }
        switch byte(p + 1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return p + 2
        case UInt8(ascii: "u"):
            // Lone surrogates (\ud800 alone) are accepted: RFC 8259's grammar allows them and JS/Python
            // clients emit them; decoding maps them to U+FFFD (see JSONScanner+Strings.swift).
            guard n - p >= 6 else { throw fail(p, "\\u needs four hex digits") }
            for k in 2..<6 where JSONHex.value(byte(p + k)) == nil {
                throw fail(p + k, "\\u needs four hex digits")
            }
            return p + 6
        default:
            throw fail(p, "invalid escape sequence")
        }
    }

    /// The multi-byte UTF-8 sequence at `p` led by `lead` (≥ 0x80): shortest form, no surrogates,
    /// ≤ U+10FFFF; returns its end.
    private func utf8Sequence(_ p: Int, _ lead: UInt8) throws(JSONScanError) -> Int {
        let text = UnsafeRawBufferPointer(start: base, count: n)
        let length = UTF8Sequence.length(text, p)
        guard length > 0 else {
            switch UTF8Sequence.problem(text, p) {
            case .overlongLead: throw fail(p, "invalid UTF-8 (overlong encoding)")
            case .invalidLead: throw fail(p, "invalid UTF-8 byte 0x\(hex2(lead))")
            case .truncated: throw fail(p, "invalid UTF-8 (truncated sequence)")
            case .overlongSurrogateOrOutOfRange: throw fail(p, "invalid UTF-8 (overlong, surrogate or out of range)")
            }
        }
        return p + length
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
