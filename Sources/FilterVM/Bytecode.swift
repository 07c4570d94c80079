// Bytecode: the one opcode table of the filter VM (cf. Lua's lopcodes.h). The VM keeps a single
// boolean accumulator `acc`; conditions set it, AND/OR become short-circuit jumps over it.
// Grep "ORDER OP" if you change the Opcode enum: every parallel table is marked with it, and
// BytecodeTests checks that their counts match Opcode.allCases.count.
//
// Instruction: 8 bytes, fields in host order.
//
//      byte 0    1        2-3        4-5        6-7
//     +------+-------+----------+----------+----------+
//     |  op  | spare |    A     |    B     |    C     |
//     +------+-------+----------+----------+----------+
//
// R(x) is an operand reference, a 16-bit field:
//
//      15 14 | 13 ............ 0
//      kind  | index               kind 0: K[index]        a constant
//                                  kind 1: P[index]        a document path (cached register)
//                                  kind 2: size(P[index])  N, or missing when P has no size
//
// K is the program's constant table, P its path table (each path points to its parent, so
// `a.b` and `a.c` share the lookup of `a`). A missing path or a type mismatch makes every
// comparison false, never an error.

enum Opcode: UInt8, CaseIterable {
    case ret  //          return acc
    case loadBool  //     acc := A != 0
    case jumpIfFalse  //  if !acc { pc := B }
    case jumpIfTrue  //   if acc { pc := B }
    case not  //          acc := !acc
    case exists  //       acc := P[A] is present
    case isType  //       acc := P[A] is present and its kind is FilterKind(rawValue: B)
    case eq  //           acc := R(A) = R(B): same type and equal (numbers by value, L and M deeply)
    case lt  //           acc := R(A) < R(B): both N or both S (UTF-8 bytes)
    case le  //           acc := R(A) <= R(B): both N or both S
    case between  //      acc := R(B) <= R(A) and R(A) <= R(C), all N or all S
    case inConsts  //     acc := R(A) = K[i] for some i in B ..< B + C
    case beginsWith  //   acc := R(A) and R(B) are S and R(A) starts with R(B)
    case contains  //     acc := R(A) is S containing the S R(B), or L with an element = R(B)
}

/// How the disassembler prints an instruction's fields.
enum OperandFormat {
    case none  // no fields
    case flag  // A is 0 or 1
    case jump  // B is a target pc
    case path  // A is a path index
    case pathKind  // A is a path index, B a FilterKind
    case two  // R(A), R(B)
    case three  // R(A), R(B), R(C)
    case constantRange  // R(A), then K[B ..< B + C]
}

extension Opcode {
    // ORDER OP
    static let names: [String] = [
        "RET", "LOADBOOL", "JMPF", "JMPT", "NOT", "EXISTS", "ISTYPE", "EQ", "LT", "LE", "BETWEEN", "IN",
        "BEGINS", "CONTAINS",
    ]

    // ORDER OP
    static let formats: [OperandFormat] = [
        .none, .flag, .jump, .jump, .none, .path, .pathKind, .two, .two, .two, .three, .constantRange,
        .two, .two,
    ]

    var name: String { Opcode.names[Int(rawValue)] }
    var format: OperandFormat { Opcode.formats[Int(rawValue)] }
}

/// One VM instruction (see the layout diagram above).
struct Instruction: Equatable {
    var op: Opcode
    var spare: UInt8 = 0
    var a: UInt16 = 0
    var b: UInt16 = 0
    var c: UInt16 = 0
}

/// The kinds of an operand reference R(x).
enum OperandKind: UInt16 {
    case constant = 0
    case path = 1
    case size = 2
}

extension UInt16 {
    static let operandIndexMask: UInt16 = 0x3FFF
    static let operandIndexLimit = 0x4000

    @inline(__always) static func operand(_ kind: OperandKind, _ index: Int) -> UInt16 {
        kind.rawValue << 14 | UInt16(index)
    }
    @inline(__always) var operandKind: UInt16 { self >> 14 }
    @inline(__always) var operandIndex: Int { Int(self & .operandIndexMask) }
}
