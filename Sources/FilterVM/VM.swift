// VM: runs a FilterProgram's bytecode against one document. One loop, one accumulator, a
// register per interned path (looked up lazily, at most once per evaluation, parents first),
// all on the stack: evaluation allocates nothing. Operand semantics (equality, ordering,
// strings) live in VM+Semantics.swift; the opcode table in Bytecode.swift.

/// Register states kept in FilterPosition.offset (documents only hand out offsets >= 0).
let registerUnresolved: Int32 = -2
let registerMissing: Int32 = -1

/// A runtime operand: where its value comes from.
enum Value {
    case missing
    case document(FilterPosition)
    case constant(Int)
    case number(FilterNumber)  // the result of size()
}

struct Machine<D: FilterDocument> {
    let document: D
    let root: FilterPosition?
    let code: UnsafeBufferPointer<Instruction>
    let constants: UnsafeBufferPointer<ProgramConstant>
    let paths: UnsafeBufferPointer<PathSlot>
    let bytes: UnsafeRawBufferPointer
    let registers: UnsafeMutableBufferPointer<FilterPosition>

    /// The main loop. The compiler guarantees every jump target is in range and code ends in RET.
    func run() -> Bool {
        var pc = 0
        var acc = false
        while true {
            let i = code[pc]
            pc += 1
            switch i.op {
            case .ret: return acc
            case .loadBool: acc = i.a != 0
            case .jumpIfFalse: if !acc { pc = Int(i.b) }
            case .jumpIfTrue: if acc { pc = Int(i.b) }
            case .not: acc = !acc
            case .exists: acc = resolve(Int(i.a)) != nil
            case .isType:
                if let p = resolve(Int(i.a)) { acc = document.kind(at: p).rawValue == UInt8(i.b) } else { acc = false }
            case .eq: acc = equal(fetch(i.a), fetch(i.b))
            case .lt: acc = (order(fetch(i.a), fetch(i.b)) ?? 1) < 0
            case .le: acc = (order(fetch(i.a), fetch(i.b)) ?? 1) <= 0
            case .between:
                let a = fetch(i.a)
                acc = (order(fetch(i.b), a) ?? 1) <= 0 && (order(a, fetch(i.c)) ?? 1) <= 0
            case .inConsts: acc = isIn(fetch(i.a), Int(i.b), Int(i.c))
            case .beginsWith: acc = beginsWith(fetch(i.a), fetch(i.b))
            case .contains: acc = contains(fetch(i.a), fetch(i.b))
            }
        }
    }

    /// The document position of path slot `slot`, resolving (and caching) parents first.
    func resolve(_ slot: Int) -> FilterPosition? {
        let cached = registers[slot]
        if cached.offset >= 0 { return cached }
        if cached.offset == registerMissing { return nil }
        let step = paths[slot]
        let parent = step.parent < 0 ? root : resolve(Int(step.parent))
        var found: FilterPosition? = nil
        if let parent {
            let kind = document.kind(at: parent)
            if step.index >= 0 {
                if kind == .list { found = document.element(Int(step.index), of: parent) }
            } else if kind == .map {
                let key = UnsafeRawBufferPointer(rebasing: bytes[Int(step.keyStart)..<Int(step.keyStart + step.keyCount)])
                found = document.member(of: parent, key: key, hash: step.hash)
            }
        }
        registers[slot] = found ?? FilterPosition(offset: registerMissing, aux: 0)
        return found
    }

    @inline(__always)
    func fetch(_ ref: UInt16) -> Value {
        switch ref.operandKind {
        case OperandKind.constant.rawValue: return .constant(ref.operandIndex)
        case OperandKind.path.rawValue:
            guard let p = resolve(ref.operandIndex) else { return .missing }
            return .document(p)
        default:
            guard let p = resolve(ref.operandIndex), let n = size(p) else { return .missing }
            return .number(FilterNumber(n))
        }
    }
}

extension FilterProgram {
    /// Evaluates the program against one document. Allocation-free; never fails (type mismatches
    /// and missing paths make comparisons false, per SPEC §5.1).
    public func evaluate<D: FilterDocument>(_ document: D) -> Bool {
        execute(document)
    }

    /// The JSON case, specialised inside this module so callers in other modules get the fast
    /// path without relying on cross-module specialisation.
    public func evaluate(_ document: JSONFilterDocument) -> Bool {
        execute(document)
    }

    @inline(__always)
    func execute<D: FilterDocument>(_ document: D) -> Bool {
        let storage = self.storage
        return storage.code.withUnsafeBufferPointer { code in
            storage.constants.withUnsafeBufferPointer { constants in
                storage.paths.withUnsafeBufferPointer { paths in
                    storage.bytes.withUnsafeBytes { bytes in
                        // Registers live on the stack (a few bytes per path): no heap allocation.
                        withUnsafeTemporaryAllocation(of: FilterPosition.self, capacity: max(paths.count, 1)) {
                            registers in
                            registers.initialize(repeating: FilterPosition(offset: registerUnresolved, aux: 0))
                            let machine = Machine(
                                document: document, root: paths.isEmpty ? nil : document.root, code: code,
                                constants: constants, paths: paths, bytes: bytes, registers: registers)
                            return machine.run()
                        }
                    }
                }
            }
        }
    }
}
