// The result of `fastbench soak`: one summary line and the JSON bench/soak.sh reads (counts,
// per-subscriber checks, healthy event latency, wall-clock phase edges for the RSS timeline).

import BrokerLoop
import BrokerSerialization
import Glibc

/// Parses the options, runs the soak on one loop, prints and writes the result. Exit status: 0 ran
/// (the checks are bench/soak.sh's), 1 the run could not be carried out, 2 bad usage.
func runSoak(_ arguments: [String]) -> Int32 {
    let options: SoakOptions
    switch SoakOptions.parse(arguments) {
    case .success(let parsed): options = parsed
    case .failure(let error):
        print(error.description)
        return arguments.contains("--help") || arguments.contains("-h") ? 0 : 2
    }
    let loop: EventLoop
    let run: SoakRun
    do {
        loop = try EventLoop()
        run = try SoakRun(options: options, loop: loop)
    } catch {
        print("fastbench soak: cannot start: \(error)")
        return 1
    }
    run.start()
    loop.run()
    loop.close()
    let json = soakJSON(run)
    let healthyMissing = (0..<options.healthySubscribers).map(run.missingAtHealthy)
    print("soak \(transportName(options.url)) publishers=\(options.publishers) published=\(run.published) accepted=\(run.accepted) "
          + "refused=\(run.refused.reduce(0, +)) healthy_missing=\(healthyMissing) slow_aborts=\(run.slowConsumerAborts) "
          + "slow_received=\(run.slowReceived.reduce(0, +)) status=\(run.outcome)")
    for note in run.failureNotes.prefix(5) { print("  \(note)") }
    if let path = options.jsonPath {
        guard let file = fopen(path, "w") else {
            print("fastbench soak: cannot write \(path)")
            return 1
        }
        fputs(json, file)
        fclose(file)
    }
    return run.outcome == "ok" ? 0 : 1
}

private func soakJSON(_ run: SoakRun) -> String {
    let options = run.options
    let seconds = max(0.001, run.wallLoadEnd - run.wallLoadStart)
    let healthy = (0..<options.healthySubscribers).map { slot in
        """
        {"received": \(run.healthyReceived[slot]), "missing": \(run.missingAtHealthy(slot)), \
        "out_of_order": \(run.healthyOutOfOrder[slot]), "failed": \(jsonString(run.healthyFailed[slot]))}
        """
    }
    let latency = run.latency
    func microseconds(_ percentile: Double) -> String {
        latency.totalCount == 0 ? "null" : String(Double(latency.valueAtPercentile(percentile)) / 1000)
    }
    let notes = run.failureNotes.map { jsonString($0) }.joined(separator: ", ")
    return """
    {"status": "\(run.outcome)", "url": \(jsonString(options.url.description)), "transport": "\(transportName(options.url))",
     "serializer": "\(options.url.serializer.rawValue)", "publishers": \(options.publishers),
     "healthy_subscribers": \(options.healthySubscribers), "slow_subscribers": \(options.slowSubscribers),
     "payload_bytes": \(options.payloadBytes), "ack_every": \(options.ackEvery), "window_per_subscriber": \(options.windowPerSubscriber),
     "slow_read_bytes": \(options.slowReadBytes), "slow_read_ms": \(options.slowReadMilliseconds), "reconnect_ms": \(options.reconnectMilliseconds),
     "load_start": \(run.wallLoadStart), "load_end": \(run.wallLoadEnd), "done": \(run.wallDone), "load_seconds": \(seconds),
     "published": \(run.published), "published_per_s": \(Double(run.published) / seconds), "accepted": \(run.accepted),
     "refused": \(run.refused.reduce(0, +)), "publisher_failures": \(run.publisherFailures), "stalls": \(run.stalls),
     "healthy": [\(healthy.joined(separator: ", "))],
     "healthy_latency_us": {"count": \(latency.totalCount), "p50": \(microseconds(50)), "p99": \(microseconds(99)), "max": \(latency.totalCount == 0 ? "null" : String(Double(latency.max) / 1000))},
     "slow_received": [\(run.slowReceived.map(String.init).joined(separator: ", "))],
     "slow_consumer_aborts": \(run.slowConsumerAborts), "slow_other_closes": \(run.slowOtherCloses), "slow_reconnects": \(run.slowReconnects),
     "notes": [\(notes)]}

    """
}

/// A JSON string, or null.
private func jsonString(_ text: String?) -> String {
    text.map(JSONWriter.quoted) ?? "null"
}

private func transportName(_ url: BenchURL) -> String {
    switch url.transport {
    case .rawSocket: return "rawsocket"
    case .webSocket: return "websocket"
    case .nats: return "nats"
    }
}

/// The counts the report gives, from the run's per-publisher acknowledgements and per-subscriber arrivals.
extension SoakRun {
    /// The last publication the broker is known to have read from `publisher`.
    func acceptedThrough(_ publisher: Int) -> UInt64 {
        sentinel[publisher] != 0 && publishers[publisher].lastAcknowledged >= sentinel[publisher]
            ? sentinel[publisher] : publishers[publisher].lastAcknowledged
    }

    /// Publications the broker accepted: through each publisher's last acknowledged one, minus refusals.
    var accepted: Int { (0..<publishers.count).reduce(0) { $0 + Int(acceptedThrough($1)) - refused[$1] } }

    /// Publications each healthy subscriber misses of the accepted ones: gaps seen plus the tail
    /// after its last arrival, per publisher.
    func missingAtHealthy(_ slot: Int) -> Int {
        var missing = healthyMissing[slot]
        for publisher in 0..<publishers.count {
            let last = nextExpected[slot * options.publishers + publisher] - 1
            let through = acceptedThrough(publisher)
            if through > last { missing += Int(through - last) }
        }
        return missing
    }
}
