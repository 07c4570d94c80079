// Bytecode: the ORDER OP tables stay in step with the Opcode enum, and golden disassembly pins
// what the compiler emits (folding, canonical operand order, short-circuit jumps, path sharing).
// Kept apart from the evaluation tests, as Lua keeps code.lua apart from its semantic tests.

import XCTest

@testable import FilterVM

final class BytecodeTests: XCTestCase {
    func testParallelTablesMatchTheOpcodeEnum() {
        // ORDER OP
        XCTAssertEqual(Opcode.names.count, Opcode.allCases.count)
        XCTAssertEqual(Opcode.formats.count, Opcode.allCases.count)
        XCTAssertEqual(Set(Opcode.names).count, Opcode.names.count, "names are distinct")
        for (i, op) in Opcode.allCases.enumerated() { XCTAssertEqual(Int(op.rawValue), i) }
        XCTAssertEqual(MemoryLayout<Instruction>.size, 8)
    }

    func golden(
        _ expression: String, _ values: [String: String], names: [String: String] = [:], _ expected: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            XCTAssertEqual(try compile(expression, values, names: names).disassemble(), expected, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func golden(_ expression: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        golden(expression, [:], expected, file: file, line: line)
    }

    func golden(
        _ expression: String, names: [String: String], _ expected: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        golden(expression, [:], names: names, expected, file: file, line: line)
    }

    func testComparisons() {
        golden("a = :v", [":v": "1"], ["0 EQ       a, 1", "1 RET"])
        golden(":v = a", [":v": "\"x\""], ["0 EQ       a, \"x\"", "1 RET"])  // constant goes right
        golden("a <> 1", ["0 EQ       a, 1", "1 NOT", "2 RET"])
        golden("a > 1", ["0 LT       1, a", "1 RET"])
        golden("a >= 1", ["0 LE       1, a", "1 RET"])
        golden("a < b.c", ["0 LT       a, b.c", "1 RET"])
        golden("a BETWEEN 1 AND 2.50", ["0 BETWEEN  a, 1, 2.5", "1 RET"])
        golden("size(a.b[2]) >= 3", ["0 LE       3, size(a.b[2])", "1 RET"])
    }

    func testFunctions() {
        golden("attribute_exists(a)", ["0 EXISTS   a", "1 RET"])
        golden("attribute_not_exists(a)", ["0 EXISTS   a", "1 NOT", "2 RET"])
        golden("attribute_type(a, :t)", [":t": "\"M\""], ["0 ISTYPE   a, M", "1 RET"])
        golden("begins_with(#n, 'x')", names: ["#n": "a b"], ["0 BEGINS   \"a b\", \"x\"", "1 RET"])
        golden("contains(l, :v)", [":v": "[1,{\"b\":2,\"a\":1}]"], ["0 CONTAINS l, [1,{\"a\":1,\"b\":2}]", "1 RET"])
    }

    func testShortCircuitJumps() {
        golden("a = 1 AND b = 2 AND c = 3", [
            "0 EQ       a, 1", "1 JMPF     -> 5", "2 EQ       b, 2", "3 JMPF     -> 5", "4 EQ       c, 3", "5 RET",
        ])
        // Jump threading: the inner OR's true exit skips the AND's JMPF straight to the RHS.
        golden("(a = 1 OR b = 2) AND c = 3", [
            "0 EQ       a, 1", "1 JMPT     -> 4", "2 EQ       b, 2", "3 JMPF     -> 5", "4 EQ       c, 3", "5 RET",
        ])
        golden("a = 1 OR b = 2 AND c = 3", [
            "0 EQ       a, 1", "1 JMPT     -> 5", "2 EQ       b, 2", "3 JMPF     -> 5", "4 EQ       c, 3", "5 RET",
        ])
    }

    func testInLists() {
        golden("a IN (3, 1, 2, 1)", ["0 IN       a, (1, 2, 3)", "1 RET"])  // sorted, de-duplicated
        golden("a IN (1)", ["0 EQ       a, 1", "1 RET"])
        golden("a IN (1, b, 'x')", ["0 IN       a, (\"x\", 1)", "1 JMPT     -> 3", "2 EQ       a, b", "3 RET"])
        golden("size(a) IN ('x', 2)", ["0 EQ       size(a), 2", "1 RET"])  // size is N: 'x' can never match
    }

    func testConstantFolding() {
        golden("1 = 1", ["0 LOADBOOL true", "1 RET"])
        golden(":a < :b", [":a": "\"a\"", ":b": "\"b\""], ["0 LOADBOOL true", "1 RET"])
        golden("'1' = 1 OR 2 < 'x'", ["0 LOADBOOL false", "1 RET"])
        golden("a = 1 AND 1 = 2", ["0 LOADBOOL false", "1 RET"])
        golden("a = 1 OR 1 = 1", ["0 LOADBOOL true", "1 RET"])
        golden("a = 1 AND 1 = 1", ["0 EQ       a, 1", "1 RET"])
        golden("NOT NOT a = 1", ["0 EQ       a, 1", "1 RET"])
        golden("NOT 1 = 2", ["0 LOADBOOL true", "1 RET"])
        golden("a BETWEEN 5 AND 1", ["0 LOADBOOL false", "1 RET"])  // reversed bounds: nothing between
        golden("a BETWEEN 1 AND 'x'", ["0 LOADBOOL false", "1 RET"])  // mixed bounds: nothing between
        golden("3 BETWEEN 1 AND 5", ["0 LOADBOOL true", "1 RET"])
        golden("attribute_type(a, 'SS')", ["0 LOADBOOL false", "1 RET"])  // sets never occur in JSON
        golden("size(a) = 'x'", ["0 LOADBOOL false", "1 RET"])
        golden("2 IN (1, 2)", ["0 LOADBOOL true", "1 RET"])
        golden("'é' = 'e\\u0301'", ["0 LOADBOOL false", "1 RET"])  // bytes, not canonical equivalence
    }

    func testPathsShareTheirPrefixes() throws {
        let program = try compile("a.b.c = 1 AND a.b.d = 2 AND a.e[0] = 3 AND a.b.c <> 4")
        XCTAssertEqual(program.storage.paths.count, 6, "a, a.b, a.b.c, a.b.d, a.e, a.e[0]")
        XCTAssertEqual(program.storage.pathTexts, ["a", "a.b", "a.b.c", "a.b.d", "a.e", "a.e[0]"])
        for (i, slot) in program.storage.paths.enumerated() { XCTAssertLessThan(Int(slot.parent), i) }
    }

    func testFingerprintsIgnoreSpelling() throws {
        let base = try compile("a.b = :v AND c IN (1, 2)", [":v": "\"x\""]).fingerprint
        let same = [
            try compile("  #a.b   =  'x'  and c in (2, 1, 2)", names: ["#a": "a"]),
            try compile("(:v = a.#b) AND (c IN (:one, :two))", [":v": "\"x\"", ":one": "1", ":two": "2.0"], names: ["#b": "b"]),
        ]
        for program in same { XCTAssertEqual(program.fingerprint, base) }
        let different = [
            try compile("a.b = 'y' AND c IN (1, 2)"),
            try compile("a.b = 'x' AND c IN (1, 3)"),
            try compile("a.b = 'x' OR c IN (1, 2)"),
            try compile("#k = 'x' AND c IN (1, 2)", names: ["#k": "a.b"]),  // one key named "a.b"
            try compile("a.b = '\"x\"' AND c IN (1, 2)"),
        ]
        for program in different { XCTAssertNotEqual(program.fingerprint, base, program.fingerprint) }
        XCTAssertEqual(try compile("a > 1").fingerprint, try compile("1 < a").fingerprint)
    }
}
