// ConfigJSONReader: a strict JSON reader for the configuration file. It builds a small tree whose
// nodes remember their byte offset, so every later complaint can name the JSON path and, for
// malformed input, the line and column. Config is read once at start-up (and on check-config), so
// a recursive reader over the whole document is fine here; depth is capped so hostile input
// cannot exhaust the stack.

/// One JSON value plus where it starts in the document.
struct ConfigJSONNode: Sendable {
    var value: ConfigJSONValue
    var offset: Int  // byte offset of the value's first byte
}

/// An object member; members keep document order and duplicates (the decoder reports those).
struct ConfigJSONMember: Sendable {
    var key: String
    var node: ConfigJSONNode
}

indirect enum ConfigJSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number's text exactly as written; `isInteger` when it has no fraction and no exponent,
    /// so "port": 80.0 can be refused instead of silently truncated.
    case number(text: String, isInteger: Bool)
    case string(String)
    case array([ConfigJSONNode])
    case object([ConfigJSONMember])
}

/// A syntax error: what was wrong, at which byte, and inside which JSON path.
struct ConfigJSONSyntaxError: Error {
    var message: String
    var offset: Int
    var path: String
}

/// Reads one JSON document (RFC 8259, UTF-8, an optional leading BOM) into a `ConfigJSONNode`.
struct ConfigJSONReader {
    // Deeper than any sensible configuration; keeps recursion bounded on hostile input.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func read(_ bytes: [UInt8]) throws(ConfigJSONSyntaxError) -> ConfigJSONNode {
        var reader = ConfigJSONReader(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
        reader.skipWhitespace()
        if reader.index == bytes.count {
            throw ConfigJSONSyntaxError(message: "the document is empty", offset: reader.index, path: "$")
        }
        let root = try reader.readValue(path: "$", depth: 0)
        reader.skipWhitespace()
        if reader.index != bytes.count {
            throw reader.error("unexpected \(reader.describeCurrent()) after the end of the document", path: "$")
        }
        return root
    }

    /// 1-based line and column (in Unicode scalars) of a byte offset, for messages.
    static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {  // continuation bytes do not start a new column
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    // MARK: - Values

    private mutating func readValue(path: String, depth: Int) throws(ConfigJSONSyntaxError) -> ConfigJSONNode {
        guard index < bytes.count else { throw error("unexpected end of the document, expected a value", path: path) }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels", path: path) }
            return ConfigJSONNode(value: try readObject(path: path, depth: depth), offset: start)
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels", path: path) }
            return ConfigJSONNode(value: try readArray(path: path, depth: depth), offset: start)
        case UInt8(ascii: "\""):
            return ConfigJSONNode(value: .string(try readString(path: path)), offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return ConfigJSONNode(value: try readNumber(path: path), offset: start)
        case UInt8(ascii: "t"):
            try expectLiteral("true", path: path)
            return ConfigJSONNode(value: .bool(true), offset: start)
        case UInt8(ascii: "f"):
            try expectLiteral("false", path: path)
            return ConfigJSONNode(value: .bool(false), offset: start)
        case UInt8(ascii: "n"):
            try expectLiteral("null", path: path)
            return ConfigJSONNode(value: .null, offset: start)
        default:
            throw error("expected a value, found \(describeCurrent())", path: path)
        }
    }

    private mutating func readObject(path: String, depth: Int) throws(ConfigJSONSyntaxError) -> ConfigJSONValue {
        index += 1  // "{"
        var members: [ConfigJSONMember] = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else {
                if peek(UInt8(ascii: "}")) && !members.isEmpty {
                    throw error("trailing comma before '}'", path: path)
                }
                throw error("expected a key in double quotes, found \(describeCurrent())", path: path)
            }
            let key = try readString(path: path)
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else {
                throw error("expected ':' after key \(ConfigValueText.quoted(key)), found \(describeCurrent())", path: path)
            }
            index += 1
            skipWhitespace()
            let memberPath = ConfigPath.member(path, key)
            let node = try readValue(path: memberPath, depth: depth + 1)
            members.append(ConfigJSONMember(key: key, node: node))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            if peek(UInt8(ascii: "}")) {
                index += 1
                return .object(members)
            }
            throw error("expected ',' or '}' after the value of \(ConfigValueText.quoted(key)), found \(describeCurrent())", path: path)
        }
    }

    private mutating func readArray(path: String, depth: Int) throws(ConfigJSONSyntaxError) -> ConfigJSONValue {
        index += 1  // "["
        var elements: [ConfigJSONNode] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if peek(UInt8(ascii: "]")) && !elements.isEmpty {
                throw error("trailing comma before ']'", path: path)
            }
            elements.append(try readValue(path: ConfigPath.element(path, elements.count), depth: depth + 1))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            if peek(UInt8(ascii: "]")) {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']' after an array element, found \(describeCurrent())", path: path)
        }
    }

    private mutating func readString(path: String) throws(ConfigJSONSyntaxError) -> String {
        index += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string", path: path) }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw error("string is not valid UTF-8", path: path)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try readEscape(into: &utf8, path: path)
            case 0..<0x20:
                throw error("control character 0x\(String(b, radix: 16)) inside a string (escape it)", path: path)
            default:
                utf8.append(b)
                index += 1
            }
        }
    }

    private mutating func readEscape(into utf8: inout [UInt8], path: String) throws(ConfigJSONSyntaxError) {
        guard index < bytes.count else { throw error("unterminated string", path: path) }
        let c = bytes[index]
        index += 1
        switch c {
        case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4(path: path)
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate \\u\(String(scalar, radix: 16, uppercase: true))", path: path)
                }
                index += 2
                let low = try readHex4(path: path)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("unpaired surrogate \\u\(String(scalar, radix: 16, uppercase: true))", path: path)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate \\u\(String(scalar, radix: 16, uppercase: true))", path: path)
            }
            // Surrogates are excluded above, so the scalar is always valid.
            utf8.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
        default:
            index -= 1
            throw error("invalid escape '\\\(describeByte(c))' in a string", path: path)
        }
    }

    private mutating func readHex4(path: String) throws(ConfigJSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw error("unterminated \\u escape", path: path) }
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("\\u escape needs four hex digits, found \(describeCurrent())", path: path)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func readNumber(path: String) throws(ConfigJSONSyntaxError) -> ConfigJSONValue {
        let start = index
        var isInteger = true
        if peek(UInt8(ascii: "-")) { index += 1 }
        if peek(UInt8(ascii: "0")) {
            index += 1
            if peekDigit() { throw error("numbers must not have leading zeros", path: path) }
        } else if peekDigit() {
            while peekDigit() { index += 1 }
        } else {
            throw error("expected a digit after '-', found \(describeCurrent())", path: path)
        }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            index += 1
            guard peekDigit() else { throw error("expected a digit after '.', found \(describeCurrent())", path: path) }
            while peekDigit() { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard peekDigit() else { throw error("expected a digit in the exponent, found \(describeCurrent())", path: path) }
            while peekDigit() { index += 1 }
        }
        // The number grammar only admits ASCII, so this decoding cannot fail.
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        return .number(text: text, isInteger: isInteger)
    }

    private mutating func expectLiteral(_ literal: StaticString, path: String) throws(ConfigJSONSyntaxError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            start + count <= bytes.count && bytes[start..<start + count].elementsEqual(expected)
        }
        guard matches else { throw error("expected a value, found \(describeCurrent())", path: path) }
        index += count
    }

    // MARK: - Scanning helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private func peekDigit() -> Bool {
        index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "the end of the document" }
        return "'\(describeByte(bytes[index]))'"
    }

    private func describeByte(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return String(UnicodeScalar(b)) }
        return "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16, uppercase: true)
    }

    /// Wherever the reader stumbles on "//" or "/*", the likely cause is a comment: say so.
    private func error(_ message: String, path: String) -> ConfigJSONSyntaxError {
        if index + 1 < bytes.count && bytes[index] == UInt8(ascii: "/")
            && (bytes[index + 1] == UInt8(ascii: "/") || bytes[index + 1] == UInt8(ascii: "*"))
        {
            return ConfigJSONSyntaxError(message: "comments are not allowed in JSON", offset: index, path: path)
        }
        return ConfigJSONSyntaxError(message: message, offset: index, path: path)
    }
}
