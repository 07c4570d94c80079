// Lexer: filter expression text → tokens with 1-based columns (in Unicode scalars). Keywords
// (AND, OR, NOT, BETWEEN, IN, TRUE, FALSE, NULL) are recognised case-insensitively as DynamoDB
// does; function names stay plain identifiers (the parser matches them case-sensitively).
// Compile time only: allocation is fine here.

import WireCodec

enum TokenKind: Equatable {
    case identifier(String)  // bare attribute name or function name
    case nameRef(String)  // #name, text including '#'
    case valueRef(String)  // :value, text including ':'
    case number(FilterNumber)
    case string(String)
    case keyword(Keyword)
    case leftParen, rightParen, leftBracket, rightBracket, comma, dot
    case comparator(Comparator)
    case end
}

enum Keyword: String {
    case and = "AND", or = "OR", not = "NOT", between = "BETWEEN", `in` = "IN"
    case `true` = "TRUE", `false` = "FALSE", null = "NULL"
}

enum Comparator: String {
    case eq = "=", ne = "<>", lt = "<", le = "<=", gt = ">", ge = ">="
}

struct Token {
    var kind: TokenKind
    var column: Int
    /// The source text, for error messages.
    var text: String
}

struct Lexer {
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ expression: String) {
        scalars = Array(expression.unicodeScalars)
    }

    static func isNameScalar(_ s: Unicode.Scalar) -> Bool {
        s.isASCII && (("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_")
    }

    func text(_ from: Int, _ to: Int) -> String {
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars[from..<to])
        return out
    }

    /// All tokens, ending with `.end`.
    mutating func tokenize() throws(FilterError) -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = try nextToken()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    mutating func nextToken() throws(FilterError) -> Token {
        while index < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[index]) { index += 1 }
        let start = index
        let column = start + 1
        guard index < scalars.count else { return Token(kind: .end, column: column, text: "end of expression") }
        let c = scalars[index]
        func single(_ kind: TokenKind) -> Token {
            index += 1
            return Token(kind: kind, column: column, text: String(Character(c)))
        }
        switch c {
        case "(": return single(.leftParen)
        case ")": return single(.rightParen)
        case "[": return single(.leftBracket)
        case "]": return single(.rightBracket)
        case ",": return single(.comma)
        case ".": return single(.dot)
        case "=": return single(.comparator(.eq))
        case "<", ">":
            index += 1
            var op = String(Character(c))
            if index < scalars.count && (scalars[index] == "=" || (c == "<" && scalars[index] == ">")) {
                op.unicodeScalars.append(scalars[index])
                index += 1
            }
            return Token(kind: .comparator(Comparator(rawValue: op)!), column: column, text: op)
        case "#", ":":
            index += 1
            while index < scalars.count && Lexer.isNameScalar(scalars[index]) { index += 1 }
            let text = text(start, index)
            guard index > start + 1 else {
                throw FilterError(
                    c == "#" ? "expected a name after '#' (e.g. #n0)" : "expected a name after ':' (e.g. :v0)",
                    column: column)
            }
            return Token(kind: c == "#" ? .nameRef(text) : .valueRef(text), column: column, text: text)
        case "'", "\"":
            return try stringLiteral(quote: c)
        case "-", "0"..."9":
            return try numberLiteral()
        default:
            guard Lexer.isNameScalar(c) else {
                throw FilterError("unexpected character '\(Character(c))'", column: column)
            }
            while index < scalars.count && Lexer.isNameScalar(scalars[index]) { index += 1 }
            let text = text(start, index)
            if let keyword = Keyword(rawValue: text.uppercased()) {
                return Token(kind: .keyword(keyword), column: column, text: text)
            }
            if let first = text.unicodeScalars.first, ("0"..."9").contains(first) {
                throw FilterError("attribute name '\(text)' starts with a digit; use a #name placeholder", column: column)
            }
            return Token(kind: .identifier(text), column: column, text: text)
        }
    }

    /// A JSON-style number, optionally negative (the literal extension).
    mutating func numberLiteral() throws(FilterError) -> Token {
        let start = index
        while index < scalars.count,
            scalars[index].isASCII && ("0"..."9" ~= scalars[index] || ".eE+-".unicodeScalars.contains(scalars[index]))
        {
            // A '-' or '+' only belongs to the number right at the start or after e/E.
            if (scalars[index] == "-" || scalars[index] == "+") && index > start
                && !(scalars[index - 1] == "e" || scalars[index - 1] == "E")
            {
                break
            }
            index += 1
        }
        let text = text(start, index)
        let bytes = Array(text.utf8)
        let scanned = bytes.withUnsafeBytes { FilterNumber.scan($0, from: 0) }
        guard let (number, used) = scanned, used == bytes.count else {
            throw FilterError("malformed number '\(text)'", column: start + 1)
        }
        guard let number else {
            throw FilterError(
                "number \(text) is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125)",
                column: start + 1)
        }
        if index < scalars.count && Lexer.isNameScalar(scalars[index]) {
            throw FilterError("malformed number '\(text)\(Character(scalars[index]))'", column: start + 1)
        }
        return Token(kind: .number(number), column: start + 1, text: text)
    }

    /// A 'single' or "double" quoted string with JSON backslash escapes (the literal extension).
    mutating func stringLiteral(quote: Unicode.Scalar) throws(FilterError) -> Token {
        let start = index
        index += 1
        var value = ""
        while true {
            guard index < scalars.count else {
                throw FilterError("unterminated string literal starting", column: start + 1)
            }
            let c = scalars[index]
            index += 1
            if c == quote { break }
            if c != "\\" {
                value.unicodeScalars.append(c)
                continue
            }
            guard index < scalars.count else {
                throw FilterError("unterminated string literal starting", column: start + 1)
            }
            let e = scalars[index]
            index += 1
            switch e {
            case "\"", "'", "\\", "/": value.unicodeScalars.append(e)
            case "b": value.unicodeScalars.append("\u{08}")
            case "f": value.unicodeScalars.append("\u{0C}")
            case "n": value.unicodeScalars.append("\n")
            case "r": value.unicodeScalars.append("\r")
            case "t": value.unicodeScalars.append("\t")
            case "u":
                let escapeColumn = index - 1
                var code = try hex4(escapeColumn)
                if code >= 0xD800 && code < 0xDC00 {
                    guard index + 1 < scalars.count, scalars[index] == "\\", scalars[index + 1] == "u" else {
                        throw FilterError("unpaired surrogate in \\u escape", column: escapeColumn)
                    }
                    index += 2
                    let low = try hex4(escapeColumn)
                    guard low >= 0xDC00 && low < 0xE000 else {
                        throw FilterError("unpaired surrogate in \\u escape", column: escapeColumn)
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else {
                    throw FilterError("unpaired surrogate in \\u escape", column: escapeColumn)
                }
                value.unicodeScalars.append(scalar)
            default:
                throw FilterError("invalid escape '\\\(Character(e))' in string literal", column: index - 1)
            }
        }
        return Token(kind: .string(value), column: start + 1, text: text(start, index))
    }

    mutating func hex4(_ column: Int) throws(FilterError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < scalars.count, scalars[index].isASCII,
                let d = JSONEscape.hexDigit(UInt8(scalars[index].value))
            else { throw FilterError("expected 4 hex digits after \\u", column: column) }
            value = value << 4 | UInt32(d)
            index += 1
        }
        return value
    }
}
