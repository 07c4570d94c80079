// FilterProgram: the public face of the compiler. compile() runs lexer → parser → binder →
// folder → code generator once, at SUBSCRIBE; the result is immutable and shared across
// threads. fingerprint and disassemble() render the bound program canonically.

/// A compiled filter expression (SPEC §5.1), ready to evaluate per event.
public struct FilterProgram: Sendable {
    let storage: Storage

    /// Immutable after init, hence safe to share across threads (the unchecked part is the VM
    /// image's raw pointers, which nothing writes after init).
    final class Storage: @unchecked Sendable {
        let code: [Instruction]
        let constants: [ProgramConstant]
        let paths: [PathSlot]
        let bytes: [UInt8]
        let pathTexts: [String]
        let groups: [MemberGroup]
        let memberKeys: [MemberKey]
        /// The same tables as plain buffers for the VM: one evaluation then costs no array
        /// accessors or closures, just pointer loads.
        let image: ProgramImage

        init(_ gen: CodeGen) {
            code = gen.code
            constants = gen.constants
            paths = gen.paths
            bytes = gen.bytes
            pathTexts = gen.pathTexts
            groups = gen.groups
            memberKeys = gen.memberKeys
            image = ProgramImage(
                code: Storage.copy(code), constants: Storage.copy(constants), paths: Storage.copy(paths),
                bytes: UnsafeRawBufferPointer(Storage.copy(bytes)), groups: Storage.copy(groups),
                memberKeys: Storage.copy(memberKeys))
        }

        static func copy<T>(_ array: [T]) -> UnsafeBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
            _ = buffer.initialize(from: array)
            return UnsafeBufferPointer(start: buffer.baseAddress, count: array.count)
        }

        static func free<T>(_ buffer: UnsafeBufferPointer<T>) {
            UnsafeMutableBufferPointer(mutating: buffer).deinitialize()
            UnsafeMutableRawPointer(mutating: buffer.baseAddress!).deallocate()
        }

        deinit {
            Storage.free(image.code)
            Storage.free(image.constants)
            Storage.free(image.paths)
            Storage.free(image.bytes.assumingMemoryBound(to: UInt8.self))
            Storage.free(image.groups)
            Storage.free(image.memberKeys)
        }
    }

    /// DynamoDB: "The maximum length of any expression string is 4 KB."
    public static let maxExpressionBytes = 4096

    /// Compiles `expression` with its placeholders. `values` keys carry the ':' prefix and
    /// `names` keys the '#' prefix, as DynamoDB's ExpressionAttributeValues/Names; every entry
    /// must be used (DynamoDB rejects unused ones). Errors say what and where (1-based column).
    public static func compile(_ expression: String, values: [String: FilterValue], names: [String: String])
        throws(FilterError) -> FilterProgram
    {
        guard expression.utf8.count <= maxExpressionBytes else {
            throw FilterError("filter expression is longer than \(maxExpressionBytes) bytes")
        }
        var lexer = Lexer(expression)
        var parser = Parser(tokens: try lexer.tokenize())
        let syntax = try parser.parseExpression()
        var binder = Binder(values: values, names: names)
        try binder.checkMaps()
        let bound = try binder.bind(syntax)
        try binder.checkAllUsed()
        var gen = CodeGen()
        try gen.generate(Folder.fold(bound))
        return FilterProgram(storage: Storage(gen))
    }

    /// Canonical text of the bound program (its disassembly). Programs with equal fingerprints
    /// behave identically; spelling differences (whitespace, keyword case, placeholder vs
    /// literal, #name vs bare name, redundant NOT NOT, `a > b` vs `b < a`, IN order/duplicates)
    /// give equal fingerprints. Semantically equivalent but structurally different expressions
    /// (e.g. `a = 1 AND b = 2` vs `b = 2 AND a = 1`) may still differ.
    public var fingerprint: String {
        disassemble().joined(separator: "\n")
    }

    /// One line per instruction: `pc OPNAME operands`, with constants and paths rendered inline.
    public func disassemble() -> [String] {
        storage.code.enumerated().map { pc, instruction in
            let name = instruction.op.name
            let padded = name + String(repeating: " ", count: max(1, 9 - name.count))
            let operands = render(instruction)
            return "\(pc) \(operands.isEmpty ? name : padded + operands)"
        }
    }

    func render(_ i: Instruction) -> String {
        switch i.op.format {
        case .none: return ""
        case .flag: return i.a != 0 ? "true" : "false"
        case .jump: return "-> \(i.b)"
        case .path: return storage.pathTexts[Int(i.a)]
        case .pathKind: return storage.pathTexts[Int(i.a)] + ", " + FilterKind(rawValue: UInt8(i.b))!.dynamoName
        case .two: return render(operand: i.a) + ", " + render(operand: i.b)
        case .three: return render(operand: i.a) + ", " + render(operand: i.b) + ", " + render(operand: i.c)
        case .constantRange:
            let items = (Int(i.b)..<Int(i.b) + Int(i.c)).map { storage.constants[$0].value.canonicalText }
            return render(operand: i.a) + ", (" + items.joined(separator: ", ") + ")"
        }
    }

    func render(operand ref: UInt16) -> String {
        switch ref.operandKind {
        case OperandKind.constant.rawValue: return storage.constants[ref.operandIndex].value.canonicalText
        case OperandKind.path.rawValue: return storage.pathTexts[ref.operandIndex]
        default: return "size(\(storage.pathTexts[ref.operandIndex]))"
        }
    }
}
