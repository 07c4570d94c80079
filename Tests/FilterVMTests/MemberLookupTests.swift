// One-pass member lookup and the other JSON fast paths (contiguous strings, the SWAR scalar
// skipper, the plain-number parser): explicit edge cases, then a seeded differential against
// the protocol's default implementations (per-key `member(of:key:hash:)` lookups and iterated
// strings), which is what any other FilterDocument gets. FILTER_LOOKUP_SEED /
// FILTER_LOOKUP_CASES override the random run.

import TestSupport
import XCTest

@testable import FilterVM

/// JSONFilterDocument seen only through the protocol's required members, so the VM uses the
/// default `resolve` (one `member` lookup per key) and the default `contiguousString` (nil).
struct DefaultPathDocument: FilterDocument {
    let inner: JSONFilterDocument

    var root: FilterPosition? { inner.root }
    func kind(at p: FilterPosition) -> FilterKind { inner.kind(at: p) }
    func bool(at p: FilterPosition) -> Bool { inner.bool(at: p) }
    func number(at p: FilterPosition) -> FilterNumber? { inner.number(at: p) }
    func stringBytes(at p: FilterPosition) -> JSONStringBytes { inner.stringBytes(at: p) }
    func member(of map: FilterPosition, key: UnsafeRawBufferPointer, hash: UInt64) -> FilterPosition? {
        inner.member(of: map, key: key, hash: hash)
    }
    func firstChild(of c: FilterPosition) -> FilterPosition? { inner.firstChild(of: c) }
    func nextChild(after c: FilterPosition) -> FilterPosition? { inner.nextChild(after: c) }
    func keyBytes(of m: FilterPosition) -> JSONStringBytes { inner.keyBytes(of: m) }
}

/// Evaluates through both paths and fails the test when they disagree; returns the fast result.
func bothPaths(
    _ program: FilterProgram, _ document: String, file: StaticString = #filePath, line: UInt = #line
) -> Bool {
    let bytes = Array(document.utf8)
    return bytes.withUnsafeBytes { buffer in
        let fast = program.evaluate(JSONFilterDocument(buffer))
        let reference = program.evaluate(DefaultPathDocument(inner: JSONFilterDocument(buffer)))
        XCTAssertEqual(fast, reference, "one-pass vs per-key lookup on \(document)", file: file, line: line)
        return fast
    }
}

final class MemberLookupTests: XCTestCase {
    func check(
        _ expression: String, _ document: String, _ expected: Bool, names: [String: String] = [:],
        values: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let program = try compile(expression, values, names: names)
            XCTAssertEqual(bothPaths(program, document, file: file, line: line), expected, expression, file: file, line: line)
        } catch {
            XCTFail("\(expression): \(error)", file: file, line: line)
        }
    }

    func testDuplicateKeysFirstOccurrenceWinsAcrossResumedScans() {
        // b is found on the way to a (recorded, first occurrence), a's scan resumes for c.
        let doc = #"{"b": 1, "a": 1, "b": 2, "c": 3, "a": 2, "c": 4}"#
        check("a = 1 AND b = 1 AND c = 3", doc, true)
        check("c = 3 AND b = 1 AND a = 1", doc, true)
        check("b = 2 OR a = 2 OR c = 4", doc, false)
        check("a = 1 AND #x = 1", #"{"a": 1, "x": 1, "x": 2}"#, true, names: ["#x": "x"])
    }

    func testKeysWithEscapesMatchTheirDecodedText() {
        let doc = #"{"k\u0065y": 1, "q\"": 2, "b\\s": 3, "t\tab": 4, "\u00e9": 5, "\ud83d\ude00": 6, "plain": 7}"#
        check("#k = 1 AND #q = 2 AND #b = 3 AND #t = 4", doc, true, names: ["#k": "key", "#q": "q\"", "#b": "b\\s", "#t": "t\tab"])
        check("#e = 5 AND #s = 6 AND plain = 7", doc, true, names: ["#e": "é", "#s": "😀"])
        check("attribute_exists(#raw)", doc, false, names: ["#raw": "k\\u0065y"])
    }

    func testKeysThatArePrefixesOfEachOther() {
        let doc = #"{"abcdefghijklmnopq": 17, "abcdefghijklmnop": 16, "abcdefghijklmno": 15, "abcdefgh": 8, "abcdefg": 7, "a": 1, "": 0, "ab": 2}"#
        let names = [
            "#k17": "abcdefghijklmnopq", "#k16": "abcdefghijklmnop", "#k15": "abcdefghijklmno", "#k8": "abcdefgh",
            "#k7": "abcdefg",
        ]
        // The empty key "" is passed over (a name cannot be empty, so no path reads it).
        check("#k17 = 17 AND #k16 = 16 AND #k15 = 15 AND #k8 = 8 AND #k7 = 7 AND a = 1 AND ab = 2", doc, true, names: names)
        check("ab = 2 AND a = 1", doc, true)
        check("attribute_exists(abc) OR attribute_exists(#k9)", doc, false, names: ["#k9": "abcdefghi"])
    }

    func testMissingKeysAndNonMapParents() {
        let doc = #"{"a": {"b": 1}, "s": "x", "l": [1, {"b": 2}]}"#
        check("attribute_not_exists(z) AND attribute_not_exists(a.z) AND a.b = 1", doc, true)
        check("attribute_exists(s.b) OR attribute_exists(l.b) OR attribute_exists(a.b.c)", doc, false)
        check("l[1].b = 2 AND attribute_not_exists(l[2].b)", doc, true)
        check("attribute_exists(a)", "", false)
        check("attribute_exists(a)", "{}", false)
        check("attribute_exists(a)", "[1]", false)
    }

    func testDeepNestingAndSiblingGroups() {
        let depth = 30  // paths nest at most 32 levels
        var doc = ""
        for i in 0..<depth { doc += "{\"x\": 0, \"k\(i)\": " }
        doc += "\"leaf\""
        doc += String(repeating: ", \"y\": 1}", count: depth)
        let path = (0..<depth).map { "k\($0)" }.joined(separator: ".")
        check("\(path) = 'leaf'", doc, true)
        check("k0.k1.y = 1 AND k0.x = 0 AND k0.k1.k2.x = 0 AND k0.y = 1", doc, true)
        check("k0.k1.z = 1", doc, false)
    }

    func testResumeAfterAMatchedContainer() {
        // m is matched (and descended into) before t is needed: t's scan must step over m's value.
        let doc = #"{"m": {"t": 0, "u": [1, {"t": 9}]}, "t": 1, "u": {"v": 2}}"#
        check("m.t = 0 AND t = 1 AND u.v = 2 AND m.u[1].t = 9", doc, true)
        check("t = 1 AND m.t = 0", doc, true)
    }

    func testWhitespaceLayoutsAndShortBuffers() {
        let layouts = [
            #"{"a":1,"bb":"x","ccc":[1],"d":true}"#,
            "{ \"a\" : 1 ,\n \"bb\" :\t\"x\" ,\r\n\"ccc\":[ 1 ],  \"d\"  :  true }",
            "{\n\t\"a\":\n\t\t1,\n\t\"bb\": \"x\",\n\t\"ccc\": [1],\n\t\"d\": true\n}",
        ]
        for doc in layouts {
            check("a = 1 AND bb = 'x' AND ccc[0] = 1 AND d = true", doc, true)
            check("d = true AND a = 1", doc, true)
        }
        check("a = 1", #"{"a":1}"#, true)  // shorter than any 8-byte probe
        check("a = 12", #"{"a":12}"#, true)
        check("#l = 'v'", #"{"abcdefghijklmnopqrstu":"v"}"#, true, names: ["#l": "abcdefghijklmnopqrstu"])
    }

    func testContiguousAndEscapedStringsCompareAlike() {
        let doc = #"{"p": "order", "e": "ord\u0065r", "q": "a\"b", "n": "", "lg": "abcdefghijklmnopqrstuvwxyz"}"#
        check("p = e AND e = 'order' AND p = 'order'", doc, true)
        check("begins_with(e, 'ord') AND contains(p, 'rde') AND contains(e, 'der')", doc, true)
        check("q = :q AND contains(q, :dq)", doc, true, values: [":q": #""a\"b""#, ":dq": #""\"""#])
        check("n = '' AND begins_with(lg, '') AND contains(lg, 'xyz') AND NOT contains(lg, 'xyza')", doc, true)
        check("p < 'order ' AND p > 'orde' AND lg BETWEEN 'abc' AND 'abd'", doc, true)
        check("p IN ('x', 'order') AND e IN ('order') AND NOT (lg IN ('abcdefghijklmnopqrstuvwxy'))", doc, true)
    }

    func testScalarSkippingStopsAtEveryDelimiter() {
        // The wanted key sits after scalars ending in each delimiter, at every offset mod 8.
        for pad in 0..<9 {
            let digits = String(repeating: "7", count: pad + 1)
            for tail in [",", " ,", "\n,", "\t,", "\r,"] {
                let doc = "{\"n\": \(digits)\(tail)\"t\": true, \"f\": false\(tail)\"z\": null\(tail)\"w\": -1.5e+\(digits)\(tail)\"k\": 1}"
                check("k = 1 AND t = true AND f = false AND z = :null AND n = \(digits)", doc, true, values: [":null": "null"])
            }
            check("l[1] = 2", "{\"l\": [\(digits),2]}", true)
        }
    }

    /// The word-at-a-time container skipper against a byte-at-a-time reference, on containers
    /// full of brackets inside strings, escaped quotes and backslashes, at every alignment.
    func testContainerSkippingMatchesAByteLoop() {
        func reference(_ bytes: [UInt8], _ i: Int) -> Int {
            var depth = 0
            var inString = false
            var escaped = false
            var j = i
            while j < bytes.count {
                let b = bytes[j]
                j += 1
                if inString {
                    if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                } else if b == 0x22 {
                    inString = true
                } else if b == 0x7B || b == 0x5B {
                    depth += 1
                } else if b == 0x7D || b == 0x5D {
                    depth -= 1
                    if depth == 0 { return j }
                }
            }
            return bytes.count
        }
        var rng = SplitMix64(seed: 0xB2AC_4E75)
        let atoms = [
            "1", "\"a\"", "\"[\"", "\"]}\"", "\"{\\\"}\"", "\"\\\\\"", "\"\\\\\\\"]\"", "[]", "{}", "\"x\\u005d\"", "true", " ", "\n",
        ]
        func container(_ depth: Int) -> String {
            let parts = (0..<Int.random(in: 0...5, using: &rng)).map { _ -> String in
                if depth < 4 && Int.random(in: 0..<3, using: &rng) == 0 { return container(depth + 1) }
                return atoms.randomElement(using: &rng)!
            }
            return Bool.random(using: &rng)
                ? "[" + parts.joined(separator: ",") + "]"
                : "{" + parts.map { "\"k\":" + $0 }.joined(separator: ",") + "}"
        }
        for _ in 0..<3000 {
            let pad = String(repeating: " ", count: Int.random(in: 0...8, using: &rng))
            var text = pad + container(0)
            if Bool.random(using: &rng) { text += ", \"after\": [1]}" }  // more input after it
            if Int.random(in: 0..<5, using: &rng) == 0 { text.removeLast(Int.random(in: 1...min(4, text.count - pad.count), using: &rng)) }
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { buffer in
                let document = JSONFilterDocument(buffer)
                XCTAssertEqual(document.skipContainer(pad.count), reference(bytes, pad.count), text)
            }
        }
    }

    func testPlainNumberParserAgreesWithTheGeneralOne() {
        var rng = SplitMix64(seed: 0x5EED_0F_0123)
        var texts = [
            "0", "-0", "0.0", "1", "-1", "1250.75", "1250.750", "0.000123", "9999999999999999999", "1000000000000000000",
            "12345678901234567890", "0.1234567890123456789", "1.5e3", "00", "01", "-", "1.", ".5", "1e", "-0.5", "7.0",
        ]
        for _ in 0..<3000 {
            var text = Bool.random(using: &rng) ? "-" : ""
            let intDigits = Int.random(in: 0...21, using: &rng)
            text += intDigits == 0 ? "0" : String((0..<intDigits).map { i in
                Character(String(i == 0 ? Int.random(in: 1...9, using: &rng) : Int.random(in: 0...9, using: &rng)))
            })
            if Bool.random(using: &rng) {
                text += "." + String((0..<Int.random(in: 1...12, using: &rng)).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
            }
            if Int.random(in: 0..<8, using: &rng) == 0 { text += "e" + String(Int.random(in: -5...5, using: &rng)) }
            texts.append(text)
        }
        for text in texts {
            let bytes = Array((text + ",").utf8)
            bytes.withUnsafeBytes { buffer in
                let general = FilterNumber.scanGeneral(buffer, from: 0)
                let scanned = FilterNumber.scan(buffer, from: 0)
                XCTAssertEqual(scanned?.0, general?.0, text)
                XCTAssertEqual(scanned?.1, general?.1, text)
                if let plain = FilterNumber.scanPlain(buffer, from: 0) {
                    XCTAssertEqual(plain.0, general?.0, "plain parser on \(text)")
                    XCTAssertEqual(plain.1, general?.1, "plain parser on \(text)")
                }
            }
        }
    }
}

/// Random documents built to stress the one-pass scan: colliding and prefix keys, escaped keys,
/// duplicates, all value kinds, random whitespace, nesting; random expressions over them.
final class MemberLookupDifferentialTests: XCTestCase {
    let environment = ProcessInfo.processInfo.environment
    var seed: UInt64 { UInt64(environment["FILTER_LOOKUP_SEED"] ?? "") ?? 0x0E_BA55 }
    var cases: Int { Int(environment["FILTER_LOOKUP_CASES"] ?? "") ?? 1500 }

    /// (raw JSON key text without quotes, decoded key)
    static let keys: [(String, String)] = [
        ("a", "a"), ("ab", "ab"), ("abc", "abc"), ("a\\\"", "a\""), ("k\\u0065y", "key"), ("key", "key"),
        ("", ""), ("xxxxxxx", "xxxxxxx"), ("xxxxxxxx", "xxxxxxxx"), ("xxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxx"),
        ("xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx"), ("xxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxx"), ("é", "é"),
        ("\\u00e9", "é"), ("😀", "😀"), ("b\\\\", "b\\"),
    ]
    static let scalars = [
        "0", "1", "-1", "2.5", "2.50", "1E+2", "100", "12345678901234567890123", "-0.000123", "true", "false", "null",
        "\"\"", "\"a\"", "\"ab\"", "\"a\\\"b\"", "\"k\\u0065y\"", "\"xxxxxxxxxxxxxxxxxxxx\"", "\"é\"", "\"b\\\\\"",
        "\"[{\"", "\"}]\\\"}\"", "\"\\\\\"",
    ]
    static let spaces = ["", "", " ", "  ", "\n  ", "\t", " \r\n"]

    func value(_ rng: inout SplitMix64, depth: Int) -> String {
        let r = Int.random(in: 0..<10, using: &rng)
        if depth < 3 && r < 2 { return object(&rng, depth: depth + 1) }
        if depth < 3 && r == 2 {
            return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in space(&rng) + value(&rng, depth: depth + 1) }
                .joined(separator: ",") + "]"
        }
        return MemberLookupDifferentialTests.scalars.randomElement(using: &rng)!
    }

    func space(_ rng: inout SplitMix64) -> String { MemberLookupDifferentialTests.spaces.randomElement(using: &rng)! }

    func object(_ rng: inout SplitMix64, depth: Int) -> String {
        let members = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
            let key = MemberLookupDifferentialTests.keys.randomElement(using: &rng)!.0
            return space(&rng) + "\"\(key)\"" + space(&rng) + ":" + space(&rng) + value(&rng, depth: depth) + space(&rng)
        }
        return "{" + members.joined(separator: ",") + space(&rng) + "}"
    }

    func testOnePassLookupAgreesWithPerKeyLookup() throws {
        var rng = SplitMix64(seed: seed)
        let comparisons = ["=", "<>", "<", ">="]
        var evaluated = 0
        for _ in 0..<cases {
            var names: [String: String] = [:]
            var values: [String: FilterValue] = [:]
            func path() -> String {
                (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                    let name = "#n\(names.count)"
                    names[name] = MemberLookupDifferentialTests.keys.filter { !$0.1.isEmpty }.randomElement(using: &rng)!.1
                    return name + (Int.random(in: 0..<6, using: &rng) == 0 ? "[\(Int.random(in: 0...1, using: &rng))]" : "")
                }.joined(separator: ".")
            }
            func constant(stringsOnly: Bool = false) -> String {
                let name = ":v\(values.count)"
                let pool = MemberLookupDifferentialTests.scalars.filter { !stringsOnly || $0.hasPrefix("\"") }
                values[name] = try! FilterValue(json: Array(pool.randomElement(using: &rng)!.utf8))
                return name
            }
            func clause() -> String {
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: return "attribute_exists(\(path()))"
                case 1: return "begins_with(\(path()), \(constant(stringsOnly: true)))"
                case 2: return "contains(\(path()), \(constant()))"
                case 3: return "\(path()) IN (\(constant()), \(constant()))"
                case 4: return "\(path()) = \(path())"
                default: return "\(path()) \(comparisons.randomElement(using: &rng)!) \(constant())"
                }
            }
            var expression = clause()
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                expression = "(\(expression)) \(Bool.random(using: &rng) ? "AND" : "OR") \(Bool.random(using: &rng) ? "NOT " : "")\(clause())"
            }
            let document = object(&rng, depth: 0)
            let program: FilterProgram
            do {
                program = try FilterProgram.compile(expression, values: values, names: names)
            } catch {
                if ProcessInfo.processInfo.environment["FILTER_LOOKUP_VERBOSE"] != nil { print("skip: \(error)") }
                continue  // e.g. a constant of a type the function rejects at compile time
            }
            let bytes = Array(document.utf8)
            let (fast, reference) = bytes.withUnsafeBytes { buffer in
                (program.evaluate(JSONFilterDocument(buffer)), program.evaluate(DefaultPathDocument(inner: JSONFilterDocument(buffer))))
            }
            evaluated += 1
            if fast != reference {
                XCTFail("seed \(seed): one-pass \(fast) vs per-key \(reference)\n  \(expression)\n  names \(names)\n  values \(values)\n  \(document)")
                return
            }
        }
        XCTAssertGreaterThan(evaluated, cases * 9 / 10, "most random expressions must compile")
    }
}
