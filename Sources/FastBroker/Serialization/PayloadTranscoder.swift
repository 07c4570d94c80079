// PayloadTranscoder: converts a publication's payload (the args list or kwargs dict, or any value)
// between wamp.2.json, wamp.2.msgpack and wamp.2.cbor directly byte to byte, without building a
// JSONValue tree, so a publisher in any format reaches subscribers in every other. CBOR follows the
// MessagePack rules below exactly (byte string for bin; half/single floats widened like float 32;
// a negative integer below Int64.min becomes the nearest double), and MessagePack ↔ CBOR maps
// each value to its twin (nil/null, bool, int, float 64, str/text, bin/bytes, array, map). Input must be bytes the
// matching scanner validated (a PUBLISH element); on anything else the functions still never read
// out of bounds, they return false and leave `out` as it was.
//
// Conversion rules (values are preserved exactly wherever both formats can express them):
//   JSON → MessagePack
//     - null, true, false → nil, true, false.
//     - An integer literal (no fraction, no exponent) within Int64 → the smallest int encoding
//       (fixint, int/uint 8…64); a positive one up to UInt64.max → uint 64. "-0" → 0.
//     - An integer literal beyond Int64/UInt64 (e.g. 18446744073709551616), and every literal with a
//       fraction or exponent → float 64 of the nearest double (correctly rounded, as strtod).
//     - A string → str with its escapes decoded (a lone surrogate escape → U+FFFD), except:
//       a string whose first character is U+0000 followed by strict base64 (standard alphabet,
//       '=' padding, length a multiple of 4) → bin of the decoded bytes (the WAMP spec's binary
//       rule). A U+0000-prefixed string whose rest is not strict base64 stays a str.
//     - arrays and objects → array and map with the same count and order (duplicate keys kept).
//   MessagePack → JSON
//     - nil, true, false → null, true, false.
//     - every int width → its exact decimal integer (uint 64 max, int 64 min included).
//     - float 32 (widened exactly to double) and float 64 → the shortest text that reads back as
//       the same double ("0.1", "3.0", "1e+16"); NaN and ±infinity, which JSON cannot express → null.
//     - str → a JSON string (only '"', '\\' and control characters escaped; other text kept as UTF-8).
//     - bin → the WAMP binary string: "\u0000" followed by the standard base64 of the bytes.
//     - array and map → array and object, same order; map keys are always str (the scanner refuses
//       any other key type).
//   Round trips: msgpack → JSON → msgpack gives back the same values (ints in their smallest
//   encoding, float 32 as the equal float 64), except NaN/±infinity (→ nil) and a str that itself
//   starts with U+0000 followed by canonical base64, which comes back as bin (the WAMP rule cannot
//   tell the two apart; Autobahn's JSON serializer reads it the same way). JSON → msgpack → JSON
//   gives the same values, integer literals unchanged, other numbers in their shortest form
//   ("1E2" → "100.0"), a literal beyond double range ("1e400") as null (it became infinity).
// Cost: JSON → MessagePack/CBOR walks the input twice (first to count each container's members,
// since a binary header needs the count up front); the counts live in a temporary buffer (on the
// stack when small). The other directions are a single pass. Nesting is bounded by the scanners'
// depth limit.

import WireCodec

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum PayloadTranscoder {
    /// Appends the MessagePack form of the validated JSON value `json` to `out`. An empty input
    /// (no payload) appends nothing and succeeds. False (and `out` unchanged) if `json` is malformed.
    @discardableResult
    public static func jsonToMessagePack(_ json: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        jsonToBinary(json, MessagePackWriter.self, into: &out)
    }

    /// Appends the binary (MessagePack or CBOR, by `writer`) form of the validated JSON value `json`.
    @discardableResult
    public static func jsonToBinary<W: BinaryValueWriter>(_ json: UnsafeRawBufferPointer, _ writer: W.Type,
                                                          into out: inout [UInt8]) -> Bool {
        guard json.count > 0 else { return true }
        // Every container opens with '[' or '{', so their count bounds the number of containers.
        var brackets = 0
        for b in json where b == UInt8(ascii: "[") || b == UInt8(ascii: "{") { brackets += 1 }
        let mark = out.count
        let ok = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: max(brackets, 1)) { counts -> Bool in
            var counter = JSONContainerCounter(json: json, counts: counts)
            let start = ValidatedJSON.skipWhitespace(json, 0, json.count)
            guard start < json.count, let end = counter.value(start, depth: 1),
                  ValidatedJSON.skipWhitespace(json, end, json.count) == json.count else { return false }
            var writer = JSONToBinary<W>(json: json, counts: UnsafeBufferPointer(counts))
            return writer.value(start, &out) != nil
        }
        if !ok { out.removeSubrange(mark...) }
        return ok
    }

    /// Appends the JSON form of the validated MessagePack value `msgpack` to `out`. An empty input
    /// appends nothing and succeeds. False (and `out` unchanged) if `msgpack` is malformed.
    @discardableResult
    public static func messagePackToJSON(_ msgpack: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        binaryToJSON(msgpack, from: .msgpack, into: &out)
    }

    /// Appends the JSON form of the validated MessagePack or CBOR value `input` (in `format`).
    @discardableResult
    public static func binaryToJSON(_ input: UnsafeRawBufferPointer, from format: WireFormat, into out: inout [UInt8]) -> Bool {
        guard input.count > 0 else { return true }
        let mark = out.count
        let ok = BinaryPayloadWalk<JSONSink>(input: input, format: format).value(0, depth: 1, &out) == input.count
        if !ok { out.removeSubrange(mark...) }
        return ok
    }

    /// Appends the validated MessagePack or CBOR value `input` (in `format`) in `writer`'s format.
    @discardableResult
    public static func binaryToBinary<W: BinaryValueWriter>(_ input: UnsafeRawBufferPointer, from format: WireFormat,
                                                            _ writer: W.Type, into out: inout [UInt8]) -> Bool {
        guard input.count > 0 else { return true }
        let mark = out.count
        let ok = BinaryPayloadWalk<BinarySink<W>>(input: input, format: format).value(0, depth: 1, &out) == input.count
        if !ok { out.removeSubrange(mark...) }
        return ok
    }

    /// Appends `payload` (in `source` format) to `out` in `target` format: a verbatim copy when the
    /// formats are the same, else one of the conversions above.
    @discardableResult
    public static func transcode(_ payload: UnsafeRawBufferPointer, from source: WireFormat, to target: WireFormat,
                                 into out: inout [UInt8]) -> Bool {
        switch (source, target) {
        case (.json, .msgpack): return jsonToBinary(payload, MessagePackWriter.self, into: &out)
        case (.json, .cbor): return jsonToBinary(payload, CBORWriter.self, into: &out)
        case (.msgpack, .json), (.cbor, .json): return binaryToJSON(payload, from: source, into: &out)
        case (.cbor, .msgpack): return binaryToBinary(payload, from: .cbor, MessagePackWriter.self, into: &out)
        case (.msgpack, .cbor): return binaryToBinary(payload, from: .msgpack, CBORWriter.self, into: &out)
        default:
            out.append(contentsOf: payload)
            return true
        }
    }
}

/// Pass 1 of JSON → MessagePack/CBOR: the member count of every container, in pre-order.
private struct JSONContainerCounter {
    let json: UnsafeRawBufferPointer
    let counts: UnsafeMutableBufferPointer<UInt32>
    var next = 0

    /// Offset just past the value at `i`, or nil when the bytes are not a well-formed value.
    mutating func value(_ i: Int, depth: Int) -> Int? {
        let n = json.count
        let open = json[i]
        guard open == UInt8(ascii: "[") || open == UInt8(ascii: "{") else {
            // Light checks only (validation is the scanner's job): enough that pass 2 sees a value.
            let span = ValidatedJSON.value(json, i, n)
            switch open {
            case UInt8(ascii: "\""):
                return span.count >= 2 && json[span.end - 1] == UInt8(ascii: "\"") ? span.end : nil
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let literal: StaticString = open == UInt8(ascii: "t") ? "true" : open == UInt8(ascii: "f") ? "false" : "null"
                guard span.end <= n, span.count == literal.utf8CodeUnitCount else { return nil }
                for k in 0..<span.count where json[i + k] != literal.utf8Start[k] { return nil }
                return span.end
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return span.end
            default:
                return nil
            }
        }
        guard depth <= JSONScanner.maxDepth, next < counts.count else { return nil }
        let slot = next
        next += 1
        let isObject = open == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        var count: UInt32 = 0
        var k = ValidatedJSON.skipWhitespace(json, i + 1, n)
        if k < n && json[k] == close {
            counts[slot] = 0
            return k + 1
        }
        while true {
            if isObject {
                guard k < n, json[k] == UInt8(ascii: "\"") else { return nil }
                k = ValidatedJSON.skipWhitespace(json, ValidatedJSON.stringEnd(json, k, n), n)
                guard k < n, json[k] == UInt8(ascii: ":") else { return nil }
                k = ValidatedJSON.skipWhitespace(json, k + 1, n)
            }
            guard k < n, let end = value(k, depth: depth + 1) else { return nil }
            count += 1
            k = ValidatedJSON.skipWhitespace(json, end, n)
            guard k < n else { return nil }
            if json[k] == UInt8(ascii: ",") {
                k = ValidatedJSON.skipWhitespace(json, k + 1, n)
                continue
            }
            guard json[k] == close else { return nil }
            counts[slot] = count
            return k + 1
        }
    }
}

/// Pass 2 of JSON → MessagePack/CBOR: writes, taking container counts in the same pre-order.
private struct JSONToBinary<W: BinaryValueWriter> {
    let json: UnsafeRawBufferPointer
    let counts: UnsafeBufferPointer<UInt32>
    var next = 0

    /// Writes the value at `i` (already checked by pass 1); returns the offset just past it.
    mutating func value(_ i: Int, _ out: inout [UInt8]) -> Int? {
        let n = json.count
        switch json[i] {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let isObject = json[i] == UInt8(ascii: "{")
            guard next < counts.count else { return nil }
            let count = Int(counts[next])
            next += 1
            if isObject {
                W.appendMapHeader(count: count, to: &out)
            } else {
                W.appendArrayHeader(count: count, to: &out)
            }
            var k = ValidatedJSON.skipWhitespace(json, i + 1, n)
            for _ in 0..<count {
                if isObject {
                    let keyEnd = ValidatedJSON.stringEnd(json, k, n)
                    appendString(k, keyEnd, allowBinary: false, &out)
                    k = ValidatedJSON.skipWhitespace(json, keyEnd, n)
                    k = ValidatedJSON.skipWhitespace(json, k + 1, n)  // the ':'
                }
                guard let end = value(k, &out) else { return nil }
                k = ValidatedJSON.skipWhitespace(json, end, n)
                if k < n && json[k] == UInt8(ascii: ",") { k = ValidatedJSON.skipWhitespace(json, k + 1, n) }
            }
            return k + 1  // the closing bracket
        case UInt8(ascii: "\""):
            let end = ValidatedJSON.stringEnd(json, i, n)
            appendString(i, end, allowBinary: true, &out)
            return end
        case UInt8(ascii: "t"):
            W.appendBool(true, to: &out)
            return i + 4
        case UInt8(ascii: "f"):
            W.appendBool(false, to: &out)
            return i + 5
        case UInt8(ascii: "n"):
            W.appendNil(to: &out)
            return i + 4
        default:
            let span = ValidatedJSON.value(json, i, n)
            if let v = JSONScanner.integer(json, span) {
                W.appendInt(v, to: &out)
            } else if let v = JSONScanner.unsignedInteger(json, span) {
                W.appendUInt(v, to: &out)
            } else {
                W.appendDouble(JSONDouble.parse(json, span), to: &out)
            }
            return span.end
        }
    }

    /// The string token `start..<end` (quotes included) as str, or as bin under the WAMP rule.
    private func appendString(_ start: Int, _ end: Int, allowBinary: Bool, _ out: inout [UInt8]) {
        guard end - start >= 2, let base = json.baseAddress else {
            W.appendStringHeader(byteCount: 0, to: &out)
            return
        }
        let inner = UnsafeRawBufferPointer(rebasing: json[(start + 1)..<(end - 1)])
        if !inner.contains(UInt8(ascii: "\\")) {  // no escapes: the bytes are the text (and cannot start with U+0000)
            W.appendStringHeader(byteCount: inner.count, to: &out)
            out.append(contentsOf: inner)
            return
        }
        var decoded = JSONStringBytes(base: base, start: start + 1, end: end - 1)
        if allowBinary {
            var probe = decoded
            if probe.next() == 0 {
                var measure = probe
                if let count = Base64.decode(&measure, { _ in }) {
                    W.appendBinaryHeader(byteCount: count, to: &out)
                    _ = Base64.decode(&probe) { out.append($0) }
                    return
                }
            }
        }
        var measure = decoded
        var count = 0
        while measure.next() != nil { count += 1 }
        W.appendStringHeader(byteCount: count, to: &out)
        while let b = decoded.next() { out.append(b) }
    }
}

/// The nearest double to a JSON number literal, correctly rounded by the C library's strtod, without
/// allocating for literals up to 40 bytes. The literal is handed over as `[-]digits e exponent` (the
/// fraction's point folded into the exponent), so the locale's radix character never matters.
enum JSONDouble {
    static func parse(_ json: UnsafeRawBufferPointer, _ span: JSONSpan) -> Double {
        let count = span.count
        guard count > 0, count <= 40 else {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: json[span.start..<span.end]), as: UTF8.self)
            return Double(text) ?? (text.hasPrefix("-") ? -.infinity : .infinity)
        }
        // ≤ 40 literal bytes + "e-" + up to 8 exponent digits + NUL fit in 64.
        var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &storage) { raw -> Double in
            var w = 0
            var k = span.start
            let end = span.end
            var fractionDigits = 0
            var inFraction = false
            while k < end {
                let c = json[k]
                if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { break }
                if c == UInt8(ascii: ".") {
                    inFraction = true
                } else {
                    raw[w] = c
                    w += 1
                    if inFraction { fractionDigits += 1 }
                }
                k += 1
            }
            var exponent = 0
            if k < end {  // at 'e'
                k += 1
                var negative = false
                if k < end && (json[k] == UInt8(ascii: "-") || json[k] == UInt8(ascii: "+")) {
                    negative = json[k] == UInt8(ascii: "-")
                    k += 1
                }
                while k < end {
                    // Saturate: beyond 10^6 every double is 0 or infinity anyway.
                    if exponent < 1_000_000 { exponent = exponent * 10 + Int(json[k] &- UInt8(ascii: "0")) }
                    k += 1
                }
                if negative { exponent = -exponent }
            }
            exponent -= fractionDigits
            raw[w] = UInt8(ascii: "e")
            w += 1
            if exponent < 0 {
                raw[w] = UInt8(ascii: "-")
                w += 1
            }
            var magnitude = exponent.magnitude
            var digits = 1
            var t = magnitude / 10
            while t > 0 {
                digits += 1
                t /= 10
            }
            for d in stride(from: digits - 1, through: 0, by: -1) {
                raw[w + d] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            w += digits
            raw[w] = 0
            return strtod(raw.baseAddress!.assumingMemoryBound(to: CChar.self), nil)
        }
    }
}
