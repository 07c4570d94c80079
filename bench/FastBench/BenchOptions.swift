// Command-line options of fastbench. Parsed by hand (the target has no argument-parser
// dependency); every mistake names the option and what it expects.

struct BenchUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct BenchOptions {
    var url: BenchURL
    var workload: Workload = .oneToOne
    var publishers: Int
    var subscribers: Int
    var payloadBytes = 64
    var durationSeconds = 5.0
    var warmupSeconds = 1.0
    /// Publications per second in total (latency workload).
    var rate = 5000
    /// Most deliveries outstanding (published but not yet received) across the run.
    var window = 8192
    /// Every Nth publication asks for an acknowledgement (also bounds each publisher's unacknowledged publications).
    var ackEvery = 64
    /// Seconds to wait after the last publication for outstanding events before counting them lost.
    var drainSeconds = 3.0
    /// A fixed number of publications instead of a timed window (for callgrind): measuring starts
    /// with the first publication, without warm-up, and ends when all are delivered or given up.
    var publications: Int?
    var jsonPath: String?
    var brokerPID: Int32?
    var label = ""
    var topic: String
    /// --ca: verify the broker's TLS certificate against this PEM bundle (otherwise not verified).
    var caPath: String?

    static let usage = """
    usage: fastbench --url rs://127.0.0.1:8081 | ws://127.0.0.1:8080/ws | rss://… | wss://…
                     [--serializer json|msgpack|cbor] [--tls] [--ca CA.pem]
                     [--workload 1to1|fanout|nton|shared|filters|latency]
                     [--publishers N] [--subscribers N] [--payload BYTES] [--duration SECONDS]
                     [--warmup SECONDS] [--rate EVENTS_PER_S] [--window EVENTS] [--ack-every N]
                     [--drain SECONDS] [--publications N] [--topic URI] [--broker-pid PID] [--label NAME]
                     [--json OUT.json]
    Defaults: 1to1 1/1, fanout 1/100, nton 16/16, shared 1/10, filters 1/100, latency 1/1 at --rate 5000;
    --payload 64, --duration 5, --warmup 1, --window 8192, --ack-every 64, --drain 3.
    --publications N publishes exactly N (no warm-up, no timed window) and measures until they are delivered.
    --tls (or an rss:// / wss:// URL) speaks TLS; --ca verifies the broker's certificate against CA.pem.
    """

    static func parse(_ arguments: [String]) -> Result<BenchOptions, BenchUsageError> {
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
        let known: Set<String> = ["url", "workload", "publishers", "subscribers", "payload", "duration", "warmup",
                                  "rate", "window", "ack-every", "drain", "publications", "json", "broker-pid", "label", "topic",
                                  "serializer", "tls", "ca"]
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            return .failure(BenchUsageError("--\(unknown): unknown option\n\(usage)"))
        }
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
        if values["ca"] != nil && !url.tls {
            return .failure(BenchUsageError("--ca \(values["ca"]!): only with --tls (or an rss:// / wss:// URL)"))
        }
        var workload = Workload.oneToOne
        if let name = values["workload"] {
            guard let parsed = Workload(rawValue: name) else {
                return .failure(BenchUsageError("--workload \(name): expected one of \(Workload.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            workload = parsed
        }
        var options = BenchOptions(url: url, workload: workload, publishers: workload.defaultPublishers,
                                   subscribers: workload.defaultSubscribers, topic: "bench.\(workload.rawValue)")
        do throws(BenchUsageError) {
            if let v = values["publishers"] { options.publishers = try integer("publishers", v, 1...10_000) }
            if let v = values["subscribers"] { options.subscribers = try integer("subscribers", v, 1...10_000) }
            if let v = values["payload"] { options.payloadBytes = try integer("payload", v, 16...1_000_000) }
            if let v = values["duration"] { options.durationSeconds = try seconds("duration", v) }
            if let v = values["warmup"] { options.warmupSeconds = try seconds("warmup", v, allowZero: true) }
            if let v = values["rate"] { options.rate = try integer("rate", v, 1...100_000_000) }
            if let v = values["window"] { options.window = try integer("window", v, 1...100_000_000) }
            if let v = values["ack-every"] { options.ackEvery = try integer("ack-every", v, 1...1_000_000) }
            if let v = values["publications"] { options.publications = try integer("publications", v, 0...Int(Int32.max)) }
            if let v = values["drain"] { options.drainSeconds = try seconds("drain", v) }
            if let v = values["broker-pid"] { options.brokerPID = Int32(try integer("broker-pid", v, 1...Int(Int32.max))) }
        } catch {
            return .failure(error)
        }
        options.caPath = values["ca"]
        options.jsonPath = values["json"]
        options.label = values["label"] ?? ""
        if let topic = values["topic"] { options.topic = topic }
        return .success(options)
    }

    private static func integer(_ name: String, _ text: String, _ range: ClosedRange<Int>) throws(BenchUsageError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw BenchUsageError("--\(name) \(text): expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    private static func seconds(_ name: String, _ text: String, allowZero: Bool = false) throws(BenchUsageError) -> Double {
        guard let value = Double(text), value.isFinite, allowZero ? value >= 0 : value > 0, value <= 86_400 else {
            throw BenchUsageError("--\(name) \(text): expected seconds, \(allowZero ? "≥ 0" : "> 0")")
        }
        return value
    }
}
