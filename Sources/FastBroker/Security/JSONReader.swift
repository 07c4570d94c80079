// Reads the user database file into a JSONValue. It refuses duplicate keys and reports every
// error with the JSON path and the line/column where it happened. The userdb is read whole at
// start-up and on SIGHUP, never on a hot path, so a recursive reader over a byte array is enough
// (nesting is capped so hostile input cannot overflow the stack).

/// A syntax error: where in the document (path) and where in the text (line, column; 1-based).
struct JSONReadError: Error, Equatable {
    var path: JSONPath
    var line: Int
    var column: Int
    var reason: String
}

/// Reads one JSON document (RFC 8259) from UTF-8 bytes.
struct JSONReader {
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var position = 0   // owned by this reader (a local value; never shared)

    static func parse(_ bytes: [UInt8]) throws(JSONReadError) -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        // Tolerate a UTF-8 byte order mark, which some editors write.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.position = 3 }
        reader.skipWhitespace()
        let value = try reader.readValue(path: JSONPath(), depth: 0)
        reader.skipWhitespace()
        guard reader.position == bytes.count else {
            throw reader.error(JSONPath(), "unexpected text after the end of the document")
        }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func readValue(path: JSONPath, depth: Int) throws(JSONReadError) -> JSONValue {
        guard position < bytes.count else { throw error(path, "unexpected end of input, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try readObject(path: path, depth: depth + 1)
        case UInt8(ascii: "["): return try readArray(path: path, depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try readString(path: path))
        case UInt8(ascii: "t"): try expectWord("true", path: path); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false", path: path); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null", path: path); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber(path: path))
        default: throw error(path, "unexpected character \(describe(bytes[position])), expected a value")
        }
    }

    private mutating func readObject(path: JSONPath, depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw error(path, "nesting deeper than \(Self.maxDepth) levels") }
        position += 1   // {
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error(path, position < bytes.count
                    ? "unexpected character \(describe(bytes[position])), expected a key string"
                    : "unexpected end of input inside an object")
            }
            let keyStart = position
            let key = try readString(path: path)
            let memberPath = path.key(key)
            if members.contains(where: { $0.key == key }) { throw error(memberPath, "duplicate key", at: keyStart) }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw error(memberPath, "expected ':' after the key")
            }
            position += 1
            skipWhitespace()
            members.append((key, try readValue(path: memberPath, depth: depth)))
            skipWhitespace()
            guard position < bytes.count else { throw error(path, "unexpected end of input inside an object") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw error(path, "unexpected character \(describe(bytes[position])), expected ',' or '}'")
            }
        }
    }

    private mutating func readArray(path: JSONPath, depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw error(path, "nesting deeper than \(Self.maxDepth) levels") }
        position += 1   // [
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try readValue(path: path.index(items.count), depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw error(path, "unexpected end of input inside an array") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(items)
            default: throw error(path, "unexpected character \(describe(bytes[position])), expected ',' or ']'")
            }
        }
    }

    private mutating func readString(path: JSONPath) throws(JSONReadError) -> String {
        let start = position
        position += 1   // opening quote
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw error(path, "unterminated string") }
            let c = bytes[position]
            switch c {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw error(path, "string is not valid UTF-8", at: start)
                }
                return text
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw error(path, "unterminated string") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try readUnicodeEscape(path: path)
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    position -= 1
                    throw error(path, "invalid escape \\\(describe(e)) in string")
                }
            case 0x00..<0x20:
                throw error(path, "control character \(describe(c)) in string (escape it)")
            default:
                utf8.append(c)
                position += 1
            }
        }
    }

    /// Reads the XXXX of `\uXXXX` (position is just after the `u`), joining surrogate pairs.
    private mutating func readUnicodeEscape(path: JSONPath) throws(JSONReadError) -> Unicode.Scalar {
        let high = try readHex4(path: path)
        if (0xD800..<0xDC00).contains(high) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else { throw error(path, "unpaired UTF-16 surrogate in \\u escape") }
            position += 2
            let low = try readHex4(path: path)
            guard (0xDC00..<0xE000).contains(low) else { throw error(path, "unpaired UTF-16 surrogate in \\u escape") }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else { throw error(path, "unpaired UTF-16 surrogate in \\u escape") }
        return scalar
    }

    private mutating func readHex4(path: JSONPath) throws(JSONReadError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard position < bytes.count else { throw error(path, "unterminated \\u escape") }
            let c = bytes[position]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error(path, "invalid hex digit \(describe(c)) in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func readNumber(path: JSONPath) throws(JSONReadError) -> String {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error(path, "invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count && isDigit(bytes[position]) { throw error(path, "invalid number (leading zero)") }
        } else {
            skipDigits()
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error(path, "invalid number (no digits after '.')") }
            skipDigits()
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error(path, "invalid number (no exponent digits)") }
            skipDigits()
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func expectWord(_ word: StaticString, path: JSONPath) throws(JSONReadError) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - position >= w.count, bytes[position..<(position + w.count)].elementsEqual(w) else {
            throw error(path, "unexpected character \(describe(bytes[position])), expected a value")
        }
        position += w.count
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func skipDigits() {
        while position < bytes.count && isDigit(bytes[position]) { position += 1 }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private func describe(_ c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        let hex = String(c, radix: 16, uppercase: true)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }

    /// Builds the error at `offset` (default: the current position), counting lines and columns
    /// (only on failure).
    private func error(_ path: JSONPath, _ reason: String, at offset: Int? = nil) -> JSONReadError {
        var line = 1
        var column = 1
        for c in bytes[0..<min(offset ?? position, bytes.count)] {
            if c == 0x0A {
                line += 1
                column = 1
            } else if c & 0xC0 != 0x80 {   // count characters, not UTF-8 continuation bytes
                column += 1
            }
        }
        return JSONReadError(path: path, line: line, column: column, reason: reason)
    }
}
