// FilterValueBinding: a `filter_values` entry read straight from the SUBSCRIBE message view into
// FilterVM's public FilterValue, whatever the wire format (JSON or MessagePack spans), with no
// copy, re-encoding or re-parse. FilterVM imports nothing of the broker, so this lives here.
//
// Rules (the ones filter_values always had): JSON number → N, refused outside DynamoDB's range
// or precision; a MessagePack float that JSON cannot express (NaN, ±infinity) is null, as in a
// JSON EVENT; MessagePack bin is the WAMP binary string "\u0000" + base64; a repeated map key —
// the first wins (as in FilterVM's document lookup); a lone surrogate escape is refused; nesting
// deeper than 32 levels (DynamoDB's) is refused.

import BrokerSerialization
import FilterVM

enum FilterValueBinding {
    /// DynamoDB's document nesting limit, as FilterVM applies to values it parses itself.
    static let maxDepth = 32

    private static let tooDeep = FilterValueProblem(message: "value nested deeper than \(maxDepth) levels")

    /// The value at `span` of a validated buffer, or what is wrong with it.
    static func value(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan, depth: Int = 0) -> Result<FilterValue, FilterValueProblem> {
        switch span.kind {
        case .null: return .success(.null)
        case .true: return .success(.bool(true))
        case .false: return .success(.bool(false))
        case .string: return string(buffer, span).map { .string($0) }
        case .number: return number(buffer, span)
        case .binary:
            // The string a JSON subscriber would see for these bytes.
            guard case .binary(let bytes) = JSONScanner.decodeValue(buffer, span) else { return .success(.null) }
            var text: [UInt8] = []
            bytes.withUnsafeBytes { JSONWriter.appendBinary($0, to: &text) }
            return .success(.string(text.withUnsafeBytes {
                JSONScanner.decodeString($0, JSONSpan(start: 0, end: $0.count, kind: .string))
            }))
        case .array:
            guard depth < maxDepth else { return .failure(tooDeep) }
            var items: [FilterValue] = []
            for element in JSONArrayView(buffer: buffer, span: span) {
                switch value(buffer, element, depth: depth + 1) {
                case .success(let item): items.append(item)
                case .failure(let problem): return .failure(problem)
                }
            }
            return .success(.list(items))
        case .object:
            guard depth < maxDepth else { return .failure(tooDeep) }
            var members: [String: FilterValue] = [:]
            for (keySpan, valueSpan) in JSONObjectView(buffer: buffer, span: span) {
                let key: String
                switch string(buffer, keySpan) {
                case .success(let text): key = text
                case .failure(let problem): return .failure(problem)
                }
                switch value(buffer, valueSpan, depth: depth + 1) {
                case .success(let member): if members[key] == nil { members[key] = member }
                case .failure(let problem): return .failure(problem)
                }
            }
            return .success(.map(members))
        }
    }

    private static func number(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Result<FilterValue, FilterValueProblem> {
        let parsed: FilterNumber?
        if span.format != .json {
            guard case .number(let n) = JSONScanner.decodeValue(buffer, span) else { return .success(.null) }
            if n.integer == nil && !n.double.isFinite { return .success(.null) }
            parsed = FilterNumber(text: n.text)
        } else {
            parsed = FilterNumber(utf8: UnsafeRawBufferPointer(rebasing: buffer[span.start..<span.end]))
        }
        guard let parsed else {
            return .failure(FilterValueProblem(
                message: "number is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125)"))
        }
        return .success(.number(parsed))
    }

    /// The decoded string; a lone surrogate escape (which the message scanner admits and decodes
    /// as U+FFFD) is refused here, as filter values always refused it.
    private static func string(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Result<String, FilterValueProblem> {
        if span.format == .json && hasLoneSurrogateEscape(buffer, span) {
            return .failure(FilterValueProblem(message: "unpaired surrogate in \\u escape"))
        }
        return .success(JSONScanner.decodeString(buffer, span))
    }

    /// Whether the validated JSON string token `span` holds a `\uD800`…`\uDFFF` escape that is not
    /// half of a high-low pair.
    private static func hasLoneSurrogateEscape(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> Bool {
        var i = span.start + 1
        let end = span.end - 1
        var pendingHigh = false  // the previous escape was a high surrogate awaiting its low half
        while i < end {
            guard buffer[i] == UInt8(ascii: "\\") else {
                if pendingHigh { return true }
                i += 1
                continue
            }
            guard buffer[i + 1] == UInt8(ascii: "u") else {
                if pendingHigh { return true }
                i += 2
                continue
            }
            let unit = hex4(buffer, i + 2)
            let isHigh = (0xD800..<0xDC00).contains(unit)
            let isLow = (0xDC00..<0xE000).contains(unit)
            if pendingHigh != isLow { return true }  // a high without its low, or a low alone
            pendingHigh = isHigh
            i += 6
        }
        return pendingHigh
    }

    /// The four validated hex digits at `at`.
    private static func hex4(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var unit: UInt32 = 0
        for k in 0..<4 {
            let c = buffer[at + k]
            let digit: UInt8 = c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : (c | 0x20) - UInt8(ascii: "a") + 10
            unit = unit << 4 | UInt32(digit)
        }
        return unit
    }
}

/// What is wrong with a filter_values entry, for the SUBSCRIBE ERROR.
struct FilterValueProblem: Error {
    var message: String
}
