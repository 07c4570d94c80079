// JSONTreeReader: the one reader for cold-path JSON documents (configuration, user database). It
// builds a small tree whose nodes remember their byte offset, so every later complaint can name the
// JSON path and, for malformed input, the line and column (JSONTextLocation). These files are read at
// start-up, on check-config and on reload, so a recursive reader is fine here; depth is capped so
// hostile input cannot exhaust the stack.
//
// Duplicate keys are refused (with the path and line/column of the second one): in a configuration
// or credential file a repeated key is a mistake, and silently taking either copy hides it. WAMP
// messages are read by JSONScanner instead, where the last key wins (README, "JSON").

import WireCodec

/// One JSON value plus where it starts in the document.
public struct JSONTreeNode: Sendable {
    public var value: JSONTreeValue
    /// Byte offset of the value's first byte.
    public var offset: Int
}

/// An object member; members keep document order (keys are unique: the reader refuses duplicates).
public struct JSONTreeMember: Sendable {
    public var key: String
    public var node: JSONTreeNode
}

public indirect enum JSONTreeValue: Sendable {
    case null
    case bool(Bool)
    /// The number's text exactly as written; `isInteger` when it has no fraction and no exponent,
    /// so "port": 80.0 can be refused instead of silently truncated.
    case number(text: String, isInteger: Bool)
    case string(String)
    case array([JSONTreeNode])
    case object([JSONTreeMember])

    /// What the value is, for messages ("expected a string, found a number").
    public var kindName: String {
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

/// Why a document was refused: what was wrong, at which byte, and inside which JSON path.
public struct JSONTreeReadError: Error, Sendable {
    /// A repeated key is well-formed JSON that these files refuse; callers may word it differently.
    public enum Kind: Sendable { case syntax, duplicateKey }

    public var kind: Kind = .syntax
    public var message: String
    public var offset: Int
    public var path: String

    /// 1-based line and column of `offset` in `bytes` (the document that was read).
    public func lineAndColumn(in bytes: [UInt8]) -> (line: Int, column: Int) {
        JSONTextLocation.lineAndColumn(of: offset, in: bytes)
    }
}

/// Reads one JSON document (RFC 8259, UTF-8, an optional leading BOM) into a `JSONTreeNode`.
public struct JSONTreeReader {
    // Deeper than any sensible configuration; keeps recursion bounded on hostile input.
    public static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    public static func read(_ bytes: [UInt8]) throws(JSONTreeReadError) -> JSONTreeNode {
        var reader = JSONTreeReader(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
        reader.skipWhitespace()
        if reader.index == bytes.count {
            throw JSONTreeReadError(message: "the document is empty", offset: reader.index, path: "$")
        }
        let root = try reader.readValue(path: "$", depth: 0)
        reader.skipWhitespace()
        if reader.index != bytes.count {
            throw reader.error("unexpected \(reader.describeCurrent()) after the end of the document", path: "$")
        }
        return root
    }

    // MARK: - Values

    private mutating func readValue(path: String, depth: Int) throws(JSONTreeReadError) -> JSONTreeNode {
        guard index < bytes.count else { throw error("unexpected end of the document, expected a value", path: path) }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels", path: path) }
            return JSONTreeNode(value: try readObject(path: path, depth: depth), offset: start)
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels", path: path) }
            return JSONTreeNode(value: try readArray(path: path, depth: depth), offset: start)
        case UInt8(ascii: "\""):
            return JSONTreeNode(value: .string(try readString(path: path)), offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSONTreeNode(value: try readNumber(path: path), offset: start)
        case UInt8(ascii: "t"):
            try expectLiteral("true", path: path)
            return JSONTreeNode(value: .bool(true), offset: start)
        case UInt8(ascii: "f"):
            try expectLiteral("false", path: path)
            return JSONTreeNode(value: .bool(false), offset: start)
        case UInt8(ascii: "n"):
            try expectLiteral("null", path: path)
            return JSONTreeNode(value: .null, offset: start)
        default:
            throw error("expected a value, found \(describeCurrent())", path: path)
        }
    }

    private mutating func readObject(path: String, depth: Int) throws(JSONTreeReadError) -> JSONTreeValue {
        index += 1  // "{"
        var members: [JSONTreeMember] = []
        var keys: Set<String> = []  // a set, so a huge object is not a quadratic duplicate check
        while true {
            if try closesAtOnce(UInt8(ascii: "}"), afterComma: !members.isEmpty, path: path) { return .object(members) }
            guard peek(UInt8(ascii: "\"")) else {
                throw error("expected a key in double quotes, found \(describeCurrent())", path: path)
            }
            let keyStart = index
            let key = try readString(path: path)
            if !keys.insert(key).inserted {
                throw JSONTreeReadError(
                    kind: .duplicateKey, message: "duplicate key \(JSONWriter.quoted(key)) (each key may appear once)", offset: keyStart,
                    path: JSONPath.member(path, key))
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else {
                throw error("expected ':' after key \(JSONWriter.quoted(key)), found \(describeCurrent())", path: path)
            }
            index += 1
            skipWhitespace()
            let memberPath = JSONPath.member(path, key)
            let node = try readValue(path: memberPath, depth: depth + 1)
            members.append(JSONTreeMember(key: key, node: node))
            if try closes(UInt8(ascii: "}"), after: "the value of \(JSONWriter.quoted(key))", path: path) { return .object(members) }
        }
    }

    private mutating func readArray(path: String, depth: Int) throws(JSONTreeReadError) -> JSONTreeValue {
        index += 1  // "["
        var elements: [JSONTreeNode] = []
        while true {
            if try closesAtOnce(UInt8(ascii: "]"), afterComma: !elements.isEmpty, path: path) { return .array(elements) }
            elements.append(try readValue(path: JSONPath.element(path, elements.count), depth: depth + 1))
            if try closes(UInt8(ascii: "]"), after: "an array element", path: path) { return .array(elements) }
        }
    }

    /// Where a member or element may start: true (and past it) at the `closing` bracket of an
    /// empty container; after a comma that bracket is a trailing comma.
    private mutating func closesAtOnce(_ closing: UInt8, afterComma: Bool, path: String) throws(JSONTreeReadError) -> Bool {
        skipWhitespace()
        guard peek(closing) else { return false }
        if afterComma { throw error("trailing comma before '\(describeByte(closing))'", path: path) }
        index += 1
        return true
    }

    /// After a member or element: true past the `closing` bracket, false past a comma.
    private mutating func closes(_ closing: UInt8, after what: @autoclosure () -> String, path: String) throws(JSONTreeReadError) -> Bool {
        skipWhitespace()
        if peek(UInt8(ascii: ",")) {
            index += 1
            return false
        }
        if peek(closing) {
            index += 1
            return true
        }
        throw error("expected ',' or '\(describeByte(closing))' after \(what()), found \(describeCurrent())", path: path)
    }

    private mutating func readString(path: String) throws(JSONTreeReadError) -> String {
        let opening = index
        index += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string", path: path) }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    // Point at the offending byte, not at the closing quote.
                    index = Self.firstInvalidUTF8(in: bytes, from: opening + 1, to: index - 1)
                    throw error("string is not valid UTF-8", path: path)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try readEscape(into: &utf8, path: path)
            case 0..<0x20:
                throw error("control character \(describeByte(b)) inside a string (escape it)", path: path)
            default:
                utf8.append(b)
                index += 1
            }
        }
    }

    private mutating func readEscape(into utf8: inout [UInt8], path: String) throws(JSONTreeReadError) {
        switch JSONEscape.decode(bytes, index, into: &utf8) {
        case .decoded(let end):
            index = end
        case .endOfInput:
            throw error("unterminated string", path: path)
        case .notAnEscape(let c):
            throw error("invalid escape '\\\(describeByte(c))' in a string", path: path)
        case .badHex(let at):
            index = at
            guard at < bytes.count else { throw error("unterminated \\u escape", path: path) }
            throw error("\\u escape needs four hex digits, found \(describeCurrent())", path: path)
        case .unpairedSurrogate(let value, let end):
            index = end
            throw error("unpaired surrogate \\u\(String(value, radix: 16, uppercase: true))", path: path)
        }
    }

    private mutating func readNumber(path: String) throws(JSONTreeReadError) -> JSONTreeValue {
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

    private mutating func expectLiteral(_ literal: StaticString, path: String) throws(JSONTreeReadError) {
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

    /// Offset of the first byte in `from..<to` that does not start a valid UTF-8 sequence (escapes
    /// are ASCII, so the raw bytes between the quotes fail exactly where the decoded text does).
    private static func firstInvalidUTF8(in bytes: [UInt8], from: Int, to: Int) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes[from..<to].makeIterator()
        var offset = from
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return to
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
    private func error(_ message: String, path: String) -> JSONTreeReadError {
        if index + 1 < bytes.count && bytes[index] == UInt8(ascii: "/")
            && (bytes[index + 1] == UInt8(ascii: "/") || bytes[index + 1] == UInt8(ascii: "*"))
        {
            return JSONTreeReadError(message: "comments are not allowed in JSON", offset: index, path: path)
        }
        return JSONTreeReadError(message: message, offset: index, path: path)
    }
}
