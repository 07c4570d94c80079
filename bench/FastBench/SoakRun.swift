// `fastbench soak`: issue 10's load on one libuv loop. Publishers number their publications
// (publication = publisher index << 40 | PUBLISH request id) and publish as fast as the healthy
// subscribers take it (a window of events outstanding per healthy subscriber) and their own
// sockets allow; every --ack-every-th PUBLISH asks for PUBLISHED. Healthy subscribers check each
// publisher's numbers arrive in order without gaps; slow subscribers read a few bytes per tick,
// and when the broker closes them (slow_consumer: disconnect) they reconnect. At the end every
// publisher sends an acknowledged sentinel: once PUBLISHED, everything it sent before was read
// by the broker, so each healthy subscriber must hold every publication up to the sentinel except
// those the broker refused with ERROR.

import BrokerLoop
import BrokerSecurity
import Glibc
import Histogram

final class SoakRun: BenchSessionOwner {
    enum Phase { case connecting, publishing, sentinels, draining, done }

    static let sequenceBits: UInt64 = 40
    static let sequenceMask: UInt64 = (1 << sequenceBits) - 1

    let options: SoakOptions
    let loop: EventLoop
    private let topicBytes: UnsafeMutableRawBufferPointer
    private let tlsContext: TLSClientContext?
    private let scratchCapacity: Int

    // All fields below: owned by the loop thread.
    private(set) var phase = Phase.connecting
    private(set) var publishers: [BenchConnection] = []
    /// Slots 0..<healthy are healthy subscribers, the rest slow; a slot is nil while reconnecting.
    private var subscribers: [BenchConnection?] = []
    private var welcomedPublishers = 0
    private var subscribedSlots = Set<Int>()
    private var prepare: PrepareHook?
    private var ticker: LoopTimer?
    private var slowTicker: LoopTimer?
    private var phaseTimer: LoopTimer?
    private var nextPublisher = 0

    private(set) var published = 0
    /// Per publisher: PUBLISHes refused with ERROR, the sentinel's request id (0 before), whether it
    /// was answered, and whether the publisher's connection failed.
    private(set) var refused: [Int]
    private(set) var sentinel: [UInt64]
    private var sentinelAnswered: [Bool]
    private var sentinelsPending = 0
    private(set) var publisherFailures = 0
    /// Per healthy subscriber × publisher: the next request id expected.
    private(set) var nextExpected: [UInt64]
    private(set) var healthyReceived: [Int]
    private(set) var healthyMissing: [Int]
    private(set) var healthyOutOfOrder: [Int]
    private(set) var healthyFailed: [String?]
    private var healthyReceivedTotal = 0
    private var writtenOff = 0
    private(set) var stalls = 0
    /// Per slow slot: events received over all its connections, closes by the broker.
    private(set) var slowReceived: [Int]
    private(set) var slowConsumerAborts = 0
    private(set) var slowOtherCloses = 0
    private(set) var slowReconnects = 0
    private(set) var failureNotes: [String] = []
    private var lastProgressAt: UInt64 = 0
    private var progressMark = 0
    /// When a slow subscriber last received anything (the drain waits for them to go quiet).
    private var lastSlowProgressAt: UInt64 = 0
    private var slowProgressMark = 0
    /// Healthy event latency (publisher's stamp to arrival), nanoseconds, whole run.
    private(set) var latency = Histogram<UInt64>(lowestDiscernibleValue: 1000, highestTrackableValue: 600_000_000_000,
                                                 numberOfSignificantValueDigits: .two)
    /// Wall-clock seconds (CLOCK_REALTIME) of the phase edges, for bench/soak.sh's RSS timeline.
    private(set) var wallLoadStart = 0.0
    private(set) var wallLoadEnd = 0.0
    private(set) var wallDone = 0.0
    private(set) var outcome = "ok"

    init(options: SoakOptions, loop: EventLoop) throws {
        self.options = options
        self.loop = loop
        let utf8 = Array(options.topic.utf8)
        topicBytes = .allocate(byteCount: utf8.count, alignment: 1)
        topicBytes.copyBytes(from: utf8)
        tlsContext = options.url.tls ? try TLSClientContext(caPath: nil) : nil
        scratchCapacity = options.payloadBytes + utf8.count + 512
        let p = options.publishers, h = options.healthySubscribers
        refused = Array(repeating: 0, count: p)
        sentinel = Array(repeating: 0, count: p)
        sentinelAnswered = Array(repeating: false, count: p)
        nextExpected = Array(repeating: 1, count: p * h)
        healthyReceived = Array(repeating: 0, count: h)
        healthyMissing = Array(repeating: 0, count: h)
        healthyOutOfOrder = Array(repeating: 0, count: h)
        healthyFailed = Array(repeating: nil, count: h)
        slowReceived = Array(repeating: 0, count: options.slowSubscribers)
    }

    deinit { topicBytes.deallocate() }

    static func wallClock() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    private func isHealthy(_ slot: Int) -> Bool { slot < options.healthySubscribers }

    // MARK: Set-up

    func start() {
        for slot in 0..<(options.healthySubscribers + options.slowSubscribers) { subscribers.append(connectSubscriber(slot)) }
        for i in 0..<options.publishers {
            let publisher = BenchConnection(role: .publisher(i), run: self, url: options.url, scratchCapacity: scratchCapacity,
                                            tlsContext: tlsContext)
            publishers.append(publisher)
            publisher.start(loop: loop)
        }
        prepare = PrepareHook(loop: loop) { [unowned self] in pump() }
        let timer = LoopTimer(loop: loop)
        phaseTimer = timer
        timer.start(milliseconds: 60_000) { [unowned self] in
            fail("set-up timed out: \(welcomedPublishers) of \(publishers.count) publishers welcomed, "
                 + "\(subscribedSlots.count) of \(subscribers.count) subscribers subscribed")
        }
    }

    private func connectSubscriber(_ slot: Int) -> BenchConnection {
        let connection = BenchConnection(role: .subscriber(slot), run: self, url: options.url, scratchCapacity: scratchCapacity,
                                         tlsContext: tlsContext)
        if !isHealthy(slot) { connection.allowReading(options.slowReadBytes) }
        connection.start(loop: loop)
        return connection
    }

    func sessionReady(_ connection: BenchConnection) {
        switch connection.role {
        case .publisher:
            welcomedPublishers += 1
            maybeStartPublishing()
        case .subscriber:
            connection.sendSubscribe(topic: options.topic, options: "{}")
        }
    }

    func subscribed(_ connection: BenchConnection) {
        subscribedSlots.insert(connection.subscriberIndex)
        maybeStartPublishing()
    }

    private func maybeStartPublishing() {
        guard phase == .connecting, welcomedPublishers == publishers.count, subscribedSlots.count == subscribers.count else { return }
        phase = .publishing
        wallLoadStart = SoakRun.wallClock()
        lastProgressAt = MonotonicClock.nanoseconds()
        let ticker = LoopTimer(loop: loop)
        self.ticker = ticker
        ticker.start(milliseconds: 10, repeatMilliseconds: 10) { [unowned self] in tick() }
        let slowTicker = LoopTimer(loop: loop)
        self.slowTicker = slowTicker
        let interval = UInt64(options.slowReadMilliseconds)
        slowTicker.start(milliseconds: interval, repeatMilliseconds: interval) { [unowned self] in
            for slot in options.healthySubscribers..<subscribers.count { subscribers[slot]?.allowReading(options.slowReadBytes) }
        }
        phaseTimer?.start(milliseconds: UInt64(options.durationSeconds * 1000)) { [unowned self] in sendSentinels() }
    }

    func subscribeRefused(_ connection: BenchConnection, uri: String, details: String) {
        fail("\(connection.roleDescription): SUBSCRIBE refused: \(uri) \(details)")
    }

    func publishRefused(_ connection: BenchConnection, request: UInt64, uri: String, details: String) {
        guard case .publisher(let index) = connection.role else { return }
        refused[index] += 1
        if failureNotes.count < 20 { failureNotes.append("publisher \(index) request \(request) refused: \(uri) \(details)") }
        if request == sentinel[index] && !sentinelAnswered[index] { sentinelDone(index) }
    }

    func connectionFailed(_ connection: BenchConnection, _ reason: String) {
        if failureNotes.count < 20 { failureNotes.append("\(connection.roleDescription): \(reason)") }
        switch connection.role {
        case .publisher(let index):
            publisherFailures += 1
            if phase == .connecting { fail("\(connection.roleDescription): \(reason)") }
            if sentinel[index] != 0 && !sentinelAnswered[index] { sentinelDone(index) }
        case .subscriber(let slot):
            if phase == .connecting { fail("\(connection.roleDescription): \(reason)") }
            if isHealthy(slot) {
                healthyFailed[slot] = reason
                return
            }
            if reason.contains("fastbroker.error.slow_consumer") { slowConsumerAborts += 1 } else { slowOtherCloses += 1 }
            subscribers[slot] = nil
            guard options.reconnectMilliseconds > 0, phase == .publishing else { return }
            let timer = LoopTimer(loop: loop)
            timer.start(milliseconds: UInt64(options.reconnectMilliseconds)) { [unowned self] in
                timer.close()
                guard phase == .publishing || phase == .sentinels else { return }
                slowReconnects += 1
                subscribers[slot] = connectSubscriber(slot)
            }
        }
    }

    // MARK: Per event

    @inline(__always)
    func eventArrived(_ stamp: EventStamp, at subscriber: BenchConnection, now: UInt64) {
        let slot = subscriber.subscriberIndex
        guard isHealthy(slot) else {
            slowReceived[slot - options.healthySubscribers] += 1
            return
        }
        healthyReceived[slot] += 1
        healthyReceivedTotal += 1
        if now > stamp.timestamp { _ = latency.record(now - stamp.timestamp) }
        let publisher = Int(stamp.publication >> SoakRun.sequenceBits)
        let sequence = stamp.publication & SoakRun.sequenceMask
        guard publisher < options.publishers else {
            healthyOutOfOrder[slot] += 1
            return
        }
        let index = slot * options.publishers + publisher
        let expected = nextExpected[index]
        if sequence == expected {
            nextExpected[index] = expected + 1
        } else if sequence > expected {
            healthyMissing[slot] += Int(sequence - expected)
            nextExpected[index] = sequence + 1
        } else {
            healthyOutOfOrder[slot] += 1
        }
    }

    // MARK: Publishing

    /// Once per loop iteration: publications the window allows, round-robin, then one flush per
    /// connection with pending output.
    private func pump() {
        if phase == .publishing { publishToWindow() }
        for publisher in publishers where publisher.pendingOutputBytes > 0 { publisher.flush() }
        for case let subscriber? in subscribers where subscriber.pendingOutputBytes > 0 { subscriber.flush() }
    }

    private func publishToWindow() {
        let healthy = options.healthySubscribers
        let outstanding = published * healthy - healthyReceivedTotal - writtenOff
        var budget = (healthy * options.windowPerSubscriber - outstanding) / healthy
        guard budget > 0 else { return }
        let share = max(1, min(64, budget / publishers.count))
        let now = MonotonicClock.nanoseconds()
        var visited = 0
        while budget > 0 && visited < publishers.count {
            let publisher = publishers[nextPublisher]
            let index = nextPublisher
            nextPublisher = nextPublisher + 1 == publishers.count ? 0 : nextPublisher + 1
            visited += 1
            var count = min(share, budget, room(publisher))
            budget -= count
            while count > 0 {
                publishOne(publisher, index: index, acknowledge: publisher.nextSequence % UInt64(options.ackEvery) == 0, now: now)
                count -= 1
            }
        }
    }

    /// Bounded by unacknowledged publications and by bytes waiting for the socket (the broker's
    /// backpressure: a publisher it stops reading publishes less).
    @inline(__always)
    private func room(_ publisher: BenchConnection) -> Int {
        guard publisher.isWelcomed, publisher.isOpen else { return 0 }
        let unacknowledged = Int(publisher.nextSequence - 1 - publisher.lastAcknowledged)
        let bytesRoom = publisher.writeInFlight || publisher.pendingOutputBytes > 1 << 16 ? 0 : 64
        return max(0, min(2 * options.ackEvery - unacknowledged, bytesRoom))
    }

    @inline(__always)
    private func publishOne(_ publisher: BenchConnection, index: Int, acknowledge: Bool, now: UInt64) {
        let number = UInt64(index) << SoakRun.sequenceBits | publisher.nextSequence
        publisher.publish(topic: UnsafeRawBufferPointer(topicBytes), payloadBytes: options.payloadBytes, timestamp: now,
                          publication: number, acknowledge: acknowledge, filterKey: nil)
        published += 1
    }

    /// The end of the publishing time: one acknowledged PUBLISH per publisher still connected.
    private func sendSentinels() {
        guard phase == .publishing else { return }
        phase = .sentinels
        wallLoadEnd = SoakRun.wallClock()
        let now = MonotonicClock.nanoseconds()
        for (index, publisher) in publishers.enumerated() {
            guard publisher.isOpen, publisher.isWelcomed else {
                sentinelAnswered[index] = true
                continue
            }
            sentinel[index] = publisher.nextSequence
            sentinelsPending += 1
            publishOne(publisher, index: index, acknowledge: true, now: now)
        }
        phaseTimer?.start(milliseconds: 30_000) { [unowned self] in
            if failureNotes.count < 20 { failureNotes.append("\(sentinelsPending) sentinels unanswered after 30 s") }
            startDraining()
        }
        if sentinelsPending == 0 { startDraining() }
    }

    /// PUBLISHED arrives through BenchConnection.lastAcknowledged; checked in tick().
    private func sentinelDone(_ index: Int) {
        sentinelAnswered[index] = true
        sentinelsPending -= 1
        if sentinelsPending == 0 && phase == .sentinels { startDraining() }
    }

    private func startDraining() {
        guard phase == .sentinels else { return }
        phase = .draining
        phaseTimer?.close()
        lastProgressAt = MonotonicClock.nanoseconds()
        // Slow readers may now read freely: what the broker dropped or queued is already decided.
        for slot in options.healthySubscribers..<subscribers.count { subscribers[slot]?.allowReading(nil) }
    }

    /// Every 10 ms: sentinel acknowledgements, the stall detector, the end of the drain.
    private func tick() {
        let now = MonotonicClock.nanoseconds()
        let slowProgress = slowReceived.reduce(0, +)
        if healthyReceivedTotal + slowProgress != progressMark {
            progressMark = healthyReceivedTotal + slowProgress
            lastProgressAt = now
        }
        if slowProgress != slowProgressMark {
            slowProgressMark = slowProgress
            lastSlowProgressAt = now
        }
        switch phase {
        case .publishing:
            // A full window with nothing arriving for a second: the broker dropped healthy events.
            // Write them off so publishing goes on; the gaps are still counted.
            let outstanding = published * options.healthySubscribers - healthyReceivedTotal - writtenOff
            if outstanding > 0 && now - lastProgressAt > 1_000_000_000 {
                writtenOff += outstanding
                stalls += 1
                lastProgressAt = now
            }
        case .sentinels:
            for (index, publisher) in publishers.enumerated()
            where sentinel[index] != 0 && !sentinelAnswered[index] && publisher.lastAcknowledged >= sentinel[index] {
                sentinelDone(index)
            }
        case .draining:
            // Slow subscribers read freely now: wait until they are quiet (their queues and socket
            // buffers read, the broker's ABORT seen) so drops and closes can be counted.
            let slowQuiet = now - lastSlowProgressAt > 1_000_000_000
            if (healthyComplete() && slowQuiet) || now - lastProgressAt > UInt64(options.drainSeconds * 1e9) { finish() }
        default:
            break
        }
    }

    private func healthyComplete() -> Bool {
        let owed = accepted
        return healthyReceived.allSatisfy { $0 >= owed }
    }

    private func fail(_ note: String) {
        outcome = "error"
        failureNotes.append(note)
        finish()
    }

    private func finish() {
        guard phase != .done else { return }
        phase = .done
        wallDone = SoakRun.wallClock()
        if wallLoadEnd == 0 { wallLoadEnd = wallDone }
        ticker?.close()
        slowTicker?.close()
        phaseTimer?.close()
        prepare?.close()
        for connection in publishers { connection.close() }
        for case let connection? in subscribers { connection.close() }
        loop.stop()
    }
}
