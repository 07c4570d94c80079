// VM: runs a FilterProgram's bytecode against one document. One loop, one accumulator, a
// register per interned path (looked up lazily, at most once per evaluation, parents first),
// all on the stack: evaluation allocates nothing. Operand semantics (equality, ordering,
// strings) live in VM+Semantics.swift; the opcode table in Bytecode.swift.

/// Register states kept in FilterPosition.offset (documents only hand out offsets >= 0).
let registerUnresolved: Int32 = FilterPosition.unresolved.offset
let registerMissing: Int32 = FilterPosition.missing.offset

/// A runtime operand: where its value comes from.
enum Value {
    case missing
    case document(FilterPosition)
    case constant(Int)
    case number(FilterNumber)  // the result of size()
}

/// A compiled program's tables as plain buffers (owned by FilterProgram.Storage).
struct ProgramImage {
    let code: UnsafeBufferPointer<Instruction>
    let constants: UnsafeBufferPointer<ProgramConstant>
    let paths: UnsafeBufferPointer<PathSlot>
    let bytes: UnsafeRawBufferPointer
    let groups: UnsafeBufferPointer<MemberGroup>
    let memberKeys: UnsafeBufferPointer<MemberKey>
}

struct Machine<D: FilterDocument> {
    let document: D
    /// The top-level map; offset registerMissing when there is none. (Not an Optional: its
    /// tag byte would misalign the fields after it.)
    let root: FilterPosition
    /// The program's tables (code, constants, paths, byte pool, member groups and keys).
    let image: ProgramImage
    /// One register per path slot, then one scan state per member group.
    let registers: UnsafeMutablePointer<FilterPosition>

    @inline(__always)
    init(document: D, image: ProgramImage, registers: UnsafeMutablePointer<FilterPosition>) {
        self.document = document
        self.root = (image.paths.isEmpty ? nil : document.root) ?? FilterPosition.missing
        self.image = image
        self.registers = registers
    }

    /// The main loop. The compiler guarantees every jump target is in range and code ends in RET.
    func run() -> Bool {
        var pc = 0
        var acc = false
        while true {
            let i = image.code[pc]
            pc += 1
            switch i.op {
            case .ret: return acc
            case .loadBool: acc = i.a != 0
            case .jumpIfFalse: if !acc { pc = Int(i.b) }
            case .jumpIfTrue: if acc { pc = Int(i.b) }
            case .not: acc = !acc
            case .exists: acc = position(Int(i.a)) != nil
            case .isType:
                if let p = position(Int(i.a)) { acc = document.kind(at: p).rawValue == UInt8(i.b) } else { acc = false }
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

    /// The document position of path slot `slot` (nil: missing), from its register when known.
    @inline(__always) func position(_ slot: Int) -> FilterPosition? {
        let cached = registers[slot]
        if cached.offset >= 0 { return cached }
        if cached.offset == registerMissing { return nil }
        return resolve(slot)
    }

    /// Resolves an unresolved path slot, parents first. Key steps go through the document's
    /// one-pass lookup of their member group, which may fill in sibling registers on the way.
    func resolve(_ slot: Int) -> FilterPosition? {
        let step = image.paths[slot]
        let parent = step.parent < 0 ? (root.offset >= 0 ? root : nil) : position(Int(step.parent))
        if let parent {
            let kind = document.kind(at: parent)
            if step.index >= 0 {
                if kind == .list, let found = document.element(Int(step.index), of: parent) {
                    registers[slot] = found
                    return found
                }
            } else if kind == .map {
                let g = Int(step.group)
                let lookup = FilterMemberLookup(
                    group: image.groups[g], keys: image.memberKeys.baseAddress!, pool: image.bytes.baseAddress!, registers: registers,
                    state: registers + image.paths.count + g)
                document.resolve(Int(step.member), of: parent, in: lookup)
                let found = registers[slot]
                if found.offset >= 0 { return found }
                // Recorded missing (or, against the contract, left unresolved): missing.
            }
        }
        registers[slot] = FilterPosition.missing
        return nil
    }

    @inline(__always)
    func fetch(_ ref: UInt16) -> Value {
        switch ref.operandKind {
        case OperandKind.constant.rawValue: return .constant(ref.operandIndex)
        case OperandKind.path.rawValue:
            guard let p = position(ref.operandIndex) else { return .missing }
            return .document(p)
        default:
            guard let p = position(ref.operandIndex), let n = size(p) else { return .missing }
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
        let image = storage.image
        if image.paths.isEmpty {
            // A program that reads no path (folded to a constant) needs no registers.
            var none = FilterPosition.missing
            return withUnsafeMutablePointer(to: &none) { Machine(document: document, image: image, registers: $0).run() }
        }
        // Registers live on the stack (a few bytes per path): no heap allocation.
        return withUnsafeTemporaryAllocation(
            of: FilterPosition.self, capacity: max(image.paths.count + image.groups.count, 1)
        ) { registers in
            registers.initialize(repeating: FilterPosition.unresolved)
            return Machine(document: document, image: image, registers: registers.baseAddress!).run()
        }
    }
}
