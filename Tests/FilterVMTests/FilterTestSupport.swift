// Shared helpers for FilterVM tests: compile with JSON-text values, evaluate on JSON text.

import XCTest

@testable import FilterVM

func value(_ json: String) -> FilterValue {
    try! FilterValue(json: Array(json.utf8))
}

func compile(_ expression: String, _ values: [String: String] = [:], names: [String: String] = [:]) throws
    -> FilterProgram
{
    try FilterProgram.compile(expression, values: values.mapValues(value), names: names)
}

func evaluate(_ program: FilterProgram, _ document: String) -> Bool {
    let bytes = Array(document.utf8)
    return bytes.withUnsafeBytes { program.evaluate(JSONFilterDocument($0)) }
}

/// Evaluates `expression` on `document`, failing the test on a compile error.
func matches(
    _ expression: String, _ document: String, _ values: [String: String] = [:], names: [String: String] = [:],
    file: StaticString = #filePath, line: UInt = #line
) -> Bool {
    do {
        return evaluate(try compile(expression, values, names: names), document)
    } catch {
        XCTFail("compile failed: \(error)", file: file, line: line)
        return false
    }
}

/// The compile error for `expression`, failing the test if it compiles.
func compileError(
    _ expression: String, _ values: [String: String] = [:], names: [String: String] = [:],
    file: StaticString = #filePath, line: UInt = #line
) -> FilterError? {
    do {
        _ = try FilterProgram.compile(expression, values: values.mapValues(value), names: names)
        XCTFail("expected a compile error for \(expression)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}
