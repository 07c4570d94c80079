// `--workload setups`: session set-ups per second. --concurrency connections at a time each go
// through TCP connect, the transport handshake, HELLO and (with --authid/--secret) WAMP-CRA's
// CHALLENGE/AUTHENTICATE to WELCOME; at WELCOME the connection is closed and a fresh one started.
// Reports set-ups completed per second in the measured window and the set-up time (connect to
// WELCOME) percentiles. Any refusal (ABORT, a closed connection before WELCOME) fails the run.

import BrokerLoop
import BrokerSecurity
import BrokerSerialization
import Histogram

final class SetupRun: BenchSessionOwner {
    let options: BenchOptions
    let loop: EventLoop

    // All fields below: owned by the loop thread.
    /// Start time of each connection being set up.
    private var startedAt: [ObjectIdentifier: UInt64] = [:]
    private var tlsContext: TLSClientContext?
    private var phaseTimer: LoopTimer?
    private var measuring = false
    private var done = false
    private(set) var windowStart: UInt64 = 0
    private(set) var windowEnd: UInt64 = 0
    private(set) var completed = 0
    private(set) var failure: String?
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1000, highestTrackableValue: 60_000_000_000,
                                                   numberOfSignificantValueDigits: .three)
    private var windowCPU = (start: CPUTime(userSeconds: 0, systemSeconds: 0), end: CPUTime(userSeconds: 0, systemSeconds: 0))
    private var brokerCPU: (start: CPUTime?, end: CPUTime?)

    init(options: BenchOptions, loop: EventLoop) {
        self.options = options
        self.loop = loop
    }

    func start() {
        if options.url.tls {
            do {
                tlsContext = try TLSClientContext(caPath: options.caPath)
            } catch {
                failure = "cannot set up TLS: \(error)"
                loop.stop()
                return
            }
        }
        for _ in 0..<options.concurrency { connect() }
        let timer = LoopTimer(loop: loop)
        phaseTimer = timer
        timer.start(milliseconds: UInt64(options.warmupSeconds * 1000)) { [unowned self] in
            measuring = true
            windowStart = MonotonicClock.nanoseconds()
            windowCPU.start = CPUTime.ofThisProcess()
            brokerCPU.start = options.brokerPID.flatMap(CPUTime.ofProcess)
            timer.start(milliseconds: UInt64(options.durationSeconds * 1000)) { [unowned self] in finish(nil) }
        }
    }

    private func connect() {
        let connection = BenchConnection(role: .publisher(0), run: self, url: options.url, scratchCapacity: 4096,
                                         tlsContext: tlsContext)
        startedAt[ObjectIdentifier(connection)] = MonotonicClock.nanoseconds()
        connection.start(loop: loop)
    }

    private func finish(_ reason: String?) {
        guard !done else { return }
        done = true
        failure = reason
        windowEnd = MonotonicClock.nanoseconds()
        windowCPU.end = CPUTime.ofThisProcess()
        brokerCPU.end = options.brokerPID.flatMap(CPUTime.ofProcess)
        phaseTimer?.close()
        loop.stop()
    }

    func sessionReady(_ connection: BenchConnection) {
        let now = MonotonicClock.nanoseconds()
        let began = startedAt.removeValue(forKey: ObjectIdentifier(connection)) ?? now
        connection.close()
        guard !done else { return }
        if measuring {
            completed += 1
            _ = histogram.record(now - began)
        }
        connect()
    }

    func connectionFailed(_ connection: BenchConnection, _ reason: String) {
        startedAt.removeValue(forKey: ObjectIdentifier(connection))
        finish("session set-up failed: \(reason)")
    }

    func subscribed(_ connection: BenchConnection) {}
    func subscribeRefused(_ connection: BenchConnection, uri: String, details: String) {}
    func publishRefused(_ connection: BenchConnection, request: UInt64, uri: String, details: String) {}
    func eventArrived(_ stamp: EventStamp, at subscriber: BenchConnection, now: UInt64) {}

    /// The result as one line and as JSON (the fields compare.sh reads; `setups_per_s` instead of delivered/s).
    var report: (summary: String, json: String, ok: Bool) {
        let seconds = windowEnd > windowStart && windowStart != 0 ? Double(windowEnd - windowStart) / 1e9 : 0
        let rate = seconds > 0 ? Double(completed) / seconds : 0
        let status = failure == nil ? "ok" : "error"
        func us(_ percentile: Double) -> Double { histogram.totalCount > 0 ? Double(histogram.valueAtPercentile(percentile)) / 1000 : 0 }
        let toolPercent = seconds > 0 ? 100 * (windowCPU.end - windowCPU.start).total / seconds : 0
        var brokerNs = "null"
        if let start = brokerCPU.start, let end = brokerCPU.end, completed > 0 {
            brokerNs = String(format3: (end - start).total * 1e9 / Double(completed))
        }
        let auth = options.url.authid == nil ? "anonymous" : "wampcra"
        let summary = "\(options.label.isEmpty ? "" : options.label + " ")setups \(options.url.text) \(options.url.serializer.rawValue) \(auth) "
            + "concurrency=\(options.concurrency): \(Int(rate.rounded())) set-ups/s, set-up time p50 \(String(format1: us(50))) µs "
            + "p99 \(String(format1: us(99))) µs max \(String(format1: Double(histogram.max) / 1000)) µs"
            + " | tool CPU \(String(format1: toolPercent))%" + (failure.map { " | ERROR: \($0)" } ?? "")
        var note: [UInt8] = []
        JSONWriter.appendValue(.string(failure ?? ""), to: &note)
        let json = """
        {
          "status": "\(status)", "note": \(String(decoding: note, as: UTF8.self)), "label": "\(options.label)",
          "workload": "setups", "url": "\(options.url.text)", "serializer": "\(options.url.serializer.rawValue)", "auth": "\(auth)",
          "concurrency": \(options.concurrency), "seconds": \(String(format3: seconds)), "setups": \(completed),
          "setups_per_s": \(String(format3: rate)), "delivered_per_s": \(String(format3: rate)),
          "setup_us": {"count": \(histogram.totalCount), "p50": \(String(format3: us(50))), "p99": \(String(format3: us(99))),
                       "p99_9": \(String(format3: us(99.9))), "max": \(String(format3: Double(histogram.max) / 1000))},
          "tool_cpu_percent": \(String(format3: toolPercent)), "broker_ns_per_setup": \(brokerNs)
        }

        """
        return (summary, json, failure == nil)
    }
}
