// One test per compile error: the message says what went wrong and where (1-based column).
// These strings reach clients verbatim in wamp.error.invalid_argument, so they are pinned.

import XCTest

@testable import FilterVM

final class CompileErrorTests: XCTestCase {
    func check(
        _ expression: String, _ expected: String, values: [String: String] = [:], names: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(
            compileError(expression, values, names: names, file: file, line: line)?.description, expected,
            file: file, line: line)
    }

    func testSyntax() {
        check("(a = 1 AND b = 2", "expected ')' to close '(' at column 1, found the end of the expression at column 17")
        check("a = ", "expected an operand (a path, :value, literal or size(path)), found the end of the expression at column 5")
        check("a", "expected a comparator (= <> < <= > >=), BETWEEN or IN, found the end of the expression at column 2")
        check("a = 1 b = 2", "unexpected 'b' after a complete condition at column 7")
        check("a = 1 AND", "expected an operand (a path, :value, literal or size(path)), found the end of the expression at column 10")
        check("a BETWEEN 1 OR 2", "expected AND in BETWEEN … AND …, found 'OR' at column 13")
        check("a IN 1", "expected '(' after IN, found '1' at column 6")
        check("a IN (1 2)", "expected ',' or ')' in the IN list, found '2' at column 9")
        check("a = $", "unexpected character '$' at column 5")
        check("a = 'abc", "unterminated string literal starting at column 5")
        check("a = 'a\\qb'", "invalid escape '\\q' in string literal at column 7")
        check("a = 1.", "malformed number '1.' at column 5")
        check("a = 12abc", "malformed number '12a' at column 5")
        check("a = #", "expected a name after '#' (e.g. #n0) at column 5")
        check("a = :", "expected a name after ':' (e.g. :v0) at column 5")
        check("a[x] = 1", "expected a list index (a non-negative integer), found 'x' at column 3")
        check("a[-1] = 1", "expected a list index (a non-negative integer), found '-1' at column 3")
        check("", "empty filter expression at column 1")
        check("   ", "empty filter expression at column 1")
        check("a = 1e400", "number 1e400 is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125) at column 5")
    }

    func testColumnsCountScalarsNotBytes() {
        // 'é' and '😀' are one column each although they take 2 and 4 UTF-8 bytes.
        check("s = 'é😀' AND )", "expected an operand (a path, :value, literal or size(path)), found ')' at column 14")
    }

    func testPlaceholders() {
        check("a = :v1", "unbound placeholder :v1 (not in filter_values) at column 5", values: [":v0": "1"])
        check("#x = 1", "unbound name placeholder #x (not in filter_names) at column 1")
        check(
            "a = :v0", "filter_values entries not used in the expression: :v1, :v2 (DynamoDB rejects unused ExpressionAttributeValues)",
            values: [":v0": "1", ":v1": "2", ":v2": "3"])
        check(
            "a = 1", "filter_names entries not used in the expression: #n (DynamoDB rejects unused ExpressionAttributeNames)",
            names: ["#n": "x"])
        check("a = 1", "filter_values key 'v0' must start with ':' (e.g. \":v0\")", values: ["v0": "1"])
        check("a = 1", "filter_names key 'n' must start with '#' (e.g. \"#n0\")", names: ["n": "x"])
        check("#n = 1", "filter_names entry '#n' is an empty attribute name", names: ["#n": ""])
    }

    func testInLimit() {
        let list = (0..<101).map(String.init).joined(separator: ", ")
        check("a IN (\(list))", "IN list has more than 100 operands at column 397")
    }

    func testFunctions() {
        check("nosuch(a)", "unknown function 'nosuch' at column 1")
        check("a = 1 OR Contains(a, 'x')", "unknown function 'Contains' (function names are case-sensitive: did you mean contains?) at column 10")
        check("attribute_exists(a, b)", "attribute_exists takes 1 argument, got 2 at column 1")
        check("begins_with(a)", "begins_with takes 2 arguments, got 1 at column 1")
        check("contains()", "contains takes 2 arguments, got 0 at column 1")
        check("size(a, b) = 1", "size takes 1 argument, got 2 at column 1")
        check("size(a)", "size() is not a condition: compare it, e.g. size(a) > :v; found the end of the expression at column 8")
        check("size(:v) = 1", "size() needs a document path argument at column 6", values: [":v": "\"x\""])
        check("attribute_exists(a) = 1", "unexpected '=' after a complete condition at column 21")
        check("a = attribute_exists(b)", "attribute_exists() is a condition, not an operand; only size() can be compared at column 5")
        check("attribute_exists(:v)", "argument 1 of attribute_exists must be a document path at column 18", values: [":v": "1"])
        check("begins_with('abc', a)", "argument 1 of begins_with must be a document path at column 13")
        check("attribute_type(a, b)", "argument 2 of attribute_type must be a string value naming a type (S, SS, N, NS, B, BS, BOOL, NULL, L, M) at column 19")
        check("attribute_type(a, :t)", "invalid type 'STRING' for attribute_type (expected S, SS, N, NS, B, BS, BOOL, NULL, L or M) at column 19", values: [":t": "\"STRING\""])
        check("begins_with(a, :p)", "incorrect operand type for begins_with: N (expected S) at column 16", values: [":p": "1"])
        check("contains(a.b, a.b)", "contains: the path and the operand must be distinct at column 15")
    }

    func testOperandTypes() {
        check("a < :v", "incorrect operand type for <: BOOL (only N and S values can be ordered) at column 5", values: [":v": "true"])
        check("a >= null", "incorrect operand type for >=: NULL (only N and S values can be ordered) at column 6")
        check("a BETWEEN :l AND 5", "incorrect operand type for BETWEEN: L (only N and S values can be ordered) at column 11", values: [":l": "[1]"])
        check("a > :m", "incorrect operand type for >: M (only N and S values can be ordered) at column 5", values: [":m": "{}"])
    }

    func testReservedWords() {
        check("status = 1", "attribute name 'status' is a DynamoDB reserved word; use a #name placeholder from filter_names at column 1")
        check("a.Name = 1", "attribute name 'Name' is a DynamoDB reserved word; use a #name placeholder from filter_names at column 3")
        check("a = 1 AND size = 2", "attribute name 'size' is a DynamoDB reserved word; use a #name placeholder from filter_names at column 11")
        check("and = 1", "expected an operand (a path, :value, literal or size(path)), found 'and' at column 1")
        XCTAssertTrue(matches("#s = 1", #"{"status": 1}"#, names: ["#s": "status"]))
    }

    func testLimits() {
        let deep = String(repeating: "NOT ", count: 70) + "a = 1"
        check(deep, "expression nested deeper than 64 levels at column 257")
        let long = "a IN (" + Array(repeating: "1", count: 2100).joined(separator: ",") + ")"
        check(long, "filter expression is longer than 4096 bytes")
        check("a" + String(repeating: ".b", count: 32) + " = 1", "document path nests deeper than 32 levels at column 1")
    }

    func testFilterValueJSONErrors() {
        func jsonError(_ text: String) -> String? {
            do {
                _ = try FilterValue(json: Array(text.utf8))
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(jsonError("[1, 2"), "expected ',' or ']', found the end at column 6")
        XCTAssertEqual(jsonError("{\"a\" 1}"), "expected ':' at column 6")
        XCTAssertEqual(jsonError("tru"), "expected a JSON value at column 1")
        XCTAssertEqual(jsonError("1 2"), "unexpected data after the JSON value at column 3")
        XCTAssertEqual(jsonError("\"\\ud800\""), "unpaired surrogate in \\u escape at column 8")
        XCTAssertEqual(
            jsonError("1234567890123456789012345678901234567891"),
            "number is not a DynamoDB number (more than 38 significant digits or outside 1E-130…9.9E+125) at column 1")
        XCTAssertEqual(jsonError(String(repeating: "[", count: 40)), "value nested deeper than 32 levels at column 33")
        XCTAssertEqual(try FilterValue(json: Array(#" {"a": [1, "x", null, true, {}]} "#.utf8)),
            .map(["a": .list([.number(FilterNumber(1)), .string("x"), .null, .bool(true), .map([:])])]))
    }
}
