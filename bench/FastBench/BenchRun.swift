// One benchmark run on one libuv loop: connect every session, subscribe, publish through a warm-up,
// measure a window, stop publishing and drain, then count exactly. Publishers are throttled by a
// window of outstanding deliveries (published × deliveries per publication − received), so the
// broker is kept busy without its queues merely filling up, and by their unacknowledged publications
// (every --ack-every-th PUBLISH asks for PUBLISHED). The latency workload paces publications at --rate.
// Where each publication must reach exactly one subscriber (shared, filters), every delivery is
// also checked against the publication number it carries (DeliveryCheck).

import BrokerLoop
import BrokerSecurity
import Histogram

final class BenchRun: BenchSessionOwner {
    enum Phase: Equatable {
        case connecting, subscribing, warmup, measuring, draining, done
    }

    let options: BenchOptions
    let loop: EventLoop
    let deliveriesPerPublication: Int
    /// The topic's UTF-8 bytes, kept for the life of the run (written into every PUBLISH).
    private let topicBytes: UnsafeMutableRawBufferPointer

    // All fields below: owned by the loop thread.
    private(set) var publishers: [BenchConnection] = []
    private(set) var subscribers: [BenchConnection] = []
    private(set) var phase = Phase.connecting
    private var readySessions = 0
    private var subscribedCount = 0
    private var ticker: LoopTimer?
    private var phaseTimer: LoopTimer?
    private var prepare: PrepareHook?

    /// Publications written, all run long.
    private(set) var published = 0
    /// Deliveries the broker owes: Σ deliveriesPerPublication over `published`.
    private(set) var expected = 0
    private(set) var received = 0
    /// Deliveries given up as lost by the stall detector, so publishing can go on; the final loss
    /// is still expected − received.
    private var writtenOff = 0
    private(set) var stalls = 0
    private(set) var publishErrors = 0
    private var lastPublishError = ""
    private var nextPublisher = 0
    /// Latency of events arriving inside the measuring window, nanoseconds.
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 100, highestTrackableValue: 120_000_000_000,
                                                   numberOfSignificantValueDigits: .three)
    private var lastProgressAt: UInt64 = 0
    private var receivedAtLastCheck = 0
    private var pacingStartedAt: UInt64 = 0
    private var pacedCount = 0
    /// Snapshots at the edges of the measuring window.
    private(set) var windowStart = Snapshot()
    private(set) var windowEnd = Snapshot()
    private(set) var outcome: Outcome?
    /// Duplicate and misrouted deliveries (shared, filters only). Owned by the loop thread.
    let deliveryCheck = DeliveryCheck()
    private let checksDeliveries: Bool
    private let routesBySubscriber: Bool

    struct Snapshot {
        var time: UInt64 = 0
        var published = 0
        var received = 0
        var toolCPU = CPUTime(userSeconds: 0, systemSeconds: 0)
        var brokerCPU: CPUTime?
        var machineCPU: MachineCPU?
    }

    enum Outcome {
        case completed
        case unsupported(String)
        case failed(String)
    }

    init(options: BenchOptions, loop: EventLoop) {
        self.options = options
        self.loop = loop
        deliveriesPerPublication = options.workload.deliveriesPerPublication(subscribers: options.subscribers)
        checksDeliveries = deliveriesPerPublication == 1 && options.subscribers > 1
        routesBySubscriber = options.workload.publishesFilterKey
        let utf8 = Array(options.topic.utf8)
        topicBytes = .allocate(byteCount: utf8.count, alignment: 1)
        topicBytes.copyBytes(from: utf8)
    }

    deinit { topicBytes.deallocate() }

    // MARK: Phases

    func start() {
        let scratchCapacity = options.payloadBytes + options.topic.utf8.count + 512
        var tlsContext: TLSClientContext?
        if options.url.tls {
            do {
                tlsContext = try TLSClientContext(caPath: options.caPath)
            } catch {
                outcome = .failed("cannot set up TLS: \(error)")
                phase = .done
                loop.stop()
                return
            }
        }
        for i in 0..<options.subscribers {
            subscribers.append(BenchConnection(role: .subscriber(i), run: self, url: options.url, scratchCapacity: scratchCapacity,
                                               tlsContext: tlsContext))
        }
        for i in 0..<options.publishers {
            publishers.append(BenchConnection(role: .publisher(i), run: self, url: options.url, scratchCapacity: scratchCapacity,
                                              tlsContext: tlsContext))
        }
        prepare = PrepareHook(loop: loop) { [unowned self] in self.pump() }
        let setupTimer = LoopTimer(loop: loop)
        phaseTimer = setupTimer
        setupTimer.start(milliseconds: 30_000) { [unowned self] in
            finish(.failed("set-up timed out: \(readySessions) of \(publishers.count + subscribers.count) sessions welcomed, "
                           + "\(subscribedCount) of \(subscribers.count) subscribed"))
        }
        for connection in subscribers + publishers { connection.start(loop: loop) }
    }

    func sessionReady(_ connection: BenchConnection) {
        readySessions += 1
        guard readySessions == publishers.count + subscribers.count, phase == .connecting else { return }
        phase = .subscribing
        for (i, subscriber) in subscribers.enumerated() {
            subscriber.sendSubscribe(topic: options.topic, options: options.workload.subscribeOptions(subscriberIndex: i))
        }
    }

    func subscribed(_ connection: BenchConnection) {
        subscribedCount += 1
        guard subscribedCount == subscribers.count, phase == .subscribing else { return }
        startPublishing()
    }

    func subscribeRefused(_ connection: BenchConnection, uri: String, details: String) {
        finish(.unsupported("SUBSCRIBE with \(options.workload.subscribeOptions(subscriberIndex: 0)) refused: \(uri) \(details)"))
    }

    func publishRefused(_ connection: BenchConnection, request: UInt64, uri: String, details: String) {
        publishErrors += 1
        lastPublishError = "\(uri) \(details)"
    }

    func connectionFailed(_ connection: BenchConnection, _ reason: String) {
        finish(.failed("\(connection.roleDescription): \(reason)"))
    }

    private func startPublishing() {
        phase = .warmup
        let now = MonotonicClock.nanoseconds()
        lastProgressAt = now
        pacingStartedAt = now
        let ticker = LoopTimer(loop: loop)
        self.ticker = ticker
        ticker.start(milliseconds: 1, repeatMilliseconds: 1) { [unowned self] in self.tick() }
        phaseTimer?.close()
        let timer = LoopTimer(loop: loop)
        phaseTimer = timer
        if options.publications != nil {
            beginMeasuring()
            return
        }
        timer.start(milliseconds: UInt64(options.warmupSeconds * 1000)) { [unowned self] in
            beginMeasuring()
        }
    }

    private func beginMeasuring() {
        histogram.reset()
        windowStart = snapshot()
        phase = .measuring
        if options.publications != nil { return }   // ends when the count is reached (publishToWindow)
        phaseTimer?.start(milliseconds: UInt64(options.durationSeconds * 1000)) { [unowned self] in
            endMeasuring()
        }
    }

    /// In --publications mode the window runs through the drain: it ends in `finish`.
    private func endMeasuring() {
        if options.publications == nil { windowEnd = snapshot() }
        phase = .draining
        lastProgressAt = MonotonicClock.nanoseconds()
        receivedAtLastCheck = received
    }

    private func snapshot() -> Snapshot {
        Snapshot(time: MonotonicClock.nanoseconds(), published: published, received: received,
                 toolCPU: CPUTime.ofThisProcess(), brokerCPU: options.brokerPID.flatMap(CPUTime.ofProcess),
                 machineCPU: MachineCPU.now())
    }

    /// Ends the run: closes every session and stops the loop. The first outcome wins.
    func finish(_ outcome: Outcome) {
        guard phase != .done else { return }
        if self.outcome == nil { self.outcome = outcome }
        if windowEnd.time == 0 && windowStart.time != 0 { windowEnd = snapshot() }
        phase = .done
        ticker?.close()
        phaseTimer?.close()
        prepare?.close()
        for connection in publishers + subscribers { connection.close() }
        loop.stop()
    }

    // MARK: Per event

    @inline(__always)
    func eventArrived(_ stamp: EventStamp, at subscriber: BenchConnection, now: UInt64) {
        received += 1
        if phase == .measuring && now > stamp.timestamp {
            _ = histogram.record(now - stamp.timestamp)
        }
        if checksDeliveries {
            deliveryCheck.record(publication: stamp.publication, published: published, subscriberIndex: subscriber.subscriberIndex,
                                 subscribers: options.subscribers, routeBySubscriber: routesBySubscriber)
        }
    }

    /// Runs once per loop iteration before the loop blocks: tops publishers up to the window,
    /// then flushes every session with pending output (one write per session per iteration).
    private func pump() {
        if (phase == .warmup || phase == .measuring) {
            if options.workload.isRatePaced { pace() } else { publishToWindow() }
        }
        for publisher in publishers where publisher.pendingOutputBytes > 0 { publisher.flush() }
        for subscriber in subscribers where subscriber.pendingOutputBytes > 0 { subscriber.flush() }
    }

    /// Publications the windows allow now, shared round-robin among publishers.
    private func publishToWindow() {
        let outstanding = expected - received - writtenOff
        var budget = deliveriesPerPublication > 0 ? (options.window - outstanding) / deliveriesPerPublication : 0
        if let limit = options.publications {
            budget = min(budget, limit - published)
            if published == limit {
                endMeasuring()
                return
            }
        }
        guard budget > 0 else { return }
        let share = max(1, min(1024, budget / publishers.count))
        let now = MonotonicClock.nanoseconds()
        var visited = 0
        while budget > 0 && visited < publishers.count {
            let publisher = publishers[nextPublisher]
            nextPublisher = nextPublisher + 1 == publishers.count ? 0 : nextPublisher + 1
            visited += 1
            var count = min(share, budget, publisherRoom(publisher))
            budget -= count
            while count > 0 {
                publishOne(publisher, at: now)
                count -= 1
            }
        }
    }

    /// How many more publications `publisher` may write: bounded by its unacknowledged publications
    /// and by the bytes already waiting for its socket.
    @inline(__always)
    private func publisherRoom(_ publisher: BenchConnection) -> Int {
        let unacknowledged = Int(publisher.nextSequence - 1 - publisher.lastAcknowledged)
        let acknowledgementRoom = max(2 * options.ackEvery, options.window) - unacknowledged
        let bytesRoom = publisher.writeInFlight || publisher.pendingOutputBytes > 1 << 20 ? 0 : 1024
        return max(0, min(acknowledgementRoom, bytesRoom))
    }

    @inline(__always)
    private func publishOne(_ publisher: BenchConnection, at now: UInt64) {
        let filterKey: Int? = options.workload.publishesFilterKey ? published % options.subscribers : nil
        publisher.publish(topic: UnsafeRawBufferPointer(topicBytes), payloadBytes: options.payloadBytes, timestamp: now,
                          publication: UInt64(published), acknowledge: publisher.nextSequence % UInt64(options.ackEvery) == 0, filterKey: filterKey)
        published += 1
        expected += deliveriesPerPublication
    }

    /// Rate-paced publishing: whatever is due since pacing began, still capped by the window.
    private func pace() {
        let now = MonotonicClock.nanoseconds()
        var due = Int(Double(now - pacingStartedAt) * Double(options.rate) / 1e9) - pacedCount
        if let limit = options.publications {
            if published == limit {
                endMeasuring()
                return
            }
            due = min(due, limit - published)
        }
        guard due > 0 else { return }
        for _ in 0..<due {
            if expected - received - writtenOff >= options.window { break }
            let publisher = publishers[nextPublisher]
            nextPublisher = nextPublisher + 1 == publishers.count ? 0 : nextPublisher + 1
            publishOne(publisher, at: now)
        }
        // What the window held back is skipped, not sent in a burst later.
        pacedCount += due
    }

    /// Every millisecond: pacing, the stall detector, and the end of the drain.
    private func tick() {
        let now = MonotonicClock.nanoseconds()
        if received != receivedAtLastCheck {
            receivedAtLastCheck = received
            lastProgressAt = now
        }
        switch phase {
        case .warmup, .measuring:
            if options.workload.isRatePaced { pace() }
            // A window that stays full with nothing arriving: the broker dropped events. Write
            // them off so publishing goes on; they are still counted as lost.
            let outstanding = expected - received - writtenOff
            if outstanding > 0 && now - lastProgressAt > 1_000_000_000 {
                writtenOff += outstanding
                stalls += 1
                lastProgressAt = now
            }
        case .draining:
            if received >= expected || now - lastProgressAt > UInt64(options.drainSeconds * 1e9) {
                finish(.completed)
            }
        default:
            break
        }
    }

    var lastPublishErrorText: String { lastPublishError }
}
