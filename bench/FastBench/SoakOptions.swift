// Options of `fastbench soak` (issue 10's soak test, driven by bench/soak.sh): many publishers on
// one topic, healthy subscribers that read as fast as they can and slow ones that read a few
// bytes now and then. Parsed with BenchArguments like BenchOptions; every mistake names the option.

struct SoakOptions {
    var url: BenchURL
    var publishers = 1000
    var healthySubscribers = 10
    var slowSubscribers = 10
    var durationSeconds = 60.0
    var payloadBytes = 64
    /// Every Nth PUBLISH asks for PUBLISHED; a publisher has at most 2×N unacknowledged.
    var ackEvery = 64
    /// Most events outstanding per healthy subscriber (published, not yet received): publishers go
    /// as fast as the healthy subscribers can take it, never filling their broker queues.
    var windowPerSubscriber = 4096
    /// A slow subscriber reads at most this many bytes every `slowReadMilliseconds`.
    var slowReadBytes = 65536
    var slowReadMilliseconds = 100
    /// A slow subscriber the broker closed reconnects and subscribes again after this (0 = never).
    var reconnectMilliseconds = 500
    /// After the last acknowledgement: how long without progress before the rest counts as lost.
    var drainSeconds = 5.0
    var topic = "soak.topic"
    var jsonPath: String?

    static let usage = """
    usage: fastbench soak --url rs://127.0.0.1:8081 | ws://127.0.0.1:8080/ws [--serializer json|msgpack|cbor] [--tls] [--ca CA.pem]
                          [--publishers N] [--healthy N] [--slow N] [--duration S] [--payload BYTES]
                          [--ack-every N] [--window EVENTS_PER_SUBSCRIBER] [--slow-read-bytes B]
                          [--slow-read-ms MS] [--reconnect-ms MS] [--drain S] [--topic URI] [--json OUT.json]
    Defaults: 1000 publishers, 10 healthy and 10 slow subscribers, 60 s, payload 64, ack-every 64,
    window 4096 events per healthy subscriber, slow readers take 64 KiB every 100 ms and
    reconnect 500 ms after the broker closes them (0 = never), drain 5 s.
    """

    static func parse(_ arguments: [String]) -> Result<SoakOptions, BenchUsageError> {
        let known: Set<String> = ["url", "serializer", "tls", "ca", "publishers", "healthy", "slow", "duration", "payload",
                                  "ack-every", "window", "slow-read-bytes", "slow-read-ms", "reconnect-ms", "drain", "topic", "json"]
        let values: BenchArguments, url: BenchURL
        switch BenchArguments.parse(arguments, known: known, usage: usage) {
        case .success(let parsed): values = parsed
        case .failure(let error): return .failure(error)
        }
        switch values.url(usage: usage) {
        case .success(let parsed): url = parsed
        case .failure(let error): return .failure(error)
        }
        var options = SoakOptions(url: url)
        do throws(BenchUsageError) {
            if let v = values["publishers"] { options.publishers = try BenchArguments.integer("publishers", v, 1...16_000) }
            if let v = values["healthy"] { options.healthySubscribers = try BenchArguments.integer("healthy", v, 1...1000) }
            if let v = values["slow"] { options.slowSubscribers = try BenchArguments.integer("slow", v, 0...1000) }
            if let v = values["duration"] { options.durationSeconds = try BenchArguments.seconds("duration", v) }
            if let v = values["payload"] { options.payloadBytes = try BenchArguments.integer("payload", v, 48...1_000_000) }
            if let v = values["ack-every"] { options.ackEvery = try BenchArguments.integer("ack-every", v, 1...1_000_000) }
            if let v = values["window"] { options.windowPerSubscriber = try BenchArguments.integer("window", v, 1...100_000_000) }
            if let v = values["slow-read-bytes"] { options.slowReadBytes = try BenchArguments.integer("slow-read-bytes", v, 1...1 << 30) }
            if let v = values["slow-read-ms"] { options.slowReadMilliseconds = try BenchArguments.integer("slow-read-ms", v, 1...60_000) }
            if let v = values["reconnect-ms"] { options.reconnectMilliseconds = try BenchArguments.integer("reconnect-ms", v, 0...60_000) }
            if let v = values["drain"] { options.drainSeconds = try BenchArguments.seconds("drain", v) }
        } catch {
            return .failure(error)
        }
        if let topic = values["topic"] { options.topic = topic }
        options.jsonPath = values["json"]
        return .success(options)
    }
}
