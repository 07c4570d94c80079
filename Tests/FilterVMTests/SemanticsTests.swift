// Type semantics of SPEC §5.1: mismatched types and missing paths compare false, `<>` is NOT =,
// numbers are exact, strings compare by UTF-8 bytes, size counts code points, L and M compare
// deeply; and the JSON document reader's handling of escapes, whitespace and odd input.

import XCTest

@testable import FilterVM

final class SemanticsTests: XCTestCase {
    func testDifferentTypesAreNeverEqualOrOrdered() {
        let doc = #"{"n": 5, "s": "5", "b": true, "z": null, "l": [5], "m": {"a": 5}}"#
        for path in ["s", "b", "z", "l", "m"] {
            XCTAssertFalse(matches("\(path) = 5", doc), path)
            XCTAssertTrue(matches("\(path) <> 5", doc), path)
            XCTAssertFalse(matches("\(path) < 6 OR \(path) <= 6 OR \(path) > 4 OR \(path) >= 4", doc), path)
            XCTAssertFalse(matches("\(path) BETWEEN 1 AND 9", doc), path)
            XCTAssertFalse(matches("\(path) IN (5, 6)", doc), path)
        }
        XCTAssertFalse(matches("n = '5'", doc))
        XCTAssertFalse(matches("b = 1", #"{"b": true}"#))  // BOOL is not N
        XCTAssertFalse(matches("n < s OR n > s OR n = s", doc))
    }

    func testMissingPaths() {
        let doc = #"{"a": 1}"#
        XCTAssertFalse(matches("q = 1 OR q < 1 OR q > 1 OR q BETWEEN 0 AND 2 OR q IN (1) OR q = null", doc))
        XCTAssertFalse(matches("q = r", doc))  // both missing: still false
        XCTAssertTrue(matches("q <> 1 AND q <> r AND q <> null", doc))  // <> is exactly NOT =
        XCTAssertFalse(matches("begins_with(q, 'a') OR contains(q, 'a') OR contains(a, q)", doc))
        XCTAssertFalse(matches("size(q) = 0 OR size(q) < 1", doc))
        XCTAssertTrue(matches("size(q) <> 0", doc))
    }

    func testNumbersAreExactDecimals() {
        let doc = #"{"big": 12345678901234567890123, "d": 0.1, "e": 1E+3, "t": 12.50, "neg": -0.0}"#
        XCTAssertTrue(matches("big > 12345678901234567890122 AND big < 12345678901234567890124", doc))
        XCTAssertTrue(matches("d = 0.10 AND d > 0.09999999999999999999 AND d < 0.10000000000000000001", doc))
        XCTAssertTrue(matches("e = 1000 AND t = 12.5 AND neg = 0", doc))
        // Not DynamoDB numbers: compare false with everything (but they exist).
        let odd = #"{"huge": 1e400, "precise": 1.0000000000000000000000000000000000000001}"#
        XCTAssertFalse(matches("huge > 0 OR huge = huge OR precise = 1 OR precise > 0", odd))
        XCTAssertTrue(matches("attribute_type(huge, 'N') AND attribute_exists(precise)", odd))
    }

    func testStringsCompareByUTF8Bytes() {
        // U+FF61 is EF BD A1 in UTF-8 and U+1F600 is F0 9F 98 80, so by bytes U+FF61 sorts first;
        // by UTF-16 code units (FF61 vs D83D) it would sort last. This pins the byte order.
        let doc = #"{"half": "\uff61", "emoji": "😀", "up": "Z", "lo": "a", "e1": "é", "e2": "e\u0301"}"#
        XCTAssertTrue(matches("half < emoji", doc))
        XCTAssertTrue(matches("up < lo", doc))
        XCTAssertFalse(matches("e1 = e2", doc), "canonically equivalent but different bytes")
        XCTAssertTrue(matches("e1 = 'é' AND e2 = 'e\\u0301'", doc))
    }

    func testSizeCountsCodePoints() {
        let doc = #"{"s": "h\u00e9😀", "e": "", "l": [], "m": {"a": 1, "b": [1, 2]}}"#
        XCTAssertTrue(matches("size(s) = 3 AND size(e) = 0 AND size(l) = 0 AND size(m) = 2 AND size(m.b) = 2", doc))
        XCTAssertFalse(matches("size(s) = 6", doc), "6 UTF-8 bytes, 3 code points")
    }

    func testDeepEquality() {
        let doc = #"{"l": [1, "a", {"x": [true, null]}], "m": {"b": 2.0, "a": [1]}, "m2": {"a": [1.0], "b": 2}}"#
        XCTAssertTrue(matches("l = :v", doc, [":v": #"[1.0, "a", {"x": [true, null]}]"#]))
        XCTAssertFalse(matches("l = :v", doc, [":v": #"[1, "a", {"x": [true]}]"#]))
        XCTAssertFalse(matches("l = :v", doc, [":v": #"[1, "a"]"#]))
        XCTAssertTrue(matches("m = :v", doc, [":v": #"{"a": [1], "b": 2}"#]), "key order does not matter")
        XCTAssertFalse(matches("m = :v", doc, [":v": #"{"a": [1], "b": 2, "c": 3}"#]))
        XCTAssertTrue(matches("m = m2 AND m2 = m", doc))
        XCTAssertFalse(matches("m = l", doc))
        XCTAssertTrue(matches("contains(l, :v)", doc, [":v": #"{"x": [true, null]}"#]))
    }

    func testDocumentEscapesAndWhitespace() {
        let doc = "{ \"k\\u0065y\" :\n \"v\\\"al\\\\ue\" , \"t\\tab\": 1,\"😀\":2 }"
        XCTAssertTrue(matches("#k = :v", doc, [":v": #""v\"al\\ue""#], names: ["#k": "key"]))
        XCTAssertTrue(matches("#t = 1 AND #e = 2", doc, names: ["#t": "t\tab", "#e": "😀"]))
        XCTAssertTrue(matches("begins_with(#k, 'v\"a') AND contains(#k, '\\\\u')", doc, names: ["#k": "key"]))
    }

    func testDuplicateKeysFirstWins() {
        XCTAssertTrue(matches("a = 1", #"{"a": 1, "a": 2}"#))
    }

    func testKeyPrefixesDoNotMatch() {
        let doc = #"{"ab": 1, "a": 2, "a\"": 3}"#
        XCTAssertTrue(matches("a = 2", doc))
        XCTAssertTrue(matches("#q = 3", doc, names: ["#q": "a\""]))
        XCTAssertFalse(matches("attribute_exists(#q)", #"{"a": 1}"#, names: ["#q": "a\""]))
    }

    func testMalformedDocumentsNeverCrash() {
        let program = try! compile("a.b[1] = 'x' OR contains(l, 1) OR size(s) > 1 OR m = :m", [":m": #"{"k": [1]}"#])
        let inputs = [
            "{", "{\"a\"", "{\"a\":", "{\"a\": {\"b\": [1, ", "{\"l\": [1", "{\"s\": \"abc", "{\"s\": \"\\", "{\"s\": \"\\u12",
            "{\"m\": {\"k\": [1", "}}}}", "{\"a\" 1}", "\"str\"", "{\"l\": [,,,]}", "{\"s\": \"\\ud800\"}",
            String(repeating: "[", count: 10000), "{\"m\": " + String(repeating: "{\"k\": ", count: 5000),
        ]
        for input in inputs {
            _ = evaluate(program, input)
        }
    }
}

/// A document that counts member lookups, to check each path is resolved at most once.
final class LookupCounter {
    var lookups: [String: Int] = [:]  // owned by the test thread
}

struct CountingDocument: FilterDocument {
    let inner: JSONFilterDocument
    let counter: LookupCounter

    var root: FilterPosition? { inner.root }
    func kind(at p: FilterPosition) -> FilterKind { inner.kind(at: p) }
    func bool(at p: FilterPosition) -> Bool { inner.bool(at: p) }
    func number(at p: FilterPosition) -> FilterNumber? { inner.number(at: p) }
    func stringBytes(at p: FilterPosition) -> JSONStringBytes { inner.stringBytes(at: p) }
    func member(of map: FilterPosition, key: UnsafeRawBufferPointer, hash: UInt64) -> FilterPosition? {
        XCTAssertEqual(hash, FilterKeyHash.hash(key), "the compiler pre-hashes keys")
        counter.lookups[String(decoding: key, as: UTF8.self), default: 0] += 1
        return inner.member(of: map, key: key, hash: hash)
    }
    func firstChild(of c: FilterPosition) -> FilterPosition? { inner.firstChild(of: c) }
    func nextChild(after c: FilterPosition) -> FilterPosition? { inner.nextChild(after: c) }
    func keyBytes(of m: FilterPosition) -> JSONStringBytes { inner.keyBytes(of: m) }
}

final class PathLookupTests: XCTestCase {
    func testEachPathPrefixIsLookedUpOnce() throws {
        let program = try compile(
            "a.b = 1 AND a.c < 5 AND a.b <> 2 AND size(a.b) <> 3 AND attribute_exists(a.c) AND (a.b IN (1, 7) OR x = 1)")
        let counter = LookupCounter()
        let json = Array(#"{"x": 0, "a": {"c": 4, "b": 1}}"#.utf8)
        let result = json.withUnsafeBytes { program.evaluate(CountingDocument(inner: JSONFilterDocument($0), counter: counter)) }
        XCTAssertTrue(result)
        XCTAssertEqual(counter.lookups, ["a": 1, "b": 1, "c": 1], "x is never read: OR short-circuits")
    }

    func testUnreadFieldsAreNotLookedUp() throws {
        let program = try compile("a = 1 AND b = 2")
        let counter = LookupCounter()
        let json = Array(#"{"a": 0, "b": 2}"#.utf8)
        let result = json.withUnsafeBytes { program.evaluate(CountingDocument(inner: JSONFilterDocument($0), counter: counter)) }
        XCTAssertFalse(result)
        XCTAssertEqual(counter.lookups, ["a": 1], "AND short-circuits before b")
    }
}
