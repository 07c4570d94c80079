// Syntax: the parse tree of a filter expression, before placeholder binding. Every node keeps
// the column where it starts so that later passes (binding, type checks) can say where.

/// One step of a document path as written: a name (bare or #placeholder) or a list index.
enum PathStep {
    case name(String, column: Int)  // bare attribute name
    case nameRef(String, column: Int)  // #placeholder
    case index(Int, column: Int)
}

struct PathSyntax {
    var steps: [PathStep]
    var column: Int
}

indirect enum OperandSyntax {
    case path(PathSyntax)
    case valueRef(String, column: Int)  // :placeholder
    case literal(FilterValue, column: Int)
    case size(PathSyntax, column: Int)

    var column: Int {
        switch self {
        case .path(let p): return p.column
        case .valueRef(_, let c), .literal(_, let c), .size(_, let c): return c
        }
    }
}

enum FunctionName: String, CaseIterable {
    case attributeExists = "attribute_exists"
    case attributeNotExists = "attribute_not_exists"
    case attributeType = "attribute_type"
    case beginsWith = "begins_with"
    case contains, size

    var arity: Int {
        switch self {
        case .attributeExists, .attributeNotExists, .size: return 1
        case .attributeType, .beginsWith, .contains: return 2
        }
    }
}

indirect enum ConditionSyntax {
    case compare(Comparator, OperandSyntax, OperandSyntax, column: Int)
    case between(OperandSyntax, OperandSyntax, OperandSyntax, column: Int)
    case `in`(OperandSyntax, [OperandSyntax], column: Int)
    case function(FunctionName, [OperandSyntax], column: Int)
    case and(ConditionSyntax, ConditionSyntax)
    case or(ConditionSyntax, ConditionSyntax)
    case not(ConditionSyntax, column: Int)
    case parenthesized(ConditionSyntax, column: Int)
}
