// Binder: ConditionSyntax → BoundCondition. Substitutes #names and :values, checks what
// DynamoDB checks at request time (unbound and unused placeholders, function argument kinds,
// operand types that can never compare, attribute_type's type names), and canonicalises
// (a > b → b < a, a <> b → NOT a = b) so that equivalent spellings compile to equal programs.

/// One resolved step of a document path: a member key (UTF-8 bytes) or a list index.
enum PathKey: Hashable {
    case key([UInt8])
    case index(Int)
}

typealias BoundPath = [PathKey]

enum BoundOperand: Equatable {
    case constant(FilterValue)
    case path(BoundPath)
    case size(BoundPath)

    static func == (lhs: BoundOperand, rhs: BoundOperand) -> Bool {
        switch (lhs, rhs) {
        case (.constant(let a), .constant(let b)): return a.sameValue(as: b)
        case (.path(let a), .path(let b)), (.size(let a), .size(let b)): return a == b
        default: return false
        }
    }
}

indirect enum BoundCondition {
    case constant(Bool)
    case exists(BoundPath)
    case isType(BoundPath, FilterKind)
    case eq(BoundOperand, BoundOperand)
    case lt(BoundOperand, BoundOperand)
    case le(BoundOperand, BoundOperand)
    case between(BoundOperand, BoundOperand, BoundOperand)
    case `in`(BoundOperand, [BoundOperand])
    case beginsWith(BoundOperand, BoundOperand)
    case contains(BoundOperand, BoundOperand)
    case and(BoundCondition, BoundCondition)
    case or(BoundCondition, BoundCondition)
    case not(BoundCondition)
}

struct Binder {
    let values: [String: FilterValue]
    let names: [String: String]
    var usedValues: Set<String> = []
    var usedNames: Set<String> = []

    /// attribute_type's type names; the JSON-producible ones map to a FilterKind.
    static let typeNames: [String: FilterKind?] = [
        "S": .string, "N": .number, "BOOL": .bool, "NULL": .null, "L": .list, "M": .map,
        "SS": nil, "NS": nil, "BS": nil, "B": nil,
    ]

    init(values: [String: FilterValue], names: [String: String]) {
        self.values = values
        self.names = names
    }

    /// Checks the placeholder maps themselves and that every entry was used (DynamoDB rejects
    /// unused ExpressionAttributeValues and ExpressionAttributeNames; so do we).
    func checkMaps() throws(FilterError) {
        for key in values.keys.sorted() where !key.hasPrefix(":") || key.count < 2 {
            throw FilterError("filter_values key '\(key)' must start with ':' (e.g. \":v0\")")
        }
        for key in names.keys.sorted() where !key.hasPrefix("#") || key.count < 2 {
            throw FilterError("filter_names key '\(key)' must start with '#' (e.g. \"#n0\")")
        }
        for (key, name) in names.sorted(by: { $0.key < $1.key }) where name.isEmpty {
            throw FilterError("filter_names entry '\(key)' is an empty attribute name")
        }
    }

    func checkAllUsed() throws(FilterError) {
        let unusedValues = values.keys.filter { !usedValues.contains($0) }.sorted()
        if !unusedValues.isEmpty {
            throw FilterError(
                "filter_values entries not used in the expression: \(unusedValues.joined(separator: ", ")) "
                    + "(DynamoDB rejects unused ExpressionAttributeValues)")
        }
        let unusedNames = names.keys.filter { !usedNames.contains($0) }.sorted()
        if !unusedNames.isEmpty {
            throw FilterError(
                "filter_names entries not used in the expression: \(unusedNames.joined(separator: ", ")) "
                    + "(DynamoDB rejects unused ExpressionAttributeNames)")
        }
    }

    mutating func bind(_ syntax: ConditionSyntax) throws(FilterError) -> BoundCondition {
        switch syntax {
        case .and(let l, let r): return .and(try bind(l), try bind(r))
        case .or(let l, let r): return .or(try bind(l), try bind(r))
        case .not(let e, _): return .not(try bind(e))
        case .parenthesized(let e, _): return try bind(e)
        case .compare(let op, let l, let r, let column):
            let lhs = try bind(l)
            let rhs = try bind(r)
            switch op {
            case .eq: return .eq(lhs, rhs)
            case .ne: return .not(.eq(lhs, rhs))  // SPEC §5.1: <> is exactly NOT =
            case .lt, .le, .gt, .ge:
                try checkOrderable(lhs, l, op.rawValue)
                try checkOrderable(rhs, r, op.rawValue)
                _ = column
                switch op {
                case .lt: return .lt(lhs, rhs)
                case .le: return .le(lhs, rhs)
                case .gt: return .lt(rhs, lhs)
                default: return .le(rhs, lhs)
                }
            }
        case .between(let a, let low, let high, _):
            let operands = [(try bind(a), a), (try bind(low), low), (try bind(high), high)]
            for (bound, syntax) in operands { try checkOrderable(bound, syntax, "BETWEEN") }
            return .between(operands[0].0, operands[1].0, operands[2].0)
        case .in(let a, let list, _):
            var bound: [BoundOperand] = []
            for item in list { bound.append(try bind(item)) }
            return .in(try bind(a), bound)
        case .function(let function, let args, let column):
            return try bindFunction(function, args, column: column)
        }
    }

    /// DynamoDB refuses <, <=, >, >= and BETWEEN on constant operands of a non-scalar type
    /// ("Incorrect operand type for operator or function"); only N and S (and B) order.
    func checkOrderable(_ operand: BoundOperand, _ syntax: OperandSyntax, _ op: String) throws(FilterError) {
        guard case .constant(let value) = operand else { return }
        switch value {
        case .number, .string: return
        default:
            throw FilterError(
                "incorrect operand type for \(op): \(value.kind.dynamoName) (only N and S values can be ordered)",
                column: syntax.column)
        }
    }

    mutating func pathArgument(_ syntax: OperandSyntax, of function: FunctionName, position: Int) throws(FilterError)
        -> BoundPath
    {
        guard case .path(let path) = syntax else {
            throw FilterError(
                "argument \(position) of \(function.rawValue) must be a document path", column: syntax.column)
        }
        return try bind(path)
    }

    mutating func bindFunction(_ function: FunctionName, _ args: [OperandSyntax], column: Int) throws(FilterError)
        -> BoundCondition
    {
        switch function {
        case .attributeExists:
            return .exists(try pathArgument(args[0], of: function, position: 1))
        case .attributeNotExists:
            return .not(.exists(try pathArgument(args[0], of: function, position: 1)))
        case .attributeType:
            let path = try pathArgument(args[0], of: function, position: 1)
            let type = try bind(args[1])
            guard case .constant(.string(let name)) = type else {
                throw FilterError(
                    "argument 2 of attribute_type must be a string value naming a type "
                        + "(S, SS, N, NS, B, BS, BOOL, NULL, L, M)", column: args[1].column)
            }
            guard let kind = Binder.typeNames[name] else {
                throw FilterError(
                    "invalid type '\(name)' for attribute_type (expected S, SS, N, NS, B, BS, BOOL, NULL, L or M)",
                    column: args[1].column)
            }
            // SS, NS, BS and B never occur in JSON or MessagePack documents.
            guard let kind else { return .constant(false) }
            return .isType(path, kind)
        case .beginsWith:
            let path = try pathArgument(args[0], of: function, position: 1)
            let prefix = try bind(args[1])
            if case .constant(let value) = prefix, value.kind != .string {
                throw FilterError(
                    "incorrect operand type for begins_with: \(value.kind.dynamoName) (expected S)",
                    column: args[1].column)
            }
            return .beginsWith(.path(path), prefix)
        case .contains:
            let path = try pathArgument(args[0], of: function, position: 1)
            let operand = try bind(args[1])
            if operand == .path(path) {
                // DynamoDB: "The path and the operand must be distinct".
                throw FilterError("contains: the path and the operand must be distinct", column: args[1].column)
            }
            return .contains(.path(path), operand)
        case .size:
            // The parser only lets size() through as an operand.
            throw FilterError("size() is not a condition: compare it, e.g. size(a) > :v", column: column)
        }
    }

    mutating func bind(_ operand: OperandSyntax) throws(FilterError) -> BoundOperand {
        switch operand {
        case .literal(let value, _): return .constant(value)
        case .valueRef(let name, let column):
            guard let value = values[name] else {
                throw FilterError("unbound placeholder \(name) (not in filter_values)", column: column)
            }
            usedValues.insert(name)
            return .constant(value)
        case .path(let path): return .path(try bind(path))
        case .size(let path, _): return .size(try bind(path))
        }
    }

    mutating func bind(_ path: PathSyntax) throws(FilterError) -> BoundPath {
        var result: BoundPath = []
        for step in path.steps {
            switch step {
            case .name(let name, _): result.append(.key(Array(name.utf8)))
            case .index(let i, _): result.append(.index(i))
            case .nameRef(let ref, let column):
                guard let name = names[ref] else {
                    throw FilterError("unbound name placeholder \(ref) (not in filter_names)", column: column)
                }
                usedNames.insert(ref)
                result.append(.key(Array(name.utf8)))
            }
        }
        return result
    }
}
