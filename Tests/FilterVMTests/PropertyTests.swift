// Seeded random property tests: algebraic identities that must hold for every document, checked
// on thousands of random (expression, document) pairs. A failure prints the seed, the
// expressions and the document. FILTER_PROPERTY_SEED / FILTER_PROPERTY_CASES override the run.

import TestSupport
import XCTest

@testable import FilterVM

final class PropertyTests: XCTestCase {
    let environment = ProcessInfo.processInfo.environment
    var seed: UInt64 { UInt64(environment["FILTER_PROPERTY_SEED"] ?? "") ?? 0xF11_7E12 }
    var cases: Int { Int(environment["FILTER_PROPERTY_CASES"] ?? "") ?? 3000 }

    static let scalars = [
        "-7", "-0.5", "0", "1", "2", "2.0", "3", "10", "1E+2", "\"\"", "\"a\"", "\"ab\"", "\"b\"", "\"é\"", "\"😀\"",
        "true", "false", "null",
    ]
    static let orderable = ["-7", "-0.5", "0", "1", "2", "2.0", "3", "10", "1E+2", "\"\"", "\"a\"", "\"ab\"", "\"b\"", "\"é\""]
    static let paths = ["a", "b", "m.x", "m.y", "l[0]", "l[1]", "missing"]

    func randomValue(_ rng: inout SplitMix64, depth: Int = 0) -> String {
        let r = Int.random(in: 0..<10, using: &rng)
        if depth < 2 && r == 0 {
            return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) }
                .joined(separator: ",") + "]"
        }
        return PropertyTests.scalars.randomElement(using: &rng)!
    }

    func randomDocument(_ rng: inout SplitMix64) -> String {
        var members: [String] = []
        for name in ["a", "b"] where Bool.random(using: &rng) || Bool.random(using: &rng) {
            members.append("\"\(name)\": \(randomValue(&rng))")
        }
        var m: [String] = []
        for name in ["x", "y"] where Int.random(in: 0..<4, using: &rng) > 0 { m.append("\"\(name)\": \(randomValue(&rng))") }
        if Int.random(in: 0..<4, using: &rng) > 0 { members.append("\"m\": {\(m.joined(separator: ", "))}") }
        let l = (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(&rng) }
        if Bool.random(using: &rng) { members.append("\"l\": [\(l.joined(separator: ", "))]") }
        return "{" + members.joined(separator: ", ") + "}"
    }

    func operand(_ rng: inout SplitMix64, orderable: Bool = false) -> String {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return PropertyTests.paths.randomElement(using: &rng)!
        case 1: return "size(\(PropertyTests.paths.randomElement(using: &rng)!))"
        default:
            let pool = orderable ? PropertyTests.orderable : PropertyTests.scalars
            return pool.randomElement(using: &rng)!.replacingOccurrences(of: "\"", with: "'")
        }
    }

    /// A random atomic condition over random paths and constants.
    func atom(_ rng: inout SplitMix64) -> String {
        let path = PropertyTests.paths.randomElement(using: &rng)!
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: return "\(path) = \(operand(&rng))"
        case 1: return "\(path) < \(operand(&rng, orderable: true))"
        case 2: return "\(operand(&rng, orderable: true)) >= \(path)"
        case 3: return "\(path) BETWEEN \(operand(&rng, orderable: true)) AND \(operand(&rng, orderable: true))"
        case 4: return "\(path) IN (\(operand(&rng)), \(operand(&rng)), \(operand(&rng)))"
        case 5: return "attribute_exists(\(path))"
        case 6: return "begins_with(\(path), \(["''", "'a'", "'é'"].randomElement(using: &rng)!))"
        default: return "contains(\(path), \(operand(&rng)))"
        }
    }

    func condition(_ rng: inout SplitMix64, depth: Int = 0) -> String {
        if depth >= 2 || Bool.random(using: &rng) { return atom(&rng) }
        let op = Bool.random(using: &rng) ? "AND" : "OR"
        return "(\(condition(&rng, depth: depth + 1))) \(op) (\(condition(&rng, depth: depth + 1)))"
    }

    /// Compiles, skipping the rare random expression DynamoDB itself rejects (e.g. contains(a, a)).
    func tryCompile(_ e: String) -> FilterProgram? {
        try? FilterProgram.compile(e, values: [:], names: [:])
    }

    func checkEquivalent(_ lhs: String, _ rhs: String, on document: String, _ law: String) {
        guard let p = tryCompile(lhs) else { return }
        guard let q = tryCompile(rhs) else {
            XCTFail("\(law): \(lhs) compiles but \(rhs) does not")
            return
        }
        let x = evaluate(p, document)
        let y = evaluate(q, document)
        if x != y {
            XCTFail("\(law) fails (seed \(seed)): \(lhs) → \(x), \(rhs) → \(y) on \(document)")
        }
    }

    func testLaws() {
        var rng = SplitMix64(seed: seed)
        var compiled = 0
        for _ in 0..<cases {
            let document = randomDocument(&rng)
            let e = condition(&rng)
            let f = condition(&rng)
            if tryCompile(e) != nil { compiled += 1 }
            checkEquivalent("NOT (\(e))", "NOT (\(e))", on: document, "determinism")
            if let p = tryCompile(e), let q = tryCompile("NOT (\(e))") {
                XCTAssertNotEqual(evaluate(p, document), evaluate(q, document), "NOT e = ¬e: \(e) on \(document)")
            }
            checkEquivalent("NOT ((\(e)) AND (\(f)))", "(NOT (\(e))) OR (NOT (\(f)))", on: document, "De Morgan AND")
            checkEquivalent("NOT ((\(e)) OR (\(f)))", "(NOT (\(e))) AND (NOT (\(f)))", on: document, "De Morgan OR")
            checkEquivalent("(\(e)) AND (\(f))", "(\(f)) AND (\(e))", on: document, "AND commutes")

            let path = PropertyTests.paths.randomElement(using: &rng)!
            let x = operand(&rng, orderable: true)
            let y = operand(&rng, orderable: true)
            checkEquivalent("\(path) BETWEEN \(x) AND \(y)", "\(path) >= \(x) AND \(path) <= \(y)", on: document, "BETWEEN")
            let u = operand(&rng)
            checkEquivalent("\(path) <> \(u)", "NOT \(path) = \(u)", on: document, "<> is NOT =")
            checkEquivalent("\(path) = \(u)", "\(u) = \(path)", on: document, "= is symmetric")
            checkEquivalent("\(path) < \(x)", "\(x) > \(path)", on: document, "< mirrors >")
            let items = (0..<Int.random(in: 1...4, using: &rng)).map { _ in operand(&rng) }
            checkEquivalent(
                "\(path) IN (\(items.joined(separator: ", ")))",
                items.map { "\(path) = \($0)" }.joined(separator: " OR "), on: document, "IN is OR of =")
        }
        XCTAssertGreaterThan(compiled, cases / 2, "the generator mostly produces valid expressions")
    }

    /// Programs compiled from equal fingerprints behave identically on random documents.
    func testEqualFingerprintsBehaveIdentically() {
        var rng = SplitMix64(seed: seed &+ 1)
        for _ in 0..<300 {
            let e = condition(&rng)
            guard let p = tryCompile(e) else { continue }
            let respelled = e.replacingOccurrences(of: " AND ", with: " and ").replacingOccurrences(of: " OR ", with: " Or ")
            guard let q = tryCompile("NOT NOT (" + respelled + ")") else {
                XCTFail("respelling broke \(e)")
                continue
            }
            XCTAssertEqual(p.fingerprint, q.fingerprint, e)
            for _ in 0..<5 {
                let d = randomDocument(&rng)
                XCTAssertEqual(evaluate(p, d), evaluate(q, d))
            }
        }
    }
}
