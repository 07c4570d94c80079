// Parser: tokens → ConditionSyntax by recursive descent, with DynamoDB's precedence
// (lowest first): OR, AND, NOT, then the primaries: parentheses, functions, comparisons,
// BETWEEN, IN. Operands are paths, :placeholders, literals and size(path). Errors say what was
// expected and the column of the offending token. Nesting depth is capped so that hostile input
// cannot exhaust the stack.

struct Parser {
    var tokens: [Token]
    var index = 0
    var depth = 0

    static let maxDepth = 64
    /// DynamoDB: "a IN (b, c, …)": the list can contain up to 100 values.
    static let maxInOperands = 100
    /// DynamoDB: document paths nest at most 32 levels.
    static let maxPathDepth = 32

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    var current: Token { tokens[index] }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func describe(_ token: Token) -> String {
        token.kind == .end ? "the end of the expression" : "'\(token.text)'"
    }

    func expected(_ what: String) -> FilterError {
        FilterError("expected \(what), found \(describe(current))", column: current.column)
    }

    mutating func expect(_ kind: TokenKind, _ what: String) throws(FilterError) {
        guard current.kind == kind else { throw expected(what) }
        _ = advance()
    }

    mutating func parseExpression() throws(FilterError) -> ConditionSyntax {
        if current.kind == .end { throw FilterError("empty filter expression", column: 1) }
        let condition = try parseOr()
        guard current.kind == .end else {
            throw FilterError("unexpected \(describe(current)) after a complete condition", column: current.column)
        }
        return condition
    }

    /// `condition OR condition …` of AND chains, left-associative (OR binds loosest).
    mutating func parseOr() throws(FilterError) -> ConditionSyntax {
        try parseChain(of: .or)
    }

    /// A left-associative chain of `keyword`: OR chains AND chains, AND chains NOT operands.
    mutating func parseChain(of keyword: Keyword) throws(FilterError) -> ConditionSyntax {
        var lhs = try parseOperand(of: keyword)
        while current.kind == .keyword(keyword) {
            _ = advance()
            let rhs = try parseOperand(of: keyword)
            lhs = keyword == .or ? .or(lhs, rhs) : .and(lhs, rhs)
        }
        return lhs
    }

    private mutating func parseOperand(of keyword: Keyword) throws(FilterError) -> ConditionSyntax {
        keyword == .or ? try parseChain(of: .and) : try parseNot()
    }

    /// Enters one level of NOT or parentheses opened at `column`.
    mutating func nest(_ column: Int) throws(FilterError) {
        depth += 1
        if depth > Parser.maxDepth {
            throw FilterError("expression nested deeper than \(Parser.maxDepth) levels", column: column)
        }
    }

    mutating func parseNot() throws(FilterError) -> ConditionSyntax {
        guard current.kind == .keyword(.not) else { return try parsePrimary() }
        let column = advance().column
        try nest(column)
        defer { depth -= 1 }
        return .not(try parseNot(), column: column)
    }

    mutating func parsePrimary() throws(FilterError) -> ConditionSyntax {
        if current.kind == .leftParen {
            let open = advance()
            try nest(open.column)
            defer { depth -= 1 }
            let inner = try parseOr()
            guard current.kind == .rightParen else {
                throw FilterError(
                    "expected ')' to close '(' at column \(open.column), found \(describe(current))",
                    column: current.column)
            }
            _ = advance()
            if case .parenthesized = inner {
                // DynamoDB: "The expression has redundant parentheses".
                throw FilterError("redundant parentheses", column: open.column)
            }
            return .parenthesized(inner, column: open.column)
        }
        if case .identifier(let name) = current.kind, tokens[index + 1].kind == .leftParen {
            let nameToken = current
            let function = try functionName(name, column: nameToken.column)
            if function != .size {
                _ = advance()
                let args = try parseArguments(function, column: nameToken.column)
                return .function(function, args, column: nameToken.column)
            }
        }
        let lhs = try parseOperand()
        let opToken = current
        switch opToken.kind {
        case .comparator(let comparator):
            _ = advance()
            let rhs = try parseOperand()
            return .compare(comparator, lhs, rhs, column: opToken.column)
        case .keyword(.between):
            _ = advance()
            let low = try parseOperand()
            try expect(.keyword(.and), "AND in BETWEEN … AND …")
            let high = try parseOperand()
            return .between(lhs, low, high, column: opToken.column)
        case .keyword(.in):
            _ = advance()
            try expect(.leftParen, "'(' after IN")
            var list = [try parseOperand()]
            while current.kind == .comma {
                _ = advance()
                let column = current.column
                list.append(try parseOperand())
                if list.count > Parser.maxInOperands {
                    throw FilterError("IN list has more than \(Parser.maxInOperands) operands", column: column)
                }
            }
            guard current.kind == .rightParen else { throw expected("',' or ')' in the IN list") }
            _ = advance()
            return .in(lhs, list, column: opToken.column)
        default:
            if case .size = lhs {
                throw FilterError(
                    "size() is not a condition: compare it, e.g. size(a) > :v; found \(describe(opToken))",
                    column: opToken.column)
            }
            throw expected("a comparator (= <> < <= > >=), BETWEEN or IN")
        }
    }

    func functionName(_ name: String, column: Int) throws(FilterError) -> FunctionName {
        if let function = FunctionName(rawValue: name) { return function }
        if let function = FunctionName(rawValue: name.lowercased()) {
            throw FilterError(
                "unknown function '\(name)' (function names are case-sensitive: did you mean \(function.rawValue)?)",
                column: column)
        }
        throw FilterError("unknown function '\(name)'", column: column)
    }

    /// `( operand, … )` after a function name; checks the argument count.
    mutating func parseArguments(_ function: FunctionName, column: Int) throws(FilterError) -> [OperandSyntax] {
        try expect(.leftParen, "'(' after \(function.rawValue)")
        var args: [OperandSyntax] = []
        if current.kind != .rightParen {
            args.append(try parseOperand())
            while current.kind == .comma {
                _ = advance()
                args.append(try parseOperand())
            }
        }
        guard current.kind == .rightParen else { throw expected("',' or ')' in the arguments of \(function.rawValue)") }
        _ = advance()
        guard args.count == function.arity else {
            throw FilterError(
                "\(function.rawValue) takes \(function.arity) argument\(function.arity == 1 ? "" : "s"), got \(args.count)",
                column: column)
        }
        return args
    }

    mutating func parseOperand() throws(FilterError) -> OperandSyntax {
        let token = current
        switch token.kind {
        case .valueRef(let name):
            _ = advance()
            return .valueRef(name, column: token.column)
        case .number(let n):
            _ = advance()
            return .literal(.number(n), column: token.column)
        case .string(let s):
            _ = advance()
            return .literal(.string(s), column: token.column)
        case .keyword(.true), .keyword(.false):
            _ = advance()
            return .literal(.bool(token.kind == .keyword(.true)), column: token.column)
        case .keyword(.null):
            _ = advance()
            return .literal(.null, column: token.column)
        case .identifier(let name) where tokens[index + 1].kind == .leftParen:
            let function = try functionName(name, column: token.column)
            guard function == .size else {
                throw FilterError(
                    "\(function.rawValue)() is a condition, not an operand; only size() can be compared",
                    column: token.column)
            }
            _ = advance()
            let args = try parseArguments(function, column: token.column)
            guard case .path(let path) = args[0] else {
                throw FilterError("size() needs a document path argument", column: args[0].column)
            }
            return .size(path, column: token.column)
        case .identifier, .nameRef:
            return .path(try parsePath())
        default:
            throw expected("an operand (a path, :value, literal or size(path))")
        }
    }

    mutating func parsePath() throws(FilterError) -> PathSyntax {
        let column = current.column
        var steps: [PathStep] = [try pathName()]
        while true {
            if current.kind == .dot {
                _ = advance()
                steps.append(try pathName())
            } else if current.kind == .leftBracket {
                let open = advance()
                guard case .number(let n) = current.kind, let index = listIndex(n, current.text) else {
                    throw expected("a list index (a non-negative integer)")
                }
                _ = advance()
                try expect(.rightBracket, "']'")
                steps.append(.index(index, column: open.column))
            } else {
                break
            }
            if steps.count > Parser.maxPathDepth {
                throw FilterError("document path nests deeper than \(Parser.maxPathDepth) levels", column: column)
            }
        }
        return PathSyntax(steps: steps, column: column)
    }

    func listIndex(_ n: FilterNumber, _ text: String) -> Int? {
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.utf8.count <= 9 else { return nil }
        return Int(text)
    }

    mutating func pathName() throws(FilterError) -> PathStep {
        let token = current
        switch token.kind {
        case .identifier(let name):
            _ = advance()
            if ReservedWords.contains(name) {
                throw FilterError(
                    "attribute name '\(name)' is a DynamoDB reserved word; use a #name placeholder from filter_names",
                    column: token.column)
            }
            return .name(name, column: token.column)
        case .nameRef(let ref):
            _ = advance()
            return .nameRef(ref, column: token.column)
        case .keyword:
            throw FilterError(
                "attribute name '\(token.text)' is a DynamoDB reserved word; use a #name placeholder from filter_names",
                column: token.column)
        default:
            throw expected("an attribute name")
        }
    }
}
