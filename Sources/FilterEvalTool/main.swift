// filter-eval: a JSON-lines front end to FilterVM for differential tests (Tests/differential).
// One request per input line, one response per output line, in order:
//
//   → {"expr": "a = :v", "values": {":v": 1}, "names": {"#n": "x"}, "docs": ["{\"a\": 1}", "{}"]}
//   ← {"ok": true, "results": [true, false], "fingerprint": "0 EQ       a, 1\n1 RET"}
//   ← {"ok": false, "error": "expected ')' at column 17", "column": 17}
//
// `docs` holds each document as JSON *text*, so the VM reads exactly the bytes the caller wrote
// (escapes, whitespace and all). "values" and "names" may be omitted.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import FilterVM

func failure(_ error: FilterError) -> String {
    "{\"ok\": false, \"error\": \(FilterValue.quoted(error.description)), \"column\": \(error.column.map(String.init) ?? "null")}"
}

func handle(_ line: String) -> String {
    let request: FilterValue
    do {
        request = try FilterValue(json: Array(line.utf8))
    } catch {
        return failure(FilterError("bad request line: \(error.description)"))
    }
    guard case .map(let fields) = request, case .string(let expr)? = fields["expr"] else {
        return failure(FilterError("bad request line: expected an object with \"expr\""))
    }
    var values: [String: FilterValue] = [:]
    if case .map(let v)? = fields["values"] { values = v }
    var names: [String: String] = [:]
    if case .map(let n)? = fields["names"] {
        for (key, value) in n {
            guard case .string(let name) = value else { return failure(FilterError("names must be strings")) }
            names[key] = name
        }
    }
    let program: FilterProgram
    do {
        program = try FilterProgram.compile(expr, values: values, names: names)
    } catch {
        return failure(error)
    }
    var results: [String] = []
    if case .list(let docs)? = fields["docs"] {
        for doc in docs {
            guard case .string(let text) = doc else { return failure(FilterError("docs must be JSON texts")) }
            let bytes = Array(text.utf8)
            let matched = bytes.withUnsafeBytes { program.evaluate(JSONFilterDocument($0)) }
            results.append(matched ? "true" : "false")
        }
    }
    return "{\"ok\": true, \"results\": [\(results.joined(separator: ", "))], \"fingerprint\": \(FilterValue.quoted(program.fingerprint))}"
}

while let line = readLine(strippingNewline: true) {
    if line.isEmpty { continue }
    print(handle(line))
    fflush(nil)
}
