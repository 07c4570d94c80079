// What a run measured, computed from the window snapshots and the latency histogram: the figures
// printed on one line and written as JSON (--json) for bench/compare.sh.

import BrokerSerialization
import Glibc
import Histogram

struct BenchResult {
    var status = "ok"
    var note = ""
    var label: String
    var url: String
    /// --subscriber-urls as given (empty: subscribers on --url too).
    var subscriberURLs: [String]
    var serializer: String
    var tls: Bool
    var workload: String
    var publishers: Int
    var subscribers: Int
    var payloadBytes: Int
    var rate: Int?
    var window: Int
    var seconds = 0.0
    var published = 0
    var expected = 0
    var received = 0
    var loss = 0
    var windowPublished = 0
    var windowDelivered = 0
    var deliveredPerSecond = 0.0
    var publishedPerSecond = 0.0
    var latencyCount: UInt64 = 0
    var p50 = 0.0, p99 = 0.0, p999 = 0.0, maxLatency = 0.0, meanLatency = 0.0   // microseconds
    var toolCPUPercent = 0.0
    var toolNanosecondsPerEvent = 0.0
    var brokerCPUPercent: Double?
    var brokerNanosecondsPerEvent: Double?
    /// The broker's VmRSS at the end of the window (KiB), with --broker-pid.
    var brokerRSSKiB: Int?
    /// Machine-wide busy CPU over the window minus the tool's and the broker's (percent of one
    /// core): other processes competing. Nil without --broker-pid or /proc/stat.
    var otherCPUPercent: Double?
    var stealPercent: Double?
    var stalls = 0
    var publishErrors = 0
    /// Shared/filters only: a publication delivered more than once; delivered to a subscriber whose
    /// filter does not match; carrying a publication number never published.
    var duplicates = 0
    var misrouted = 0
    var unknownPublications = 0
    /// Broadcast: deliveries that repeat or step back in a publisher's order at one subscriber, and
    /// publications a subscriber skipped; any workload: EVENTs on a subscription id SUBSCRIBED did
    /// not give for the publication's topic.
    var outOfOrder = 0
    var gaps = 0
    var wrongSubscription = 0
    var topics = 1
    var match = "exact"
    var subscriberSerializer: String
    /// Rate-paced: publications sent more than 100 µs after their scheduled time, and the largest delay (µs).
    var lateSends = 0
    var maxSendDelay = 0.0
    /// Fewest and most events one subscriber received over the run (how evenly a group shares).
    var subscriberMin = 0
    var subscriberMax = 0

    init(run: BenchRun) {
        let options = run.options
        label = options.label
        url = options.url.text
        subscriberURLs = options.subscriberURLs.map(\.text)
        serializer = options.url.serializer.rawValue
        tls = options.url.tls
        workload = options.workload.rawValue
        publishers = options.publishers
        subscribers = options.subscribers
        payloadBytes = options.payloadBytes
        rate = options.workload.isRatePaced ? options.rate : nil
        window = options.window
        published = run.published
        expected = run.expected
        received = run.received
        loss = run.expected - run.received
        stalls = run.stalls
        publishErrors = run.publishErrors
        duplicates = run.ledger.duplicates
        misrouted = run.ledger.misrouted
        unknownPublications = run.ledger.unknown
        outOfOrder = run.ledger.outOfOrder
        gaps = run.ledger.gaps
        wrongSubscription = run.ledger.wrongSubscription
        topics = options.topics
        match = options.match.rawValue
        subscriberSerializer = options.subscriberURL(0).serializer.rawValue
        lateSends = run.pacer?.lateSends ?? 0
        maxSendDelay = Double(run.pacer?.maxSendDelay ?? 0) / 1000
        subscriberMin = run.subscribers.map(\.received).min() ?? 0
        subscriberMax = run.subscribers.map(\.received).max() ?? 0

        switch run.outcome ?? .failed("the run did not finish") {
        case .completed: break
        case .unsupported(let why): status = "unsupported"; note = why
        case .failed(let why): status = "error"; note = why
        }
        if status == "ok" && Double(run.received) > 1.5 * Double(run.expected) {
            // Each publication reached more subscribers than the workload's options allow: the broker
            // ignored the shared-group or filter options and broadcast.
            status = "unsupported"
            note = "broker ignored the subscribe options \(options.workload.subscribeOptions(subscriberIndex: 0)): "
                + "\(run.received) deliveries for \(run.expected) expected when the run stopped (×\(String(format1: Double(run.received) / Double(max(1, run.expected)))))"
        }
        if status == "ok", let wrong = run.ledger.wrongDeliveries {
            status = "error"
            note = "wrong deliveries: \(wrong); \(run.received) received for \(run.expected) owed"
        } else if status == "ok" && run.received > run.expected {
            status = "error"
            note = "\(run.received) deliveries received for \(run.expected) owed"
        }
        if status == "ok" && publishErrors > 0 { note = "\(publishErrors) publications refused: \(run.lastPublishErrorText)" }

        let start = run.windowStart, end = run.windowEnd
        brokerRSSKiB = end.brokerRSSKiB
        guard start.time != 0, end.time > start.time else { return }
        seconds = Double(end.time - start.time) / 1e9
        windowPublished = end.published - start.published
        windowDelivered = end.received - start.received
        deliveredPerSecond = Double(windowDelivered) / seconds
        if status == "ok" && windowDelivered == 0 && run.options.publications != 0 {
            status = "error"
            note = "nothing was delivered in the measured window (\(run.published) published in all)"
        }
        publishedPerSecond = Double(windowPublished) / seconds
        let histogram = run.histogram
        latencyCount = histogram.totalCount
        if latencyCount > 0 {
            p50 = Double(histogram.valueAtPercentile(50)) / 1000
            p99 = Double(histogram.valueAtPercentile(99)) / 1000
            p999 = Double(histogram.valueAtPercentile(99.9)) / 1000
            maxLatency = Double(histogram.max) / 1000
            meanLatency = histogram.mean / 1000
        }
        let toolCPU = (end.toolCPU - start.toolCPU).total
        toolCPUPercent = 100 * toolCPU / seconds
        toolNanosecondsPerEvent = windowDelivered > 0 ? toolCPU * 1e9 / Double(windowDelivered) : 0
        if let brokerEnd = end.brokerCPU, let brokerStart = start.brokerCPU {
            let brokerCPU = (brokerEnd - brokerStart).total
            brokerCPUPercent = 100 * brokerCPU / seconds
            brokerNanosecondsPerEvent = windowDelivered > 0 ? brokerCPU * 1e9 / Double(windowDelivered) : 0
            if let machineEnd = end.machineCPU, let machineStart = start.machineCPU {
                let machine = machineEnd - machineStart
                otherCPUPercent = max(0, 100 * (machine.busySeconds - brokerCPU - toolCPU) / seconds)
                stealPercent = 100 * machine.stealSeconds / seconds
            }
        }
    }

    var summary: String {
        var line = "\(label.isEmpty ? "" : label + " ")\(workload) \(url) \(serializer)\(tls && !url.hasPrefix("rss") && !url.hasPrefix("wss") ? " tls" : "") pubs=\(publishers) subs=\(subscribers) payload=\(payloadBytes)"
        if topics > 1 { line += " topics=\(topics)" }
        if match != "exact" { line += " match=\(match)" }
        if subscriberSerializer != serializer { line += " subscribers=\(subscriberSerializer)" }
        if !subscriberURLs.isEmpty { line += " subscribers-at=\(subscriberURLs.joined(separator: ","))" }
        if let rate { line += " rate=\(rate)/s" }
        guard status != "unsupported" else { return line + ": UNSUPPORTED — \(note)" }
        line += ": delivered \(Int(deliveredPerSecond.rounded()))/s, published \(Int(publishedPerSecond.rounded()))/s"
        line += ", loss \(loss) of \(expected)"
        line += ", latency p50 \(String(format1: p50)) µs p99 \(String(format1: p99)) µs p99.9 \(String(format1: p999)) µs"
            + " max \(String(format1: maxLatency)) µs"
        if rate != nil { line += " (\(lateSends) sent >100 µs late, worst \(String(format1: maxSendDelay)) µs)" }
        if gaps > 0 { line += ", \(gaps) gaps" }
        line += " | tool CPU \(String(format1: toolCPUPercent))% (\(Int(toolNanosecondsPerEvent.rounded())) ns/event)"
        if let brokerCPUPercent, let brokerNanosecondsPerEvent {
            line += " | broker CPU \(String(format1: brokerCPUPercent))% (\(Int(brokerNanosecondsPerEvent.rounded())) ns/event)"
        }
        if let otherCPUPercent { line += " | others \(String(format1: otherCPUPercent))%" }
        if stalls > 0 { line += " | \(stalls) stalls" }
        if subscribers > 1 && (workload == "shared" || workload == "filters") {
            line += " | duplicates \(duplicates), misrouted \(misrouted), per subscriber \(subscriberMin)–\(subscriberMax)"
        }
        if status != "ok" || !note.isEmpty { line += " | \(status.uppercased()): \(note)" }
        return line
    }

    var json: String {
        var fields: [(String, String)] = [
            ("status", quoted(status)), ("note", quoted(note)), ("label", quoted(label)), ("url", quoted(url)),
            ("subscriber_urls", "[" + subscriberURLs.map { quoted($0) }.joined(separator: ",") + "]"),
            ("serializer", quoted(serializer)), ("tls", tls ? "true" : "false"),
            ("workload", quoted(workload)), ("publishers", "\(publishers)"), ("subscribers", "\(subscribers)"),
            ("payload_bytes", "\(payloadBytes)"), ("rate", rate.map { "\($0)" } ?? "null"), ("window", "\(window)"),
            ("seconds", number(seconds)), ("delivered_per_s", number(deliveredPerSecond)),
            ("published_per_s", number(publishedPerSecond)), ("window_delivered", "\(windowDelivered)"),
            ("window_published", "\(windowPublished)"), ("published_total", "\(published)"),
            ("expected_total", "\(expected)"), ("received_total", "\(received)"), ("loss", "\(loss)"),
            ("stalls", "\(stalls)"), ("publish_errors", "\(publishErrors)"),
            ("duplicates", "\(duplicates)"), ("misrouted", "\(misrouted)"), ("unknown_publications", "\(unknownPublications)"),
            ("out_of_order", "\(outOfOrder)"), ("gaps", "\(gaps)"), ("wrong_subscription", "\(wrongSubscription)"),
            ("topics", "\(topics)"), ("match", quoted(match)), ("subscriber_serializer", quoted(subscriberSerializer)),
            ("late_sends", "\(lateSends)"), ("max_send_delay_us", number(maxSendDelay)),
            ("subscriber_received_min", "\(subscriberMin)"), ("subscriber_received_max", "\(subscriberMax)"),
            ("latency_us", "{\"count\": \(latencyCount), \"p50\": \(number(p50)), \"p99\": \(number(p99)), "
                + "\"p99_9\": \(number(p999)), \"max\": \(number(maxLatency)), \"mean\": \(number(meanLatency))}"),
            ("tool_cpu_percent", number(toolCPUPercent)), ("tool_ns_per_event", number(toolNanosecondsPerEvent)),
            ("broker_cpu_percent", brokerCPUPercent.map(number) ?? "null"),
            ("broker_ns_per_event", brokerNanosecondsPerEvent.map(number) ?? "null"),
            ("broker_rss_kib", brokerRSSKiB.map { "\($0)" } ?? "null"),
            ("other_cpu_percent", otherCPUPercent.map(number) ?? "null"), ("steal_percent", stealPercent.map(number) ?? "null"),
        ]
        fields = fields.map { ("\"\($0.0)\"", $0.1) }
        return "{\n" + fields.map { "  \($0.0): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// JSON string text (the broker's one quoter).
    private func quoted(_ text: String) -> String { JSONWriter.quoted(text) }

    private func number(_ value: Double) -> String {
        value.isFinite ? String(format3: value) : "null"
    }
}

extension String {
    /// Fixed-point with one decimal, without Foundation.
    init(format1 value: Double) { self = fixedPoint(value, decimals: 1) }
    init(format3 value: Double) { self = fixedPoint(value, decimals: 3) }
}

private func fixedPoint(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return "\(value)" }
    let whole = UInt64(scaled)
    let unit = UInt64(scale)
    let fraction = String(whole % unit)
    let sign = value < 0 && whole != 0 ? "-" : ""
    return "\(sign)\(whole / unit).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}
