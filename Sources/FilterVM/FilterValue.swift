// FilterValue: a constant bound into a filter (a filter_values entry or a literal), and the
// mapping from JSON onto DynamoDB's attribute types used everywhere in FilterVM:
//
//   JSON number        → N     exact decimal (FilterNumber); > 38 significant digits or outside
//                              1E-130…9.9E+125 is not an N: in filter_values that is an error,
//                              in a document such a number compares false with everything
//   JSON string        → S     compared by UTF-8 bytes; size() counts Unicode code points
//   JSON true / false  → BOOL
//   JSON null          → NULL
//   JSON array         → L     size() counts elements; contains() looks for an equal element
//   JSON object        → M     size() counts members
//   SS, NS, BS, B      never produced by JSON: attribute_type(p, 'SS'|'NS'|'BS'|'B') is false
//
// A MessagePack document maps the same way (bin would be B, which we do not produce either).

import WireCodec

/// A plain JSON (or MessagePack) value, as given in `filter_values` or written as a literal.
/// Equality here is Swift's (strings by canonical equivalence); the VM compares by UTF-8 bytes.
public indirect enum FilterValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(FilterNumber)
    case string(String)
    case list([FilterValue])
    case map([String: FilterValue])

    /// The DynamoDB type of this value.
    public var kind: FilterKind {
        switch self {
        case .null: return .null
        case .bool: return .bool
        case .number: return .number
        case .string: return .string
        case .list: return .list
        case .map: return .map
        }
    }
}

extension FilterValue {
    /// Nesting limit for values, as DynamoDB's 32 levels of document nesting.
    static let maxDepth = 32

    /// Parses exactly one JSON value (surrounding whitespace allowed). Errors name the byte column.
    public init(json: [UInt8]) throws(FilterError) {
        var parser = JSONValueParser(bytes: json)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index < json.count {
            throw FilterError("unexpected data after the JSON value", column: parser.index + 1)
        }
        self = value
    }

    /// Canonical JSON-like text (map keys sorted by UTF-8 bytes); used in fingerprints and
    /// disassembly. Distinct values (by the VM's byte semantics) give distinct text.
    public var canonicalText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.description
        case .string(let s): return FilterValue.quoted(s)
        case .list(let items): return "[" + items.map(\.canonicalText).joined(separator: ",") + "]"
        case .map(let members):
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return "{" + keys.map { FilterValue.quoted($0) + ":" + members[$0]!.canonicalText }.joined(separator: ",")
                + "}"
        }
    }

    /// JSON string syntax with every non-printable-ASCII scalar escaped, so the text is ASCII.
    /// FilterVM's one quoter (it imports nothing of the broker, whose quoter is JSONWriter.quoted).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case " "..."~": out.unicodeScalars.append(scalar)
            default:
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out + "\""
    }

    /// Byte-wise (DynamoDB) equality: strings by UTF-8 bytes, numbers by value, maps by key bytes.
    func sameValue(as other: FilterValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.list(let a), .list(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameValue(as: $1) }
        case (.map(let a), .map(let b)):
            guard a.count == b.count else { return false }
            // Keys are compared as Swift strings by the dictionary; fall back to bytes.
            for (key, value) in a {
                guard let match = b.first(where: { $0.key.utf8.elementsEqual(key.utf8) }) else { return false }
                if !value.sameValue(as: match.value) { return false }
            }
            return true
        default: return false
        }
    }
}

/// Recursive-descent JSON parser for filter_values entries (compile time only: may allocate).
struct JSONValueParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A
            || bytes[index] == 0x0D
        {
            index += 1
        }
    }

    func error(_ what: String, at position: Int? = nil) -> FilterError {
        FilterError(what, column: (position ?? index) + 1)
    }

    mutating func parseValue(depth: Int) throws(FilterError) -> FilterValue {
        guard index < bytes.count else { throw error("expected a JSON value, found the end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var members: [String: FilterValue] = [:]
            if try opensEmpty(UInt8(ascii: "}"), depth: depth) { return .map(members) }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected '\"' starting an object key")
                }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth + 1)
                // First occurrence wins, as in JSONFilterDocument's member lookup.
                if members[key] == nil { members[key] = value }
                if try closes(UInt8(ascii: "}")) { return .map(members) }
            }
        case UInt8(ascii: "["):
            var items: [FilterValue] = []
            if try opensEmpty(UInt8(ascii: "]"), depth: depth) { return .list(items) }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                if try closes(UInt8(ascii: "]")) { return .list(items) }
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "-"), 0x30...0x39:
            let start = index
            let scanned = bytes.withUnsafeBytes { FilterNumber.scan($0, from: start) }
            guard let (number, used) = scanned else { throw error("malformed number") }
            index += used
            guard let number else {
                throw error(
                    "number is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125)",
                    at: start)
            }
            return .number(number)
        default:
            throw error("expected a JSON value")
        }
    }

    mutating func expectWord(_ word: String) throws(FilterError) {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else {
            throw error("expected a JSON value")
        }
        index += w.count
    }

    /// Steps over the opening bracket of a container at `depth`; true (and past it) when the
    /// `closing` bracket follows at once.
    mutating func opensEmpty(_ closing: UInt8, depth: Int) throws(FilterError) -> Bool {
        guard depth < FilterValue.maxDepth else { throw error("value nested deeper than 32 levels") }
        index += 1
        skipWhitespace()
        guard index < bytes.count && bytes[index] == closing else { return false }
        index += 1
        return true
    }

    /// After a member or element: true past the `closing` bracket, false past a comma.
    mutating func closes(_ closing: UInt8) throws(FilterError) -> Bool {
        skipWhitespace()
        let closer = Character(Unicode.Scalar(closing))
        guard index < bytes.count else { throw error("expected ',' or '\(closer)', found the end") }
        let b = bytes[index]
        guard b == UInt8(ascii: ",") || b == closing else { throw error("expected ',' or '\(closer)'") }
        index += 1
        return b == closing
    }

    /// Parses a JSON string at `index` (which holds the opening quote); returns it decoded.
    mutating func parseString() throws(FilterError) -> String {
        let start = index
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                break
            }
            if b < 0x20 { throw error("control character in string") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                index += 1
                continue
            }
            index += 1
            switch JSONEscape.decode(bytes, index, into: &out) {
            case .decoded(let end):
                index = end
            case .endOfInput:
                throw error("unterminated string", at: start)
            case .notAnEscape(let e):
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: index - 1)
            case .badHex(let at):
                // Too few bytes left: at the digits' start; otherwise at the first non-digit.
                index += 1
                if at < bytes.count { index = at }
                throw error("expected 4 hex digits after \\u")
            case .unpairedSurrogate(_, let end):
                index = end
                throw error("unpaired surrogate in \\u escape")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw error("string is not valid UTF-8", at: start)
        }
        return text
    }
}
