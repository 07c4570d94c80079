// BenchArguments: the hand parser both fastbench commands share (the target has no argument-parser
// dependency): `--name VALUE` pairs plus the one flag `--tls`, checked against the options the
// command knows, the broker URL with --serializer and --tls applied, and typed values whose
// errors name the option and what it expects.

struct BenchUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct BenchArguments {
    /// Option name (without `--`) → value; `tls` → "on" when given.
    let values: [String: String]

    subscript(name: String) -> String? { values[name] }

    /// The pairs of `arguments`; a failure for --help, a dangling or unknown option (`usage` appended).
    static func parse(_ arguments: [String], known: Set<String>, usage: String) -> Result<BenchArguments, BenchUsageError> {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            if name == "--help" || name == "-h" { return .failure(BenchUsageError(usage)) }
            if name == "--tls" {   // the one flag without a value
                values["tls"] = "on"
                index += 1
                continue
            }
            guard name.hasPrefix("--"), index + 1 < arguments.count else {
                return .failure(BenchUsageError("\(name): expected --option VALUE\n\(usage)"))
            }
            values[String(name.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            return .failure(BenchUsageError("--\(unknown): unknown option\n\(usage)"))
        }
        return .success(BenchArguments(values: values))
    }

    /// The required --url, with --serializer and --tls applied.
    func url(usage: String) -> Result<BenchURL, BenchUsageError> {
        guard let urlText = values["url"] else { return .failure(BenchUsageError("--url is required\n\(usage)")) }
        var url: BenchURL
        switch BenchURL.parse(urlText) {
        case .success(let parsed): url = parsed
        case .failure(let error): return .failure(error)
        }
        if let name = values["serializer"] {
            guard let serializer = BenchSerializer(rawValue: name) else {
                return .failure(BenchUsageError("--serializer \(name): expected json, msgpack or cbor"))
            }
            url.serializer = serializer
        }
        if values["tls"] != nil { url.tls = true }
        return .success(url)
    }

    static func integer(_ name: String, _ text: String, _ range: ClosedRange<Int>) throws(BenchUsageError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw BenchUsageError("--\(name) \(text): expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    static func seconds(_ name: String, _ text: String, allowZero: Bool = false) throws(BenchUsageError) -> Double {
        guard let value = Double(text), value.isFinite, allowZero ? value >= 0 : value > 0, value <= 86_400 else {
            throw BenchUsageError("--\(name) \(text): expected seconds, \(allowZero ? "≥ 0" : "> 0")")
        }
        return value
    }
}
