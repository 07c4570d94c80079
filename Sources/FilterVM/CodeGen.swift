// CodeGen: folded BoundCondition → bytecode, constant table and path table. Paths are interned
// as a trie (each slot names its parent and one step) with keys pre-split into a byte pool and
// pre-hashed, so the VM resolves every distinct prefix at most once per event. AND/OR compile
// to short-circuit jumps over the accumulator; a final pass threads jumps that land on jumps.

/// One step of an interned path: parent slot (or -1 for the top-level map) plus an index, or a
/// key (whose bytes and hash the VM reads from the step's MemberKey).
struct PathSlot {
    var parent: Int32
    /// List index, or -1 when this step is a member key.
    var index: Int32
    /// For a key step: its member group (the keys read from the same parent) and its index
    /// there (see FilterMemberLookup.swift); -1 for an index step.
    var group: Int32 = -1
    var member: Int32 = -1
}

/// Where some bytes lie in the program's byte pool: a string constant's UTF-8, a member key's.
struct PoolBytes {
    var start: Int32
    var count: Int32
    var end: Int32 { start + count }
}

/// A constant, pre-digested for the VM: scalars unpacked, string bytes in the program's pool.
struct ProgramConstant {
    var kind: FilterKind
    var bool: Bool
    var number: FilterNumber
    /// A string's UTF-8 bytes; empty for other kinds.
    var string: PoolBytes
    var value: FilterValue
}

struct CodeGen {
    var code: [Instruction] = []
    var constants: [ProgramConstant] = []
    var constantIndex: [String: Int] = [:]
    var paths: [PathSlot] = []
    var pathIndex: [PathTrieKey: Int] = [:]
    var pathTexts: [String] = []
    /// Where each key step's key lies in `bytes` (compile time only: it becomes the MemberKey).
    var keyOfSlot: [Int: Range<Int>] = [:]
    var bytes: [UInt8] = []
    var groups: [MemberGroup] = []
    var memberKeys: [MemberKey] = []

    struct PathTrieKey: Hashable {
        var parent: Int
        var step: PathKey
    }

    static let limitError = FilterError("expression too large to compile (too many paths, constants or instructions)")

    mutating func path(_ steps: BoundPath) throws(FilterError) -> Int {
        var parent = -1
        for step in steps {
            let key = PathTrieKey(parent: parent, step: step)
            if let existing = pathIndex[key] {
                parent = existing
                continue
            }
            guard paths.count < UInt16.operandIndexLimit else { throw CodeGen.limitError }
            var slot = PathSlot(parent: Int32(parent), index: -1)
            let parentText = parent < 0 ? "" : pathTexts[parent]
            switch step {
            case .index(let i):
                slot.index = Int32(i)
                pathTexts.append(parentText + "[\(i)]")
            case .key(let name):
                keyOfSlot[paths.count] = bytes.count..<bytes.count + name.count
                bytes += name
                let text = String(decoding: name, as: UTF8.self)
                let simple =
                    !name.isEmpty && name.allSatisfy { Lexer.isNameScalar(Unicode.Scalar($0)) }
                    && !(name[0] >= 0x30 && name[0] <= 0x39)
                let rendered = simple ? text : FilterValue.quoted(text)
                pathTexts.append(parent < 0 ? rendered : parentText + "." + rendered)
            }
            pathIndex[key] = paths.count
            paths.append(slot)
            parent = paths.count - 1
        }
        return parent
    }

    mutating func constant(_ value: FilterValue) throws(FilterError) -> Int {
        let text = value.canonicalText
        if let existing = constantIndex[text] { return existing }
        let index = try appendConstant(value)
        constantIndex[text] = index
        return index
    }

    mutating func appendConstant(_ value: FilterValue) throws(FilterError) -> Int {
        guard constants.count < UInt16.operandIndexLimit else { throw CodeGen.limitError }
        var constant = ProgramConstant(
            kind: value.kind, bool: false, number: .zero, string: PoolBytes(start: 0, count: 0), value: value)
        switch value {
        case .bool(let b): constant.bool = b
        case .number(let n): constant.number = n
        case .string(let s):
            constant.string = PoolBytes(start: Int32(bytes.count), count: Int32(s.utf8.count))
            bytes += Array(s.utf8)
        default: break
        }
        constants.append(constant)
        return constants.count - 1
    }

    mutating func operand(_ o: BoundOperand) throws(FilterError) -> UInt16 {
        switch o {
        case .constant(let v): return .operand(.constant, try constant(v))
        case .path(let p): return .operand(.path, try path(p))
        case .size(let p): return .operand(.size, try path(p))
        }
    }

    @discardableResult
    mutating func emit(_ op: Opcode, _ a: UInt16 = 0, _ b: UInt16 = 0, _ c: UInt16 = 0) throws(FilterError) -> Int {
        guard code.count < Int(UInt16.max) else { throw CodeGen.limitError }
        code.append(Instruction(op: op, a: a, b: b, c: c))
        return code.count - 1
    }

    mutating func generate(_ condition: BoundCondition) throws(FilterError) {
        try gen(condition)
        try emit(.ret)
        threadJumps()
        groupMembers()
    }

    /// Groups the key steps by parent, so that the VM can resolve all the keys it reads from
    /// one map in one pass over it. Groups and keys keep the slots' order (first use).
    mutating func groupMembers() {
        var groupOfParent: [Int32: Int] = [:]
        var keysOfGroup: [[Int]] = []
        for (slot, step) in paths.enumerated() where step.index < 0 {
            let g: Int
            if let existing = groupOfParent[step.parent] {
                g = existing
            } else {
                g = keysOfGroup.count
                groupOfParent[step.parent] = g
                keysOfGroup.append([])
            }
            paths[slot].group = Int32(g)
            paths[slot].member = Int32(keysOfGroup[g].count)
            keysOfGroup[g].append(slot)
        }
        for slots in keysOfGroup {
            var group = MemberGroup(
                parent: paths[slots[0]].parent, keysStart: Int32(memberKeys.count), keysCount: Int32(slots.count),
                lengthMask: 0)
            for slot in slots {
                let range = keyOfSlot[slot]!
                let key = Array(bytes[range])
                group.lengthMask |= 1 << UInt64(min(key.count, 63))
                memberKeys.append(
                    MemberKey(
                        slot: Int32(slot), key: PoolBytes(start: Int32(range.lowerBound), count: Int32(range.count)),
                        hash: key.withUnsafeBytes { FilterKeyHash.hash($0) },
                        prefix: MemberKey.word(of: key, from: 0), prefix2: MemberKey.word(of: key, from: 8)))
            }
            groups.append(group)
        }
    }

    mutating func gen(_ condition: BoundCondition) throws(FilterError) {
        switch condition {
        case .constant(let b): try emit(.loadBool, b ? 1 : 0)
        case .exists(let p): try emit(.exists, UInt16(try path(p)))
        case .isType(let p, let kind): try emit(.isType, UInt16(try path(p)), UInt16(kind.rawValue))
        case .eq(let a, let b): try emit(.eq, try operand(a), try operand(b))
        case .lt(let a, let b): try emit(.lt, try operand(a), try operand(b))
        case .le(let a, let b): try emit(.le, try operand(a), try operand(b))
        case .between(let a, let l, let h): try emit(.between, try operand(a), try operand(l), try operand(h))
        case .beginsWith(let a, let b): try emit(.beginsWith, try operand(a), try operand(b))
        case .contains(let a, let b): try emit(.contains, try operand(a), try operand(b))
        case .in(let a, let list):
            let lhs = try operand(a)
            // The IN set occupies a contiguous run of K (reused if an identical run exists).
            let values = list.compactMap { if case .constant(let v) = $0 { return v } else { return nil } }
            let start = try constantRun(values)
            try emit(.inConsts, lhs, UInt16(start), UInt16(values.count))
        case .not(let e):
            try gen(e)
            try emit(.not)
        case .and(let l, let r):
            try gen(l)
            let jump = try emit(.jumpIfFalse)
            try gen(r)
            code[jump].b = UInt16(code.count)
        case .or(let l, let r):
            try gen(l)
            let jump = try emit(.jumpIfTrue)
            try gen(r)
            code[jump].b = UInt16(code.count)
        }
    }

    mutating func constantRun(_ values: [FilterValue]) throws(FilterError) -> Int {
        let texts = values.map(\.canonicalText)
        if constants.count >= values.count {
            for start in 0...(constants.count - values.count)
            where (0..<values.count).allSatisfy({ constants[start + $0].value.canonicalText == texts[$0] }) {
                return start
            }
        }
        let start = constants.count
        for value in values { _ = try appendConstant(value) }
        return start
    }

    /// A jump landing on a jump of the same sense can go straight to that one's target (the
    /// accumulator is unchanged); landing on the opposite sense, it can skip past it.
    mutating func threadJumps() {
        for i in code.indices where code[i].op == .jumpIfFalse || code[i].op == .jumpIfTrue {
            var target = Int(code[i].b)
            var hops = 0
            while target < code.count && hops < code.count {
                let landing = code[target]
                if landing.op == code[i].op {
                    target = Int(landing.b)
                } else if landing.op == .jumpIfFalse || landing.op == .jumpIfTrue {
                    target += 1
                } else {
                    break
                }
                hops += 1
            }
            code[i].b = UInt16(target)
        }
    }
}
