// Fuzz entry for FilterVM: lexer, parser, binder, folder, code generator and VM. The input is
// `expression NUL document`: the expression compiles with a fixed placeholder set, and when it
// compiles it is disassembled, fingerprinted and evaluated on the document bytes (which need not
// be valid JSON). The document bytes are also parsed as a filter value. Nothing may crash or hang.

@testable import FilterVM

@_cdecl("LLVMFuzzerTestOneInput")
public func filterFuzzEntry(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    let split = input.firstIndex(of: 0) ?? size
    let expression = String(decoding: input[0..<split], as: UTF8.self)
    let document = split < size ? Array(input[(split + 1)...]) : []
    _ = try? FilterValue(json: document)
    // Every placeholder mentioned in the expression gets a value, so unbound/unused checks do not
    // hide the later stages; values cycle through the JSON types.
    var values: [String: FilterValue] = [:]
    var names: [String: String] = [:]
    let samples: [FilterValue] = [.number(FilterNumber(7)), .string("ab"), .bool(true), .null, .list([.string("x")])]
    var scalars = Array(expression.unicodeScalars)[...]
    while let i = scalars.firstIndex(where: { $0 == ":" || $0 == "#" }) {
        let sigil = scalars[i]
        var j = i + 1
        while j < scalars.endIndex, scalars[j].properties.isAlphabetic || ("0"..."9").contains(scalars[j]) || scalars[j] == "_" {
            j += 1
        }
        var name = ""
        name.unicodeScalars.append(contentsOf: scalars[i..<j])
        if sigil == ":" {
            values[name] = samples[values.count % samples.count]
        } else {
            names[name] = "n\(names.count)"
        }
        scalars = scalars[j...]
    }
    guard let program = try? FilterProgram.compile(expression, values: values, names: names) else { return 0 }
    _ = program.disassemble()
    _ = program.fingerprint
    _ = document.withUnsafeBytes { program.evaluate(JSONFilterDocument($0)) }
    return 0
}
