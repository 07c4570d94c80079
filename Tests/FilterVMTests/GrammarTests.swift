// One test per grammar rule of SPEC §5.1 / the DynamoDB condition grammar: each parses and
// evaluates as DynamoDB defines it.

import XCTest

@testable import FilterVM

final class GrammarTests: XCTestCase {
    let doc = #"{"n": 5, "s": "hello", "b": true, "z": null, "l": [1, "two", [3]], "m": {"x": 1, "y": {"k": "v"}}}"#

    func testComparators() {
        XCTAssertTrue(matches("n = :v", doc, [":v": "5"]))
        XCTAssertFalse(matches("n = :v", doc, [":v": "6"]))
        XCTAssertTrue(matches("n <> :v", doc, [":v": "6"]))
        XCTAssertFalse(matches("n <> :v", doc, [":v": "5"]))
        XCTAssertTrue(matches("n < :v", doc, [":v": "6"]))
        XCTAssertFalse(matches("n < :v", doc, [":v": "5"]))
        XCTAssertTrue(matches("n <= :v", doc, [":v": "5"]))
        XCTAssertFalse(matches("n <= :v", doc, [":v": "4.99"]))
        XCTAssertTrue(matches("n > :v", doc, [":v": "4.99"]))
        XCTAssertFalse(matches("n > :v", doc, [":v": "5"]))
        XCTAssertTrue(matches("n >= :v", doc, [":v": "5"]))
        XCTAssertFalse(matches("n >= :v", doc, [":v": "5.01"]))
        // Constant on the left, and no spaces.
        XCTAssertTrue(matches(":v<n", doc, [":v": "4"]))
        XCTAssertTrue(matches("s>=:v", doc, [":v": "\"hello\""]))
    }

    func testBetween() {
        XCTAssertTrue(matches("n BETWEEN :a AND :b", doc, [":a": "5", ":b": "5"]))
        XCTAssertTrue(matches("n BETWEEN :a AND :b", doc, [":a": "1", ":b": "10"]))
        XCTAssertFalse(matches("n BETWEEN :a AND :b", doc, [":a": "6", ":b": "10"]))
        XCTAssertFalse(matches("n BETWEEN :a AND :b", doc, [":a": "10", ":b": "1"]))  // reversed bounds
        XCTAssertTrue(matches("s BETWEEN :a AND :b", doc, [":a": "\"h\"", ":b": "\"i\""]))
        XCTAssertFalse(matches("s BETWEEN :a AND :b", doc, [":a": "1", ":b": "10"]))  // S vs N
        // BETWEEN … AND binds before the boolean AND.
        XCTAssertTrue(matches("n BETWEEN 1 AND 9 AND s = 'hello'", doc))
        XCTAssertFalse(matches("n BETWEEN 1 AND 9 AND s = 'nope'", doc))
    }

    func testIn() {
        XCTAssertTrue(matches("n IN (:a, :b)", doc, [":a": "4", ":b": "5"]))
        XCTAssertFalse(matches("n IN (:a, :b)", doc, [":a": "4", ":b": "6"]))
        XCTAssertTrue(matches("s IN ('x', 'hello')", doc))
        XCTAssertTrue(matches("l IN (:l)", doc, [":l": #"[1, "two", [3]]"#]))
        XCTAssertTrue(matches("n IN (m.x, n)", doc))  // path operands in the list
        XCTAssertFalse(matches("n IN (m.x, s)", doc))
        // Exactly 100 operands is allowed (DynamoDB's limit).
        let hundred = (0..<99).map { "\($0 + 100)" }.joined(separator: ", ")
        XCTAssertTrue(matches("n IN (\(hundred), 5)", doc))
        XCTAssertFalse(matches("n IN (\(hundred), 6)", doc))
    }

    func testPrecedenceOrAndNot() {
        // a OR b AND c = a OR (b AND c)
        XCTAssertTrue(matches("n = 5 OR n = 0 AND s = 'x'", doc))
        XCTAssertFalse(matches("(n = 5 OR n = 0) AND s = 'x'", doc))
        // NOT binds tighter than AND
        XCTAssertFalse(matches("NOT n = 5 AND s = 'hello'", doc))
        XCTAssertTrue(matches("NOT n = 6 AND s = 'hello'", doc))
        XCTAssertTrue(matches("NOT (n = 5 AND s = 'x')", doc))
        XCTAssertTrue(matches("NOT NOT n = 5", doc))
        // left-assoc chains
        XCTAssertTrue(matches("n = 1 OR n = 2 OR n = 5", doc))
        XCTAssertFalse(matches("n = 5 AND s = 'hello' AND b = false", doc))
    }

    func testParentheses() {
        XCTAssertTrue(matches("(n = 5)", doc))
        XCTAssertTrue(matches("((n = 5) AND (s = 'hello'))", doc))
        XCTAssertEqual(compileError("((n = 5))")?.description, "redundant parentheses at column 1")
    }

    func testFunctions() {
        XCTAssertTrue(matches("attribute_exists(n)", doc))
        XCTAssertTrue(matches("attribute_exists(z)", doc))  // NULL exists
        XCTAssertFalse(matches("attribute_exists(q)", doc))
        XCTAssertTrue(matches("attribute_not_exists(q)", doc))
        XCTAssertFalse(matches("attribute_not_exists(m.y.k)", doc))
        XCTAssertTrue(matches("attribute_type(n, :t)", doc, [":t": "\"N\""]))
        XCTAssertTrue(matches("attribute_type(s, 'S') AND attribute_type(b, 'BOOL') AND attribute_type(z, 'NULL')", doc))
        XCTAssertTrue(matches("attribute_type(l, 'L') AND attribute_type(m, 'M')", doc))
        XCTAssertFalse(matches("attribute_type(l, 'SS') OR attribute_type(l, 'NS') OR attribute_type(s, 'B')", doc))
        XCTAssertFalse(matches("attribute_type(q, 'NULL')", doc))
        XCTAssertTrue(matches("begins_with(s, :p)", doc, [":p": "\"hel\""]))
        XCTAssertTrue(matches("begins_with(s, '')", doc))
        XCTAssertFalse(matches("begins_with(s, 'hello!')", doc))
        XCTAssertFalse(matches("begins_with(n, '5')", doc))
        XCTAssertTrue(matches("contains(s, 'ell')", doc))
        XCTAssertFalse(matches("contains(s, 'elo')", doc))
        XCTAssertTrue(matches("contains(l, 'two') AND contains(l, 1) AND contains(l, :x)", doc, [":x": "[3]"]))
        XCTAssertFalse(matches("contains(l, 3)", doc))
        XCTAssertFalse(matches("contains(m, 'x')", doc))  // maps: false (not a string, set or list)
        XCTAssertTrue(matches("contains(l, m.x)", doc))  // path operand
        XCTAssertTrue(matches("size(s) = 5 AND size(l) = 3 AND size(m) = 2 AND size(m.y) = 1", doc))
        XCTAssertFalse(matches("size(n) = 1 OR size(q) = 0 OR size(b) >= 0", doc))  // no size: false
        XCTAssertTrue(matches("size(s) > m.x", doc))
    }

    func testPaths() {
        XCTAssertTrue(matches("m.x = 1", doc))
        XCTAssertTrue(matches("m.y.k = 'v'", doc))
        XCTAssertTrue(matches("l[0] = 1 AND l[1] = 'two' AND l[2][0] = 3", doc))
        XCTAssertFalse(matches("attribute_exists(l[3])", doc))
        XCTAssertFalse(matches("attribute_exists(m[0])", doc))  // index into a map
        XCTAssertFalse(matches("attribute_exists(l.x)", doc))  // key into a list
        XCTAssertTrue(matches("#m.#y.k = :v", doc, [":v": "\"v\""], names: ["#m": "m", "#y": "y"]))
        XCTAssertTrue(
            matches("#k = :v", #"{"a b.c": 1}"#, [":v": "1"], names: ["#k": "a b.c"]), "a #name is one key, dots and all")
        XCTAssertTrue(matches("#s = 'ok'", #"{"status": "ok"}"#, names: ["#s": "status"]))
    }

    func testLiterals() {
        XCTAssertTrue(matches("n = 5.0 AND n = 5 AND n > -1.5e3 AND n < 5.000001", doc))
        XCTAssertTrue(matches("s = 'hello' AND s = \"hello\" AND s = 'h\\u0065llo'", doc))
        XCTAssertTrue(matches(#"t = 'a\'b' AND u = "say \"hi\"""#, #"{"t": "a'b", "u": "say \"hi\""}"#))
        XCTAssertTrue(matches("b = true AND b <> false AND z = null", doc))
        XCTAssertTrue(matches("b = TRUE AND z = Null", doc))
        XCTAssertTrue(matches("e = '😀'", #"{"e": "\ud83d\ude00"}"#))
    }

    func testKeywordsAreCaseInsensitive() {
        XCTAssertTrue(matches("n between 1 and 9 aNd s in ('hello') Or not b = true", doc))
        XCTAssertTrue(matches("NoT n = 6", doc))
    }

    func testFunctionNamesAreCaseSensitive() {
        XCTAssertEqual(
            compileError("ATTRIBUTE_EXISTS(n)")?.description,
            "unknown function 'ATTRIBUTE_EXISTS' (function names are case-sensitive: did you mean attribute_exists?) at column 1"
        )
        XCTAssertEqual(compileError("n = 1 AND Size(s) = 5")?.column, 11)
    }

    func testPlaceholdersAndNames() {
        XCTAssertTrue(matches("#a = :v", #"{"x": [1, {"k": null}]}"#, [":v": #"[1, {"k": null}]"#], names: ["#a": "x"]))
        XCTAssertTrue(matches("n = :v AND m.x < :v", doc, [":v": "5"]))  // one value used twice
    }

    func testEmptyDocumentAndNonObject() {
        let p = try! compile("attribute_not_exists(a) AND NOT a = 1 AND a <> 1")
        XCTAssertTrue(evaluate(p, ""))
        XCTAssertTrue(evaluate(p, "{}"))
        XCTAssertTrue(evaluate(p, "  { }  "))
        XCTAssertTrue(evaluate(p, "[1]"))  // not an object: no paths
        XCTAssertFalse(evaluate(try! compile("a = 1"), ""))
    }
}
