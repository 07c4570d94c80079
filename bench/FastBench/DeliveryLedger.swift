// Exact accounting of a run's deliveries, kept apart from the sockets so a test can feed it a
// made-up message sequence (Tests/FastBenchTests). Per publication it knows who published it and
// how many deliveries it still owes, so the run times the LAST subscriber to receive each
// publication. Per delivery it checks the subscription id against the one the broker gave that
// subscriber for the publication's topic, and:
// - broadcast workloads (every subscriber gets every publication): each subscriber must see each
//   publisher's publications in order, one after the next — a repeat or a step back is
//   `outOfOrder` (a duplicate or a reordering), a step over is `gaps` (events lost at that subscriber);
// - single-delivery workloads (shared group, filters, many topics): DeliveryCheck's bitmap catches
//   a publication delivered twice, and the owner rule a delivery to the wrong subscriber.

/// Who must receive publication n.
enum DeliveryRule: Equatable {
    /// Every subscriber (1to1, fanout, nton, latency).
    case broadcast
    /// Exactly one subscriber, any of them (a shared subscription group).
    case anyOne
    /// Exactly subscriber (n mod topics) mod subscribers: filters (topics = subscribers), or
    /// publications spread over `topics` topics, topic t subscribed by subscriber t mod subscribers.
    case owner(topics: Int)
}

final class DeliveryLedger {
    let rule: DeliveryRule
    let subscribers: Int
    let publishers: Int
    /// Topics publications are spread over (publication n goes to topic n mod topics).
    let topics: Int
    let deliveriesPerPublication: Int

    // All fields below: owned by the loop thread.
    /// Ring of the publications that may still be in flight, indexed by n & mask.
    private let mask: Int
    private let slotPublication: UnsafeMutablePointer<Int>
    private let slotArrivals: UnsafeMutablePointer<Int32>
    private let slotPublisher: UnsafeMutablePointer<Int32>
    /// The publication's number among its publisher's own (0, 1, 2… per publisher).
    private let slotSequence: UnsafeMutablePointer<Int>
    private var publishedBy: [Int]
    /// Broadcast: last sequence seen per (subscriber, publisher), -1 before the first.
    private var lastSeen: [Int]
    /// Per subscriber: subscription id → topic index, from SUBSCRIBED.
    private var subscriptionTopic: [[UInt64: Int]]
    /// Per subscriber, with one topic: its one subscription id (no dictionary look-up per event).
    private var singleSubscription: [UInt64?]
    private let singleDelivery = DeliveryCheck()

    private(set) var published = 0
    private(set) var received = 0
    private(set) var outOfOrder = 0
    private(set) var gaps = 0
    private(set) var wrongSubscription = 0
    /// Arrived after its slot was reused by a much later publication (long written off as lost).
    private(set) var untracked = 0

    var duplicates: Int { singleDelivery.duplicates }
    var misrouted: Int { singleDelivery.misrouted }
    var unknown: Int { singleDelivery.unknown }

    /// `inFlight`: the most publications that can be outstanding (the run's window); the ring
    /// holds at least twice that.
    init(rule: DeliveryRule, subscribers: Int, publishers: Int, topics: Int = 1, inFlight: Int) {
        self.rule = rule
        self.subscribers = subscribers
        self.publishers = publishers
        self.topics = max(1, topics)
        deliveriesPerPublication = rule == .broadcast ? subscribers : (subscribers > 0 ? 1 : 0)
        var capacity = 1024
        while capacity < 2 * inFlight && capacity < 1 << 22 { capacity <<= 1 }
        mask = capacity - 1
        slotPublication = .allocate(capacity: capacity)
        slotPublication.initialize(repeating: -1, count: capacity)
        slotArrivals = .allocate(capacity: capacity)
        slotArrivals.initialize(repeating: 0, count: capacity)
        slotPublisher = .allocate(capacity: capacity)
        slotPublisher.initialize(repeating: 0, count: capacity)
        slotSequence = .allocate(capacity: capacity)
        slotSequence.initialize(repeating: 0, count: capacity)
        publishedBy = Array(repeating: 0, count: publishers)
        lastSeen = rule == .broadcast ? Array(repeating: -1, count: subscribers * publishers) : []
        subscriptionTopic = Array(repeating: [:], count: subscribers)
        singleSubscription = Array(repeating: nil, count: subscribers)
    }

    deinit {
        slotPublication.deallocate()
        slotArrivals.deallocate()
        slotPublisher.deallocate()
        slotSequence.deallocate()
    }

    /// The topic index of publication n.
    @inline(__always)
    func topic(ofPublication n: Int) -> Int { topics == 1 ? 0 : n % topics }

    /// The subscriber that must receive publication n under `.owner(topics:)`: the one whose topic
    /// (or filter value) n mod topics is.
    @inline(__always)
    func owner(ofPublication n: Int) -> Int {
        guard case .owner(let ownerTopics) = rule else { return -1 }
        return n % ownerTopics % subscribers
    }

    /// The broker confirmed subscriber `subscriber`'s subscription to topic `topic` with this id.
    func subscribed(subscriber: Int, topic: Int, subscription: UInt64) {
        subscriptionTopic[subscriber][subscription] = topic
        singleSubscription[subscriber] = topics == 1 ? subscription : nil
    }

    /// Publisher `publisher` sends the next publication; returns its number.
    @inline(__always)
    func publish(by publisher: Int) -> Int {
        let n = published
        published += 1
        let slot = n & mask
        slotPublication[slot] = n
        slotArrivals[slot] = 0
        slotPublisher[slot] = Int32(publisher)
        slotSequence[slot] = publishedBy[publisher]
        publishedBy[publisher] += 1
        return n
    }

    /// One delivery of publication `publication` to subscriber `subscriber` on `subscription`.
    /// Returns true when this delivery is the publication's last owed one (time it).
    @inline(__always)
    func delivered(publication: UInt64, subscriber: Int, subscription: UInt64) -> Bool {
        received += 1
        guard publication < UInt64(published) else {
            singleDelivery.record(publication: publication, published: published, subscriberIndex: subscriber,
                                  owner: nil)
            return false
        }
        let n = Int(publication)
        if let expected = singleSubscription[subscriber] {
            if subscription != expected { wrongSubscription += 1 }
        } else if subscriptionTopic[subscriber][subscription] != topic(ofPublication: n) {
            wrongSubscription += 1
        }
        switch rule {
        case .broadcast:
            break
        case .anyOne:
            singleDelivery.record(publication: publication, published: published, subscriberIndex: subscriber, owner: nil)
        case .owner:
            singleDelivery.record(publication: publication, published: published, subscriberIndex: subscriber,
                                  owner: owner(ofPublication: n))
        }
        let slot = n & mask
        guard slotPublication[slot] == n else {
            untracked += 1
            return false
        }
        if rule == .broadcast {
            let key = subscriber * publishers + Int(slotPublisher[slot])
            let sequence = slotSequence[slot]
            let last = lastSeen[key]
            if sequence <= last {
                outOfOrder += 1
            } else {
                gaps += sequence - last - 1
                lastSeen[key] = sequence
            }
        }
        slotArrivals[slot] += 1
        return slotArrivals[slot] == Int32(deliveriesPerPublication)
    }

    /// Anything that makes the run's deliveries wrong (not merely lost), as a sentence, or nil.
    var wrongDeliveries: String? {
        let problems = [(outOfOrder, "out of order or repeated"), (duplicates, "duplicates"),
                        (misrouted, "to a subscriber whose filter or topic does not match"),
                        (unknown, "of publications never published"), (wrongSubscription, "with a subscription id not given for its topic")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return problems.isEmpty ? nil : problems.joined(separator: ", ")
    }
}
