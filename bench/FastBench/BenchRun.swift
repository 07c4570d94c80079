// One benchmark run on one libuv loop: connect every session, subscribe, publish through a warm-up,
// measure a window, stop publishing and drain, then count exactly. Publishers are throttled by a
// window of outstanding deliveries (published × deliveries per publication − received), so the
// broker is kept busy without its queues merely filling up, and by their unacknowledged publications
// (every --ack-every-th PUBLISH asks for PUBLISHED). The latency workload paces publications at
// --rate without coordinated omission (RatePacer, PollSpinner). Every delivery is checked and
// counted by DeliveryLedger (order, duplicates, routing, subscription ids), which also says when a
// publication reached its last subscriber: that moment is its latency.

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
    /// Most deliveries outstanding: --window, but at least one publication's worth (1→10,000).
    let window: Int
    /// The publication URIs, written into every PUBLISH.
    private let topicNames: TopicNames

    // All fields below: owned by the loop thread.
    private(set) var publishers: [BenchConnection] = []
    private(set) var subscribers: [BenchConnection] = []
    private(set) var phase = Phase.connecting
    private var readySessions = 0
    private var subscribedCount = 0
    private var subscriptionsOwed = 0
    private var ticker: LoopTimer?
    private var spinner: PollSpinner?
    /// Rate-paced runs: the schedule, from the first publication.
    private(set) var pacer: RatePacer?
    private var phaseTimer: LoopTimer?
    private var prepare: PrepareHook?

    /// Publications written, all run long.
    var published: Int { ledger.published }
    /// Deliveries the broker owes: Σ deliveriesPerPublication over `published`.
    var expected: Int { ledger.published * deliveriesPerPublication }
    var received: Int { ledger.received }
    /// Deliveries given up as lost by the stall detector, so publishing can go on; the final loss
    /// is still expected − received.
    private var writtenOff = 0
    private(set) var stalls = 0
    private(set) var publishErrors = 0
    private var lastPublishError = ""
    private var nextPublisher = 0
    /// Latency of the publications sent (or scheduled, when paced) inside the measuring window, from
    /// that moment to the arrival at their last subscriber, nanoseconds.
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 100, highestTrackableValue: 120_000_000_000,
                                                   numberOfSignificantValueDigits: .three)
    private var lastProgressAt: UInt64 = 0
    private var receivedAtLastCheck = 0
    /// Snapshots at the edges of the measuring window.
    private(set) var windowStart = Snapshot()
    private(set) var windowEnd = Snapshot()
    private(set) var outcome: Outcome?
    /// Every delivery counted and checked. Owned by the loop thread.
    let ledger: DeliveryLedger

    struct Snapshot {
        var time: UInt64 = 0
        var published = 0
        var received = 0
        var toolCPU = CPUTime(userSeconds: 0, systemSeconds: 0)
        var brokerCPU: CPUTime?
        var brokerRSSKiB: Int?
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
        let rule: DeliveryRule
        switch options.workload {
        case .shared: rule = .anyOne
        case .filters: rule = .owner(topics: options.subscribers)
        default: rule = options.topics > 1 ? .owner(topics: options.topics) : .broadcast
        }
        ledger = DeliveryLedger(rule: rule, subscribers: options.subscribers, publishers: options.publishers,
                                topics: options.topics, inFlight: options.window)
        deliveriesPerPublication = ledger.deliveriesPerPublication
        window = max(options.window, deliveriesPerPublication)
        topicNames = TopicNames(base: options.match.publicationURI(topic: options.topic), topics: options.topics)
    }

    // MARK: Phases

    func start() {
        let scratchCapacity = options.payloadBytes + options.topic.utf8.count + 1024
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
            subscribers.append(BenchConnection(role: .subscriber(i), run: self, url: options.subscriberURL(i), scratchCapacity: scratchCapacity,
                                               tlsContext: tlsContext))
        }
        for i in 0..<options.publishers {
            publishers.append(BenchConnection(role: .publisher(i), run: self, url: options.url, scratchCapacity: scratchCapacity,
                                              tlsContext: tlsContext))
        }
        prepare = PrepareHook(loop: loop) { [unowned self] in self.pump() }
        let setupTimer = LoopTimer(loop: loop)
        phaseTimer = setupTimer
        // 30 s, plus 5 ms per connection and per subscription (10,000 connections, 100,000 topics).
        let setupMilliseconds = 30_000 + 5 * UInt64(options.publishers + options.subscribers + options.topics)
        setupTimer.start(milliseconds: setupMilliseconds) { [unowned self] in
            finish(.failed("set-up timed out: \(readySessions) of \(publishers.count + subscribers.count) sessions welcomed, "
                           + "\(subscribedCount) of \(max(subscriptionsOwed, subscribers.count)) subscriptions confirmed"))
        }
        for connection in subscribers + publishers { connection.start(loop: loop) }
    }

    func sessionReady(_ connection: BenchConnection) {
        readySessions += 1
        guard readySessions == publishers.count + subscribers.count, phase == .connecting else { return }
        phase = .subscribing
        if options.url.transport == .nats && options.workload == .filters {
            finish(.unsupported("NATS has no content-based subscription filters"))
            return
        }
        if options.topics == 1 {
            subscriptionsOwed = subscribers.count
            for (i, subscriber) in subscribers.enumerated() {
                subscriber.sendSubscribe(topic: options.match.subscriptionURI(topic: options.topic),
                                         options: options.match.subscribeOptions(options.workload.subscribeOptions(subscriberIndex: i)))
            }
            return
        }
        // Topic t to subscriber t mod subscribers, request id t + 1 (so SUBSCRIBED names the topic).
        subscriptionsOwed = options.topics
        for t in 0..<options.topics {
            subscribers[t % subscribers.count].sendSubscribe(topic: TopicNames.uri(base: options.topic, topic: t, topics: options.topics),
                                                             options: "{}", request: UInt64(t + 1), flushNow: false)
        }
        for subscriber in subscribers { subscriber.flush() }
    }

    func subscribed(_ connection: BenchConnection) {
        subscribedCount += 1
        let topic = options.topics == 1 ? 0 : Int(connection.subscribedRequest) - 1
        ledger.subscribed(subscriber: connection.subscriberIndex, topic: topic, subscription: connection.subscriptionID)
        guard subscribedCount == subscriptionsOwed, phase == .subscribing else { return }
        if options.settleSeconds > 0 {
            // The set-up timer now waits for the subscriptions to be in force on the other nodes.
            phaseTimer?.start(milliseconds: UInt64(options.settleSeconds * 1000)) { [unowned self] in startPublishing() }
            return
        }
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
        if options.workload.isRatePaced {
            pacer = RatePacer(start: now, rate: options.rate)
            spinner = PollSpinner(loop: loop)
        }
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
                 brokerRSSKiB: options.brokerPID.flatMap(ProcessMemory.residentKiB), machineCPU: MachineCPU.now())
    }

    /// Ends the run: closes every session and stops the loop. The first outcome wins.
    func finish(_ outcome: Outcome) {
        guard phase != .done else { return }
        if self.outcome == nil { self.outcome = outcome }
        if windowEnd.time == 0 && windowStart.time != 0 { windowEnd = snapshot() }
        phase = .done
        ticker?.close()
        spinner?.close()
        phaseTimer?.close()
        prepare?.close()
        for connection in publishers + subscribers { connection.close() }
        loop.stop()
    }

    // MARK: Per event

    @inline(__always)
    func eventArrived(_ stamp: EventStamp, at subscriber: BenchConnection, now: UInt64) {
        let last = ledger.delivered(publication: stamp.publication, subscriber: subscriber.subscriberIndex,
                                    subscription: stamp.subscription)
        if last && inMeasuredWindow(stamp.timestamp) {
            _ = histogram.record(now > stamp.timestamp ? now - stamp.timestamp : 0)
        }
    }

    /// Whether a publication sent (scheduled) at `time` belongs to the measuring window.
    @inline(__always)
    private func inMeasuredWindow(_ time: UInt64) -> Bool {
        windowStart.time != 0 && time >= windowStart.time && (windowEnd.time == 0 || time < windowEnd.time)
    }

    /// Runs once per loop iteration before the loop blocks: tops publishers up to the window,
    /// then flushes every publisher with pending output (one write per publisher per iteration;
    /// subscribers flush their few set-up messages and pongs themselves).
    private func pump() {
        if pacer != nil {
            if phase == .warmup || phase == .measuring || phase == .draining { pace() }
        } else if phase == .warmup || phase == .measuring {
            publishToWindow()
        }
        for publisher in publishers where publisher.pendingOutputBytes > 0 { publisher.flush() }
    }

    /// Publications the windows allow now, shared round-robin among publishers.
    private func publishToWindow() {
        let outstanding = expected - received - writtenOff
        var budget = deliveriesPerPublication > 0 ? (window - outstanding) / deliveriesPerPublication : 0
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
            let index = nextPublisher
            nextPublisher = nextPublisher + 1 == publishers.count ? 0 : nextPublisher + 1
            visited += 1
            var count = min(share, budget, publisherRoom(publishers[index]))
            budget -= count
            while count > 0 {
                publishOne(index, stamp: now)
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

    /// Publisher `index` publishes the next publication, stamped `stamp` (its send or scheduled time).
    @inline(__always)
    private func publishOne(_ index: Int, stamp: UInt64) {
        let publisher = publishers[index]
        let n = ledger.publish(by: index)
        let filterKey: Int? = options.workload.publishesFilterKey ? n % options.subscribers : nil
        publisher.publish(topic: topicNames.bytes(ofTopic: ledger.topic(ofPublication: n)), payloadBytes: options.payloadBytes,
                          timestamp: stamp, publication: UInt64(n),
                          acknowledge: publisher.nextSequence % UInt64(options.ackEvery) == 0, filterKey: filterKey)
    }

    /// Rate-paced publishing: every publication whose scheduled time has passed, stamped with that
    /// time. What the window or a backed-up socket holds back waits for the next iteration and is
    /// sent late (its latency includes the wait), never skipped. While draining, only what was
    /// scheduled inside the measuring window is still sent.
    private func pace() {
        let now = MonotonicClock.nanoseconds()
        let end: UInt64? = phase == .draining && windowEnd.time != 0 ? windowEnd.time : nil
        while let scheduled = pacer?.nextDue(now: now, end: end) {
            if let limit = options.publications, published >= limit {
                if phase != .draining { endMeasuring() }
                return
            }
            if expected - received - writtenOff + deliveriesPerPublication > window { return }
            let index = nextPublisher
            guard publisherRoom(publishers[index]) > 0 else { return }
            nextPublisher = nextPublisher + 1 == publishers.count ? 0 : nextPublisher + 1
            publishOne(index, stamp: scheduled)
            pacer?.didSend(scheduled: scheduled, now: now)
        }
    }

    /// Rate-paced drain: every publication scheduled inside the window has been sent.
    private var pacingCaughtUp: Bool {
        guard let pacer else { return true }
        if let limit = options.publications { return published >= limit }
        return windowEnd.time != 0 && pacer.scheduledTime(pacer.sent) >= windowEnd.time
    }

    /// Every millisecond: the stall detector and the end of the drain (pacing runs in `pump`).
    private func tick() {
        let now = MonotonicClock.nanoseconds()
        if received != receivedAtLastCheck {
            receivedAtLastCheck = received
            lastProgressAt = now
        }
        switch phase {
        case .warmup, .measuring:
            // A window that stays full with nothing arriving: the broker dropped events. Write
            // them off so publishing goes on; they are still counted as lost.
            let outstanding = expected - received - writtenOff
            if outstanding > 0 && now - lastProgressAt > 1_000_000_000 {
                writtenOff += outstanding
                stalls += 1
                lastProgressAt = now
            }
        case .draining:
            if (received >= expected && pacingCaughtUp) || now - lastProgressAt > UInt64(options.drainSeconds * 1e9) {
                finish(.completed)
            }
        default:
            break
        }
    }

    var lastPublishErrorText: String { lastPublishError }
}
