// JSONValue: an allocating tree of a JSON or MessagePack value, for SUBSCRIBE-time work (single
// MessagePack numbers and bins in filter values), tools and tests, never per event. Objects keep
// their members in order, duplicates included. Configuration and userdb files are read by
// JSONTreeReader instead (it keeps offsets for messages and refuses duplicate keys).

public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    /// MessagePack bin. JSONWriter writes it the WAMP way: a string "\u0000" + base64 of the bytes.
    case binary([UInt8])
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.binary(x), .binary(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value of the last member named `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }
}

/// A JSON number as written (`text`), with its exact integer value when the literal is an integer
/// (no fraction or exponent) within Int64, and its nearest Double (±infinity beyond Double's range).
public struct JSONNumber: Equatable, Sendable {
    public var text: String
    public var integer: Int64?
    public var double: Double

    public init(text: String, integer: Int64?, double: Double) {
        self.text = text
        self.integer = integer
        self.double = double
    }

    public init(_ value: Int64) {
        self.init(text: String(value), integer: value, double: Double(value))
    }

    public init(_ value: UInt64) {
        self.init(text: String(value), integer: Int64(exactly: value), double: Double(value))
    }

    /// nil for NaN and infinities, which JSON cannot express. The text is what `JSONWriter.appendDouble`
    /// writes, so the number reads back equal.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        var bytes: [UInt8] = []
        JSONWriter.appendDouble(value, to: &bytes)
        self.init(text: String(decoding: bytes, as: UTF8.self), integer: nil, double: value)
    }

    /// Parses a JSON number literal; nil if `text` is not exactly one.
    public init?(text: String) {
        let bytes = Array(text.utf8)
        let parsed: JSONNumber? = bytes.withUnsafeBytes { buffer in
            guard case .success(let span) = JSONScanner.scanValue(buffer), span.kind == .number,
                  span.start == 0, span.end == buffer.count else { return nil }
            return JSONScanner.decodeNumber(buffer, span)
        }
        guard let parsed else { return nil }
        self = parsed
    }
}

extension JSONScanner {
    /// Builds the allocating tree of the value `span` in a validated buffer (JSON or MessagePack).
    /// MessagePack numbers: ints become exact integers (JSONNumber(Int64) / JSONNumber(UInt64)),
    /// floats (float32 widened exactly) their shortest round-trip text; NaN and ±infinity, which JSON
    /// cannot express, get the texts "NaN", "Infinity", "-Infinity" and `double` set accordingly.
    public static func decodeValue(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> JSONValue {
        switch span.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number: return .number(decodeNumber(buffer, span))
        case .string: return .string(decodeString(buffer, span))
        case .binary: return .binary(Array(ValidatedBinary.payload(buffer, span)))
        case .array:
            return .array(JSONArrayView(buffer: buffer, span: span).map { decodeValue(buffer, $0) })
        case .object:
            return .object(JSONObjectView(buffer: buffer, span: span).map {
                (key: decodeString(buffer, $0.key), value: decodeValue(buffer, $0.value))
            })
        }
    }

    static func decodeNumber(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> JSONNumber {
        if span.format != .json {
            switch ValidatedBinary.integer(buffer, span) {
            case .unsigned(let v)?: return JSONNumber(v)
            case .signed(let v)?: return JSONNumber(v)
            case nil:
                let d = ValidatedBinary.float(buffer, span) ?? .nan
                if let n = JSONNumber(d) { return n }
                return JSONNumber(text: d.isNaN ? "NaN" : d < 0 ? "-Infinity" : "Infinity", integer: nil, double: d)
            }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[span.start..<span.end]), as: UTF8.self)
        let double = Double(text) ?? (text.hasPrefix("-") ? -.infinity : .infinity)
        return JSONNumber(text: text, integer: integer(buffer, span), double: double)
    }
}
