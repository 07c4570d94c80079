// MessagePackScanner: validation of one complete wamp.2.msgpack message in a single pass, recording
// the spans of the top-level elements without allocating — the MessagePack twin of JSONScanner,
// returning the same WampMessageView (format .msgpack) and the same error type.
//
// Rules (the ones JSON gets from RFC 8259, spelled out for MessagePack):
//   - every type of the spec is accepted: nil, bool, positive/negative fixint, uint 8/16/32/64,
//     int 8/16/32/64, float 32/64, fixstr/str 8/16/32, bin 8/16/32, fixarray/array 16/32,
//     fixmap/map 16/32; non-minimal encodings (e.g. 5 as uint 64) are accepted, as the spec allows;
//   - str must be valid UTF-8 (shortest form, no surrogates, ≤ U+10FFFF);
//   - map keys must be str: WAMP dictionaries have string keys, and JSON subscribers could not be
//     given any other key, so another key type is refused (not coerced);
//   - ext / fixext types are refused: WAMP defines no extension types;
//   - 0xC1 (never used) is refused;
//   - every declared length must fit in the bytes that remain (a str/bin its payload, an array one
//     byte per element, a map two bytes per pair), so a lying length is refused before anything
//     trusts it, and no length ever sizes an allocation;
//   - nesting depth ≤ 64 (the top-level array is level 1), bytes after the top-level value are refused.
// Like the JSON scanner it is not resumable on purpose: transports hand over whole messages.
// Recursion is bounded by the depth limit (64 small frames), so no input can overflow the stack.

import WireCodec

public enum MessagePackScanner: WireScanner {
    @inlinable public static var format: WireFormat { .msgpack }
}

/// The single-pass validator behind `scanMessage` and `scanValue`.
struct MessagePackValidator: MessageValidator {
    static var format: WireFormat { .msgpack }

    private let buffer: UnsafeRawBufferPointer
    private let n: Int
    private var i = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        n = buffer.count
    }

    mutating func run(message: Bool, elements: inout WampMessageView.Elements) throws(JSONScanError) -> JSONSpan {
        guard n > 0 else { throw fail(0, "empty input") }
        let top: JSONSpan
        if message {
            // An ext type is refused by name even when its length field is cut off.
            guard let h = ValidatedMessagePack.header(buffer, 0, n) ?? extensionStandIn(at: 0) else {
                throw fail(n, "unexpected end of input in the \(ValidatedMessagePack.typeName(buffer[0])) header at byte 0")
            }
            guard h.kind == .array else {
                throw fail(0, "a WAMP message must be a MessagePack array, found \(ValidatedMessagePack.typeName(buffer[0]))")
            }
            guard h.length <= MessagePackScanner.maxMessageElements else {
                throw fail(0, "a WAMP message has at most \(MessagePackScanner.maxMessageElements) elements, this array declares \(h.length)")
            }
            try checkCount(h, at: 0, perElement: 1)
            i = h.dataStart
            for _ in 0..<h.length {
                let start = i
                let kind = try value(depth: 2)
                elements.append(JSONSpan(start: start, end: i, kind: kind, format: .msgpack))
            }
            top = JSONSpan(start: 0, end: i, kind: .array, format: .msgpack)
        } else {
            let kind = try value(depth: 1)
            top = JSONSpan(start: 0, end: i, kind: kind, format: .msgpack)
        }
        guard i == n else { throw fail(i, "unexpected data after the top-level value (\(n - i) trailing bytes)") }
        return top
    }

    /// Validates the value at `i` (which sits at nesting level `depth`) and moves past it.
    private mutating func value(depth: Int) throws(JSONScanError) -> JSONKind {
        let start = i
        guard let h = ValidatedMessagePack.header(buffer, start, n) ?? extensionStandIn(at: start) else {
            throw fail(n, start < n ? "unexpected end of input in the \(ValidatedMessagePack.typeName(buffer[start])) header at byte \(start)"
                                    : "unexpected end of input, expected a value")
        }
        guard let kind = h.kind else {
            let b = buffer[start]
            if b == 0xC1 { throw fail(start, "byte 0xC1 is never used in MessagePack") }
            throw fail(start, "MessagePack extension types (\(ValidatedMessagePack.typeName(b))) are not allowed in WAMP messages")
        }
        switch kind {
        case .array, .object:
            guard depth <= MessagePackScanner.maxDepth else {
                throw fail(start, "nesting deeper than \(MessagePackScanner.maxDepth) levels")
            }
            try checkCount(h, at: start, perElement: kind == .object ? 2 : 1)
            i = h.dataStart
            for _ in 0..<h.length {
                if kind == .object {
                    guard i < n else { throw fail(n, "unexpected end of input, expected a map key") }
                    guard ValidatedMessagePack.isStringHeader(buffer[i]) else {
                        throw fail(i, "map key must be a string (WAMP dictionaries have string keys), found \(ValidatedMessagePack.typeName(buffer[i]))")
                    }
                    _ = try value(depth: depth + 1)
                }
                _ = try value(depth: depth + 1)
            }
        default:
            guard h.length <= n - h.dataStart else {
                throw fail(n, "\(ValidatedMessagePack.typeName(buffer[start])) at byte \(start) declares \(h.length) bytes, only \(n - h.dataStart) remain")
            }
            if kind == .string { try validateUTF8(h.dataStart, h.scalarEnd) }
            i = h.scalarEnd
        }
        return kind
    }

    /// For an ext type byte at `i` whose length field does not fit: a header carrying no kind, so
    /// the caller refuses the ext type itself rather than reporting the cut-off length.
    private func extensionStandIn(at i: Int) -> MessagePackHeader? {
        guard i < n, ValidatedMessagePack.isExtension(buffer[i]) else { return nil }
        return MessagePackHeader(.ext, i + 1, 0)
    }

    /// A container's count must be possible in the remaining bytes (each element takes ≥ 1 byte).
    private func checkCount(_ h: MessagePackHeader, at start: Int, perElement: Int) throws(JSONScanError) {
        let remaining = n - h.dataStart
        guard h.length <= remaining / perElement else {
            let what = perElement == 2 ? "pairs" : "elements"
            throw fail(start, "\(ValidatedMessagePack.typeName(buffer[start])) declares \(h.length) \(what), only \(remaining) bytes remain")
        }
    }

    /// Strict UTF-8 over `start..<end` (shortest form, no surrogates, ≤ U+10FFFF), 8 ASCII bytes at a time.
    private func validateUTF8(_ start: Int, _ end: Int) throws(JSONScanError) {
        if let k = UTF8Sequence.firstInvalid(buffer, start, end) {
            throw fail(k, "invalid UTF-8 in a string (byte 0x\(hex2(buffer[k])))")
        }
    }

    private func hex2(_ c: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(c >> 4)], digits[Int(c & 15)]], as: UTF8.self)
    }
}
