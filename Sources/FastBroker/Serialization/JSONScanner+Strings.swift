// JSONScanner+Strings: reading string and integer tokens that the scanner has already validated.
// Comparison walks the escapes in place so option keys and URIs can be matched without allocating;
// decoding allocates exactly one String. Each function also reads MessagePack and CBOR spans
// (span.format): there a string is its UTF-8 payload and an integer is any int type, so callers
// need not care.
//
// Lone surrogate escapes (`"\ud800"`) are valid per RFC 8259's grammar (§8.2 only warns that their
// meaning is unpredictable), Python's json and JS accept them, and JS clients can legitimately emit
// them, so the scanner accepts them (and the broker forwards them verbatim inside payloads). When a
// string is decoded or compared, each lone surrogate stands for U+FFFD (the replacement character).

import WireCodec

extension JSONScanner {
    /// The decoded value of the string token `span` (quotes included) of a validated buffer.
    public static func decodeString(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> String {
        if span.format != .json {
            guard span.kind == .string else { return "" }
            return String(decoding: ValidatedBinary.payload(buffer, span), as: UTF8.self)
        }
        guard let base = buffer.baseAddress, span.count >= 2 else { return "" }
        let inner = UnsafeRawBufferPointer(rebasing: buffer[(span.start + 1)..<(span.end - 1)])
        if inner.firstIndex(of: UInt8(ascii: "\\")) == nil {
            return String(decoding: inner, as: UTF8.self)
        }
        // Decoded text is never longer than its escaped form.
        return String(unsafeUninitializedCapacity: inner.count) { out in
            var bytes = JSONStringBytes(base: base, start: span.start + 1, end: span.end - 1)
            var k = 0
            while k < out.count, let b = bytes.next() {
                out[k] = b
                k += 1
            }
            return k
        }
    }

    /// Whether the string token `span` of a validated buffer decodes to exactly the UTF-8 `bytes`.
    /// Does not allocate.
    public static func stringEquals(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan,
                                    _ bytes: UnsafeRawBufferPointer) -> Bool {
        if span.format != .json {
            guard span.kind == .string else { return false }
            let payload = ValidatedBinary.payload(buffer, span)
            guard payload.count == bytes.count else { return false }
            return payload.count == 0 || memcmpEqual(payload, bytes)
        }
        guard let base = buffer.baseAddress, span.kind == .string, span.count >= 2 else { return false }
        // Escapes only shrink text, so a shorter token can never match.
        if span.count - 2 < bytes.count { return false }
        var decoded = JSONStringBytes(base: base, start: span.start + 1, end: span.end - 1)
        for expected in bytes {
            guard let b = decoded.next(), b == expected else { return false }
        }
        return decoded.next() == nil
    }

    /// `stringEquals` against a literal.
    public static func stringEquals(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan, _ key: StaticString) -> Bool {
        key.withUTF8Buffer { stringEquals(buffer, span, UnsafeRawBufferPointer($0)) }
    }

    /// The string's UTF-8 bytes in place when no decoding is needed (MessagePack str always, JSON
    /// when the token has no escapes), else nil. No allocation.
    public static func rawStringContent(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> UnsafeRawBufferPointer? {
        guard span.kind == .string else { return nil }
        if span.format != .json { return ValidatedBinary.payload(buffer, span) }
        guard span.count >= 2 else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: buffer[(span.start + 1)..<(span.end - 1)])
        return inner.contains(UInt8(ascii: "\\")) ? nil : inner
    }

    /// Byte equality of two buffers of the same non-zero length.
    @inline(__always)
    static func memcmpEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        var k = 0
        let n = a.count
        while n - k >= 8 {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
                return false
            }
            k += 8
        }
        while k < n {
            if a[k] != b[k] { return false }
            k += 1
        }
        return true
    }

    /// An exact non-negative integer that fits in UInt64, else nil: in JSON a literal of digits
    /// only; in MessagePack any int type holding a value ≥ 0 (never a float).
    public static func unsignedInteger(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> UInt64? {
        if span.format != .json {
            if case .unsigned(let v)? = ValidatedBinary.integer(buffer, span) { return v }
            return nil
        }
        guard span.kind == .number, span.count > 0, span.count <= 20 else { return nil }
        // Up to 16 digits (every WAMP id, < 2^53): one or two 8-byte loads, converted in place.
        // Each load reads 8 bytes from where it starts, so it must fit in the buffer.
        if span.count <= 16, span.start + 8 <= buffer.count, let base = buffer.baseAddress {
            let head = base.loadUnaligned(fromByteOffset: span.start, as: UInt64.self)
            if span.count <= 8 { return SWAR.decimalValue(head, count: span.count) }
            let tail = base.loadUnaligned(fromByteOffset: span.end - 8, as: UInt64.self)
            guard let high = SWAR.decimalValue(head, count: span.count - 8),
                  let low = SWAR.decimalValue(tail, count: 8) else { return nil }
            return high &* 100_000_000 &+ low
        }
        if span.count < 20, let base = buffer.baseAddress {   // ≤ 19 digits cannot overflow UInt64
            var value: UInt64 = 0
            var k = span.start
            while k < span.end {
                let d = base.load(fromByteOffset: k, as: UInt8.self) &- UInt8(ascii: "0")
                guard d < 10 else { return nil }  // '-', '.', 'e' and anything else
                value = value &* 10 &+ UInt64(d)
                k += 1
            }
            return value
        }
        var value: UInt64 = 0
        for k in span.start..<span.end {
            let d = buffer[k] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }  // '-', '.', 'e' and anything else
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d))
            guard !o1 && !o2 else { return nil }
            value = sum
        }
        return value
    }

    /// An exact integer that fits in Int64, else nil: in JSON a literal of digits with an optional
    /// '-'; in MessagePack any int type (never a float).
    public static func integer(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Int64? {
        if span.format != .json {
            switch ValidatedBinary.integer(buffer, span) {
            case .unsigned(let v)?: return Int64(exactly: v)
            case .signed(let v)?: return v
            case nil: return nil
            }
        }
        guard span.kind == .number, span.count > 0 else { return nil }
        if buffer[span.start] != UInt8(ascii: "-") {
            guard let u = unsignedInteger(buffer, span), u <= UInt64(Int64.max) else { return nil }
            return Int64(u)
        }
        let digits = JSONSpan(start: span.start + 1, end: span.end, kind: .number)
        guard let u = unsignedInteger(buffer, digits), u <= UInt64(Int64.max) + 1 else { return nil }
        return u == UInt64(Int64.max) + 1 ? Int64.min : -Int64(u)
    }
}

/// Yields the UTF-8 bytes of a string token's decoded value (between the quotes), resolving escapes
/// and surrogate pairs; lone surrogates yield U+FFFD. Reads never leave `start..<end`.
struct JSONStringBytes: IteratorProtocol {
    private let base: UnsafeRawPointer
    private var i: Int
    private let end: Int
    private var pending: UInt32 = 0  // encoded bytes still to yield, low byte first
    private var pendingCount = 0

    init(base: UnsafeRawPointer, start: Int, end: Int) {
        self.base = base
        self.i = start
        self.end = end
    }

    @inline(__always) private func byte(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }

    mutating func next() -> UInt8? {
        if pendingCount > 0 {
            let b = UInt8(truncatingIfNeeded: pending)
            pending >>= 8
            pendingCount -= 1
            return b
        }
        guard i < end else { return nil }
        let c = byte(i)
        guard c == UInt8(ascii: "\\") else {
            i += 1
            return c
        }
        guard i + 1 < end else {
            i = end
            return nil
        }
        let e = byte(i + 1)
        i += 2
        switch e {
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "u"): break
        default: return e  // '"', '\\', '/'
        }
        var scalar = hex4(at: i) ?? 0xFFFD
        i = min(i + 4, end)
        if scalar >= 0xD800 && scalar <= 0xDBFF {
            if i + 6 <= end, byte(i) == UInt8(ascii: "\\"), byte(i + 1) == UInt8(ascii: "u"),
               let low = hex4(at: i + 2), low >= 0xDC00 && low <= 0xDFFF {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                i += 6
            } else {
                scalar = 0xFFFD
            }
        } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
            scalar = 0xFFFD
        }
        return emit(scalar)
    }

    private func hex4(at k: Int) -> UInt32? {
        guard k + 4 <= end else { return nil }
        var v: UInt32 = 0
        for j in k..<(k + 4) {
            guard let d = JSONHex.value(byte(j)) else { return nil }
            v = v << 4 | d
        }
        return v
    }

    /// Returns the first UTF-8 byte of `scalar` and queues the rest.
    private mutating func emit(_ scalar: UInt32) -> UInt8 {
        switch scalar {
        case 0..<0x80:
            return UInt8(scalar)
        case 0x80..<0x800:
            pending = 0x80 | scalar & 0x3F
            pendingCount = 1
            return UInt8(0xC0 | scalar >> 6)
        case 0x800..<0x10000:
            pending = (0x80 | scalar >> 6 & 0x3F) | (0x80 | scalar & 0x3F) << 8
            pendingCount = 2
            return UInt8(0xE0 | scalar >> 12)
        default:
            pending = (0x80 | scalar >> 12 & 0x3F) | (0x80 | scalar >> 6 & 0x3F) << 8 | (0x80 | scalar & 0x3F) << 16
            pendingCount = 3
            return UInt8(0xF0 | scalar >> 18)
        }
    }
}
