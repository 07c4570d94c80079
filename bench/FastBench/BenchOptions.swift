// Command-line options of fastbench runs, parsed with BenchArguments (the target has no argument-parser
// dependency); every mistake names the option and what it expects.

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
    /// --topics N: publication n goes to topic `TOPIC.(n mod N)`, subscribed by subscriber
    /// (topic mod subscribers) — many distinct topics, each with one subscriber.
    var topics = 1
    /// --match: how subscribers subscribe — `exact` to the topic, `prefix` to TOPIC (match: prefix)
    /// or `wildcard` to TOPIC..leaf (match: wildcard), while publications go to TOPIC.x.leaf.
    var match = SubscriptionMatch.exact
    /// --subscriber-serializer: subscribers speak this serializer, publishers --serializer's.
    var subscriberSerializer: BenchSerializer?
    /// setups: sessions being set up at once.
    var concurrency = 10
    /// --subscriber-urls: subscriber i connects to the (i mod count)th of these instead of --url
    /// (publishers on one cluster node, subscribers spread over the others).
    var subscriberURLs: [BenchURL] = []
    /// --settle: seconds between the last SUBSCRIBED and the first publication, so a subscription
    /// is in force on every cluster node before it is counted on (SPEC §7: within 1 s).
    var settleSeconds = 0.0

    static let usage = """
    usage: fastbench --url rs://127.0.0.1:8081 | ws://127.0.0.1:8080/ws | rss://… | wss://…
                     [--serializer json|msgpack|cbor] [--tls] [--ca CA.pem]
                     [--workload 1to1|fanout|nton|shared|filters|latency|setups]
                     [--publishers N] [--subscribers N] [--payload BYTES] [--duration SECONDS]
                     [--warmup SECONDS] [--rate EVENTS_PER_S] [--window EVENTS] [--ack-every N]
                     [--drain SECONDS] [--publications N] [--topic URI] [--broker-pid PID] [--label NAME]
                     [--topics N] [--match exact|prefix|wildcard] [--subscriber-serializer json|msgpack]
                     [--realm NAME] [--authid ID --secret SECRET] [--concurrency N]
                     [--subscriber-urls URL,URL…] [--settle SECONDS] [--json OUT.json]
    Defaults: 1to1 1/1, fanout 1/100, nton 16/16, shared 1/10, filters 1/100, latency 1/1 at --rate 5000;
    --payload 64, --duration 5, --warmup 1, --window 8192, --ack-every 64, --drain 3.
    --publications N publishes exactly N (no warm-up, no timed window) and measures until they are delivered.
    --tls (or an rss:// / wss:// URL) speaks TLS; --ca verifies the broker's certificate against CA.pem.
    --topics N spreads publications over N topics (TOPIC.0 … TOPIC.N-1), topic t subscribed by subscriber t mod subscribers.
    --workload setups opens --concurrency sessions at a time (WAMP-CRA with --authid/--secret), each closed at WELCOME.
    --rate paces the latency workload: publication k is scheduled at k/rate and stamped with that time, late or not.
    --subscriber-urls spreads subscribers over these brokers (subscriber i to the (i mod count)th); publishers use --url.
    --settle waits that long after the last SUBSCRIBED before publishing (cluster interest crossing nodes).
    """

    static func parse(_ arguments: [String]) -> Result<BenchOptions, BenchUsageError> {
        let known: Set<String> = ["url", "workload", "publishers", "subscribers", "payload", "duration", "warmup",
                                  "rate", "window", "ack-every", "drain", "publications", "json", "broker-pid", "label", "topic",
                                  "serializer", "tls", "ca", "topics", "match", "subscriber-serializer",
                                  "realm", "authid", "secret", "concurrency", "subscriber-urls", "settle"]
        let values: BenchArguments, url: BenchURL
        switch BenchArguments.parse(arguments, known: known, usage: usage) {
        case .success(let parsed): values = parsed
        case .failure(let error): return .failure(error)
        }
        switch values.url(usage: usage) {
        case .success(let parsed): url = parsed
        case .failure(let error): return .failure(error)
        }
        if url.transport == .nats && (url.tls || values["authid"] != nil) {
            return .failure(BenchUsageError("--url \(values["url"]!): fastbench speaks NATS in plaintext without authentication only"))
        }
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
            if let v = values["publishers"] { options.publishers = try BenchArguments.integer("publishers", v, 1...10_000) }
            if let v = values["subscribers"] { options.subscribers = try BenchArguments.integer("subscribers", v, 1...10_000) }
            if let v = values["payload"] { options.payloadBytes = try BenchArguments.integer("payload", v, 16...1_000_000) }
            if let v = values["duration"] { options.durationSeconds = try BenchArguments.seconds("duration", v) }
            if let v = values["warmup"] { options.warmupSeconds = try BenchArguments.seconds("warmup", v, allowZero: true) }
            if let v = values["rate"] { options.rate = try BenchArguments.integer("rate", v, 1...100_000_000) }
            if let v = values["window"] { options.window = try BenchArguments.integer("window", v, 1...100_000_000) }
            if let v = values["ack-every"] { options.ackEvery = try BenchArguments.integer("ack-every", v, 1...1_000_000) }
            if let v = values["publications"] { options.publications = try BenchArguments.integer("publications", v, 0...Int(Int32.max)) }
            if let v = values["drain"] { options.drainSeconds = try BenchArguments.seconds("drain", v) }
            if let v = values["settle"] { options.settleSeconds = try BenchArguments.seconds("settle", v, allowZero: true) }
            if let v = values["concurrency"] { options.concurrency = try BenchArguments.integer("concurrency", v, 1...10_000) }
            if let v = values["topics"] { options.topics = try BenchArguments.integer("topics", v, 1...1_000_000) }
            if let v = values["broker-pid"] { options.brokerPID = Int32(try BenchArguments.integer("broker-pid", v, 1...Int(Int32.max))) }
        } catch {
            return .failure(error)
        }
        if let name = values["match"] {
            guard let match = SubscriptionMatch(rawValue: name) else {
                return .failure(BenchUsageError("--match \(name): expected exact, prefix or wildcard"))
            }
            options.match = match
        }
        if options.match != .exact && options.topics > 1 {
            return .failure(BenchUsageError("--match \(options.match.rawValue): only with one topic (--topics 1)"))
        }
        if options.topics > 1 && workload.deliveriesPerPublication(subscribers: 2) != 2 {
            return .failure(BenchUsageError("--topics \(options.topics): only with a broadcast workload (1to1, fanout, nton, latency)"))
        }
        if let name = values["subscriber-serializer"] {
            guard let serializer = BenchSerializer(rawValue: name) else {
                return .failure(BenchUsageError("--subscriber-serializer \(name): expected json, msgpack or cbor"))
            }
            options.subscriberSerializer = serializer
        }
        if let list = values["subscriber-urls"] {
            for text in list.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                switch BenchURL.parse(text) {
                case .success(let parsed):
                    guard (parsed.transport == .nats) == (url.transport == .nats), parsed.tls == url.tls || !parsed.tls else {
                        return .failure(BenchUsageError("--subscriber-urls \(text): must speak what --url \(url.text) speaks (WAMP or NATS, TLS or not)"))
                    }
                    options.subscriberURLs.append(parsed)
                case .failure(let error):
                    return .failure(BenchUsageError("--subscriber-urls: " + error.description.replacingOccurrences(of: "--url ", with: "")))
                }
            }
        }
        if let realm = values["realm"] { options.url.realm = realm }
        if (values["authid"] == nil) != (values["secret"] == nil) {
            return .failure(BenchUsageError("--authid and --secret go together (WAMP-CRA)"))
        }
        options.url.authid = values["authid"]
        options.url.secret = values["secret"]
        options.caPath = values["ca"]
        options.jsonPath = values["json"]
        options.label = values["label"] ?? ""
        if let topic = values["topic"] { options.topic = topic }
        return .success(options)
    }

    /// The URL subscriber `index` connects with: --url, or its turn of --subscriber-urls with
    /// --url's serializer, TLS and credentials; its own serializer with --subscriber-serializer.
    func subscriberURL(_ index: Int) -> BenchURL {
        var subscriberURL = url
        if !subscriberURLs.isEmpty {
            let address = subscriberURLs[index % subscriberURLs.count]
            subscriberURL = BenchURL(transport: address.transport, host: address.host, port: address.port, text: address.text)
            subscriberURL.tls = url.tls
            subscriberURL.serializer = url.serializer
            subscriberURL.realm = url.realm
            subscriberURL.authid = url.authid
            subscriberURL.secret = url.secret
        }
        if let subscriberSerializer { subscriberURL.serializer = subscriberSerializer }
        return subscriberURL
    }
}

/// How subscribers subscribe (--match).
enum SubscriptionMatch: String {
    case exact, prefix, wildcard

    /// The URI subscribers subscribe to for topic `topic`.
    func subscriptionURI(topic: String) -> String {
        switch self {
        case .exact: return topic
        case .prefix: return topic
        case .wildcard: return topic + "..leaf"
        }
    }

    /// The URI publications go to.
    func publicationURI(topic: String) -> String { self == .exact ? topic : topic + ".x.leaf" }

    /// `options` (a JSON object's text) with the match policy added.
    func subscribeOptions(_ options: String) -> String {
        guard self != .exact else { return options }
        let entry = #""match":""# + rawValue + "\""
        return options == "{}" ? "{" + entry + "}" : "{" + entry + "," + options.dropFirst()
    }
}
