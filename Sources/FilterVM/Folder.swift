// Folder: constant folding over BoundCondition. Comparisons between constants are decided at
// compile time with the VM's own semantics (bytes for strings, exact decimals for numbers);
// AND/OR/NOT simplify around constants; IN lists are de-duplicated, split into a constant set
// (sorted canonically, so the order written does not change the program) and path operands.
// Folding must never change behaviour: evaluation has no side effects, so `e AND false` is false.

enum ConstantSemantics {
    /// -1/0/+1 when both are N or both are S; nil when they cannot be ordered.
    static func order(_ a: FilterValue, _ b: FilterValue) -> Int? {
        switch (a, b) {
        case (.number(let x), .number(let y)): return FilterNumber.compare(x, y)
        case (.string(let x), .string(let y)):
            if x.utf8.elementsEqual(y.utf8) { return 0 }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        default: return nil
        }
    }
}

enum Folder {
    static func fold(_ c: BoundCondition) -> BoundCondition {
        switch c {
        case .constant, .exists, .isType, .beginsWith, .contains: return c
        case .eq(let a, let b): return foldEq(a, b)
        case .lt(let a, let b): return foldOrder(a, b, strict: true)
        case .le(let a, let b): return foldOrder(a, b, strict: false)
        case .between(let a, let low, let high): return foldBetween(a, low, high)
        case .in(let a, let list): return foldIn(a, list)
        case .not(let e):
            switch fold(e) {
            case .constant(let v): return .constant(!v)
            case .not(let inner): return inner
            case let folded: return .not(folded)
            }
        case .and(let l, let r): return and(fold(l), fold(r))
        case .or(let l, let r): return or(fold(l), fold(r))
        }
    }

    /// AND of two folded conditions.
    static func and(_ l: BoundCondition, _ r: BoundCondition) -> BoundCondition {
        switch (l, r) {
        case (.constant(false), _), (_, .constant(false)): return .constant(false)
        case (.constant(true), let x), (let x, .constant(true)): return x
        case (let x, let y): return .and(x, y)
        }
    }

    /// OR of two folded conditions.
    static func or(_ l: BoundCondition, _ r: BoundCondition) -> BoundCondition {
        switch (l, r) {
        case (.constant(true), _), (_, .constant(true)): return .constant(true)
        case (.constant(false), let x), (let x, .constant(false)): return x
        case (let x, let y): return .or(x, y)
        }
    }

    /// Is the operand a constant that size() can never equal or order against (size is N)?
    static func sizeMismatch(_ a: BoundOperand, _ b: BoundOperand) -> Bool {
        switch (a, b) {
        case (.size, .constant(let v)), (.constant(let v), .size): return v.kind != .number
        default: return false
        }
    }

    static func foldEq(_ a: BoundOperand, _ b: BoundOperand) -> BoundCondition {
        if case .constant(let x) = a, case .constant(let y) = b { return .constant(x.sameValue(as: y)) }
        if sizeMismatch(a, b) { return .constant(false) }
        // Canonical operand order: the constant goes right.
        if case .constant = a { return .eq(b, a) }
        return .eq(a, b)
    }

    static func foldOrder(_ a: BoundOperand, _ b: BoundOperand, strict: Bool) -> BoundCondition {
        if case .constant(let x) = a, case .constant(let y) = b {
            guard let order = ConstantSemantics.order(x, y) else { return .constant(false) }
            return .constant(strict ? order < 0 : order <= 0)
        }
        if sizeMismatch(a, b) { return .constant(false) }
        return strict ? .lt(a, b) : .le(a, b)
    }

    static func foldBetween(_ a: BoundOperand, _ low: BoundOperand, _ high: BoundOperand) -> BoundCondition {
        if sizeMismatch(a, low) || sizeMismatch(a, high) { return .constant(false) }
        if case .constant(let l) = low, case .constant(let h) = high {
            // No value lies between bounds of different types, or between reversed bounds.
            guard let order = ConstantSemantics.order(l, h), order <= 0 else { return .constant(false) }
            if case .constant(let x) = a {
                guard let lo = ConstantSemantics.order(l, x), let hi = ConstantSemantics.order(x, h) else {
                    return .constant(false)
                }
                return .constant(lo <= 0 && hi <= 0)
            }
        }
        return .between(a, low, high)
    }

    static func foldIn(_ a: BoundOperand, _ list: [BoundOperand]) -> BoundCondition {
        var constants: [FilterValue] = []
        var seen: Set<String> = []
        var others: [BoundOperand] = []
        for item in list {
            switch item {
            case .constant(let v):
                if case .size = a, v.kind != .number { continue }  // size is N: can never match
                if seen.insert(v.canonicalText).inserted { constants.append(v) }
            default:
                if !others.contains(item) { others.append(item) }
            }
        }
        constants.sort { $0.canonicalText.utf8.lexicographicallyPrecedes($1.canonicalText.utf8) }
        var result = BoundCondition.constant(false)
        func add(_ c: BoundCondition) {
            result = or(result, c)
        }
        if case .constant(let x) = a {
            if constants.contains(where: { $0.sameValue(as: x) }) { return .constant(true) }
        } else if constants.count == 1 {
            add(.eq(a, .constant(constants[0])))
        } else if !constants.isEmpty {
            add(.in(a, constants.map { .constant($0) }))
        }
        for other in others { add(foldEq(a, other)) }
        return result
    }
}
