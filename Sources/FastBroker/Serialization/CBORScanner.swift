// CBORScanner: validation of one complete wamp.2.cbor message (RFC 8949) in a single pass, recording
// the spans of the top-level elements without allocating — the CBOR twin of MessagePackScanner,
// returning the same WampMessageView (format .cbor) and the same error type.
//
// Rules (what JSON and MessagePack subscribers can also be given, spelled out for CBOR):
//   - unsigned and negative integers (any argument width, non-minimal encodings accepted), byte
//     strings, text strings, arrays, maps, false, true, null, and half/single/double floats;
//   - text must be valid UTF-8 (shortest form, no surrogates, ≤ U+10FFFF);
//   - map keys must be text strings: WAMP dictionaries have string keys, and JSON subscribers could
//     not be given any other key, so another key type is refused (not coerced);
//   - the self-describe tag 55799 is accepted in front of the whole message (RFC 8949 §3.4.6);
//     every other tag, `undefined` and the other simple values are refused: no other serializer
//     could carry them;
//   - indefinite-length strings, arrays and maps are refused here (the views read strings in place
//     and containers by count); a connection that gets such a message rewrites it once with
//     definite lengths (CBORDefiniteLengths, a cold path) and scans the result;
//   - every declared length must fit in the bytes that remain (a string its payload, an array one
//     byte per element, a map two bytes per pair), so a lying length is refused before anything
//     trusts it, and no length ever sizes an allocation;
//   - nesting depth ≤ 64 (the top-level array is level 1), bytes after the top-level item are refused.
// Recursion is bounded by the depth limit (64 small frames), so no input can overflow the stack.

import WireCodec

public enum CBORScanner: WireScanner {
    /// RFC 8949's self-describe tag, accepted in front of a whole message or value.
    public static let selfDescribeTag: UInt64 = 55799

    @inlinable public static var format: WireFormat { .cbor }
}

/// The single-pass validator behind `scanMessage` and `scanValue`.
struct CBORValidator: MessageValidator {
    static var format: WireFormat { .cbor }

    private let buffer: UnsafeRawBufferPointer
    private let n: Int
    private var i = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        n = buffer.count
    }

    mutating func run(message: Bool, elements: inout WampMessageView.Elements) throws(JSONScanError) -> JSONSpan {
        guard n > 0 else { throw fail(0, "empty input") }
        if let h = CBORReader.header(buffer, 0, n), h.family == .tag, h.argument == CBORScanner.selfDescribeTag {
            i = h.dataStart
        }
        let start = i
        let top: JSONSpan
        if message {
            guard let h = CBORReader.header(buffer, start, n) else {
                throw fail(n, start < n ? "unexpected end of input in the \(ValidatedCBOR.typeName(buffer[start])) header at byte \(start)"
                                        : "unexpected end of input after the self-describe tag, expected the message array")
            }
            guard h.family == .array else {
                if h.family == .indefinite && h.argument == 4 {
                    throw fail(start, "a WAMP message must be a definite-length CBOR array, found an indefinite-length array")
                }
                throw fail(start, "a WAMP message must be a CBOR array, found \(ValidatedCBOR.typeName(buffer[start]))")
            }
            guard h.length <= CBORScanner.maxMessageElements else {
                throw fail(start, "a WAMP message has at most \(CBORScanner.maxMessageElements) elements, this array declares \(h.argument)")
            }
            i = h.dataStart
            for _ in 0..<h.length {
                let elementStart = i
                let kind = try value(depth: 2)
                elements.append(JSONSpan(start: elementStart, end: i, kind: kind, format: .cbor))
            }
            top = JSONSpan(start: start, end: i, kind: .array, format: .cbor)
        } else {
            let kind = try value(depth: 1)
            top = JSONSpan(start: start, end: i, kind: kind, format: .cbor)
        }
        guard i == n else { throw fail(i, "unexpected data after the top-level item (\(n - i) trailing bytes)") }
        return top
    }

    /// Validates the item at `i` (which sits at nesting level `depth`) and moves past it.
    private mutating func value(depth: Int) throws(JSONScanError) -> JSONKind {
        let start = i
        guard let h = CBORReader.header(buffer, start, n) else {
            throw fail(n, start < n ? "unexpected end of input in the \(ValidatedCBOR.typeName(buffer[start])) header at byte \(start)"
                                    : "unexpected end of input, expected an item")
        }
        let kind: JSONKind
        switch h.family {
        case .unsigned, .negative:
            i = h.dataStart
            return .number
        case .false: kind = .false
        case .true: kind = .true
        case .null: kind = .null
        case .float: kind = .number
        case .bytes: kind = .binary
        case .text: kind = .string
        case .array, .map:
            let isMap = h.family == .map
            guard depth <= CBORScanner.maxDepth else { throw fail(start, "nesting deeper than \(CBORScanner.maxDepth) levels") }
            let remaining = n - h.dataStart
            guard h.length <= remaining / (isMap ? 2 : 1) else {
                throw fail(start, "\(isMap ? "map" : "array") at byte \(start) declares \(h.argument) \(isMap ? "pairs" : "elements"), only \(remaining) bytes remain")
            }
            i = h.dataStart
            for _ in 0..<h.length {
                if isMap {
                    guard i < n else { throw fail(n, "unexpected end of input, expected a map key") }
                    guard buffer[i] >> 5 == 3, buffer[i] & 0x1F != 31 else {
                        throw fail(i, "map key must be a text string (WAMP dictionaries have string keys), found \(ValidatedCBOR.typeName(buffer[i]))")
                    }
                    _ = try value(depth: depth + 1)
                }
                _ = try value(depth: depth + 1)
            }
            return isMap ? .object : .array
        case .tag, .undefined, .simple, .indefinite, .breakCode, .reserved:
            throw fail(start, refusal(h, at: start))
        }
        guard h.length <= n - h.dataStart else {
            throw fail(n, "\(ValidatedCBOR.typeName(buffer[start])) at byte \(start) declares \(h.argument) bytes, only \(n - h.dataStart) remain")
        }
        if kind == .string, let k = UTF8Sequence.firstInvalid(buffer, h.dataStart, h.scalarEnd) {
            throw fail(k, "invalid UTF-8 in a text string (byte 0x\(ValidatedCBOR.hex2(buffer[k])))")
        }
        i = h.scalarEnd
        return kind
    }

    /// Why an item no other serializer could carry is refused (what `value` does not read).
    private func refusal(_ h: CBORHeader, at start: Int) -> String {
        let refused = "at byte \(start) is not allowed in WAMP messages"
        switch h.family {
        case .tag: return "CBOR tag \(h.argument) \(refused) (only the self-describe tag 55799 in front of the whole message)"
        case .undefined: return "CBOR undefined \(refused) (no other serializer can carry it)"
        case .simple: return "CBOR simple value \(h.argument) \(refused) (only false, true and null)"
        case .indefinite: return "indefinite-length CBOR \(ValidatedCBOR.typeName(buffer[start])) at byte \(start) (a connection rewrites such a message with definite lengths first, see CBORDefiniteLengths)"
        case .breakCode: return "unexpected CBOR break code 0xFF at byte \(start)"
        default: return "reserved CBOR additional information \(h.argument) at byte \(start)"
        }
    }
}
