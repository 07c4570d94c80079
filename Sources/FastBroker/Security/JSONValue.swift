// The JSON document model the user database is read into, and the `$[1].key` paths that every
// userdb error names. Object members stay in file order so errors point at the first offender.

/// A parsed JSON value. Numbers keep their source text so integers are checked exactly.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// What the value is, for error messages ("expected a string, found a number").
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON path in the `$[1].iterations` notation used by every configuration error.
struct JSONPath: Equatable, CustomStringConvertible {
    private(set) var description: String = "$"

    func index(_ i: Int) -> JSONPath {
        var p = self
        p.description += "[\(i)]"
        return p
    }

    func key(_ k: String) -> JSONPath {
        var p = self
        if Self.isIdentifier(k) {
            p.description += "." + k
        } else {
            p.description += "[" + JSONStringWriter.quoted(k) + "]"
        }
        return p
    }

    private static func isIdentifier(_ k: String) -> Bool {
        guard let first = k.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return k.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}
