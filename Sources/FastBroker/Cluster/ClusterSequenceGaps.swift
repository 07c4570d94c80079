// ClusterSequenceGaps: counts publications NATS silently failed to bring us (SPEC §7: losses are
// never silent). When the route between two nats-servers is down, the origin's server drops its
// publications for want of interest while both nodes keep their own NATS connections: neither
// node sees an error. So each publication also carries a per-(origin, subject) sequence, and the
// receiving node counts the holes: a jump from n to n + k on a subject it kept receiving means
// k − 1 publications never arrived (reason "gap").
//
// Why per subject and not the origin's global sequence: a node receives only the subjects it is
// subscribed to, so the global sequence jumps for every publication on other topics; per subject,
// every publication the origin made is one the receiver's subscription covered.
//
// Origin side (`SubjectSequencer`, publisher thread): (stream, sequence) per subject in a table of at
// most `capacity` subjects. A subject new to the table — first seen, or seen again after eviction —
// starts a fresh stream (a per-process counter; with the origin's random epoch unique cluster-wide)
// at sequence 1, so a receiver takes it as a new baseline, never as a gap. The sequence advances
// only when NATS accepted the publish: a refused one is already counted as `publish_failed`.
//
// Receive side (`SequenceGapDetector`, delivery thread, after the duplicate check): the last
// (epoch, stream, sequence) per (origin, realm, topic), and the interest subscription that brought
// it. A gap counts only when that subscription is still live: once it went away (unsubscribed,
// node stopped) the subject had no coverage for a while, so the next publication is a new baseline
// — a later re-subscribe never shows a false gap. Liveness is a generation per subscription, checked
// per event in O(1), rather than a scan of the table at each unsubscribe (subscription churn would
// make that quadratic). Out-of-date or repeated sequences never count. Messages libnats dropped at a
// subscription's pending limit are counted as `slow_consumer` already and leave holes too: each
// subscription has a budget of the drops libnats reported for it that no hole has yet been set
// against, and a hole behind that subscription is first set against it, the rest counted as `gap`.
// (Drop counts are per subscription, not per subject, and a drop can be reported before the hole's
// baseline was even delivered, so a per-hole check cannot work; the budget keeps the total exact:
// slow_consumer + gap = what was lost, only the split between the two reasons can be off.)
// With one delivery thread every copy of publication i comes before any of i + 1, so a hole behind
// a live subscription was lost upstream or dropped by that subscription.
//
// Both tables key entries by a 64-bit hash (Swift's Hasher, seeded per process, so not steerable by
// clients) instead of the subject text: subjects reach 3,900 bytes and 65,536 of them must not cost
// 250 MB. Two subjects sharing a hash (≈ 2⁻³³ for a full table) could show or hide one gap. Both
// tables evict the oldest insertion when full (FIFO, O(1)): an evicted subject simply starts over
// with a new baseline. Every operation is O(1) per event; memory is capacity × ~60 bytes per table.

/// At most `capacity` values by 64-bit key; inserting into a full map forgets the oldest insertion.
struct BoundedFIFOMap<Value> {
    let capacity: Int
    private var values: [UInt64: Value] = [:]
    /// Keys in insertion order, a ring: `order[next]` is the oldest once the ring is full.
    private var order: [UInt64] = []
    private var next = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a bounded map needs room for one entry")
        self.capacity = capacity
    }

    var count: Int { values.count }

    subscript(key: UInt64) -> Value? { values[key] }

    /// Sets `key`'s value; a new key evicts the oldest when the map is full.
    mutating func set(_ key: UInt64, _ value: Value) {
        if values.updateValue(value, forKey: key) != nil { return }
        if order.count < capacity {
            order.append(key)
            return
        }
        values[order[next]] = nil
        order[next] = key
        next = (next + 1) % capacity
    }
}

/// What a publication carries so receivers can spot holes: stream 0 means "not tracked".
struct SubjectStamp: Equatable {
    var stream: UInt64
    var sequence: UInt64
}

/// Origin side: the next (stream, sequence) per NATS subject. Owned by the publisher thread (used
/// under ClusterNode's link lock, so stamp order is wire order).
struct SubjectSequencer {
    private var subjects: BoundedFIFOMap<SubjectStamp>
    private var lastStream: UInt64 = 0

    init(capacity: Int = 65_536) { subjects = BoundedFIFOMap(capacity: capacity) }

    /// The stamp the next publication on `subject` carries; `commit` it once NATS took it.
    mutating func peek(_ subject: String) -> SubjectStamp {
        let key = Self.key(subject)
        if let last = subjects[key] { return SubjectStamp(stream: last.stream, sequence: last.sequence &+ 1) }
        lastStream &+= 1
        subjects.set(key, SubjectStamp(stream: lastStream, sequence: 0))
        return SubjectStamp(stream: lastStream, sequence: 1)
    }

    mutating func commit(_ stamp: SubjectStamp, subject: String) { subjects.set(Self.key(subject), stamp) }

    static func key(_ subject: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(subject)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }
}

/// Receive side: the holes in each (origin, subject)'s sequence, while one subscription covered it.
/// Owned by ClusterNode's delivery path and interest calls, under its lock.
struct SequenceGapDetector {
    /// A gap seen: `lost` publications between `after` and `sequence`.
    struct Gap: Equatable {
        var lost: UInt64
        var after: UInt64
        var sequence: UInt64
    }

    private struct Baseline {
        var originEpoch: UInt64
        var stream: UInt64
        var sequence: UInt64
        var subscription: UInt
        var generation: UInt64
    }

    private struct LiveSubscription {
        var generation: UInt64
        /// libnats' drops of this subscription already set against holes (see the file header).
        var dropsAccounted: UInt64 = 0
    }

    private var baselines: BoundedFIFOMap<Baseline>
    /// Live interest subscriptions, by identity (the libnats pointer).
    private var live: [UInt: LiveSubscription] = [:]
    private var lastGeneration: UInt64 = 0
    /// The last (origin, realm, topic) hashed and its key.
    private var lastKey: (origin: String, realm: String, topic: String, key: UInt64)?

    init(capacity: Int = 65_536) { baselines = BoundedFIFOMap(capacity: capacity) }

    var trackedSubjects: Int { baselines.count }

    /// A subscription now delivers: baselines it records count from here.
    mutating func subscribed(_ subscription: UInt) {
        lastGeneration &+= 1
        live[subscription] = LiveSubscription(generation: lastGeneration)
    }

    /// A subscription went away: every baseline it recorded stops counting (lazily, in O(1)).
    mutating func unsubscribed(_ subscription: UInt) { live[subscription] = nil }

    /// Records one publication (already past the duplicate check) that arrived on `subscription`;
    /// returns the gap it reveals, if any. Untracked when stamped with stream 0 (an older node) or
    /// from a subscription not (or no longer) live. `dropped`: libnats' drop count of a live
    /// subscription (called only for live ones, so never on a destroyed one).
    mutating func received(
        origin: String, realm: String, topic: String, originEpoch: UInt64, stamp: SubjectStamp, subscription: UInt,
        dropped: (UInt) -> UInt64
    ) -> Gap? {
        guard stamp.stream != 0, let generation = live[subscription]?.generation else { return nil }
        let key: UInt64
        // A stream on one topic (a batch, most of all) hashes its (origin, realm, topic) once;
        // the comparison is exact, so a different subject never takes another's key.
        if let last = lastKey, last.topic == topic, last.origin == origin, last.realm == realm {
            key = last.key
        } else {
            key = Self.key(origin: origin, realm: realm, topic: topic)
            lastKey = (origin, realm, topic, key)
        }
        var gap: Gap?
        if let last = baselines[key], last.originEpoch == originEpoch, last.stream == stamp.stream,
            var witness = live[last.subscription], witness.generation == last.generation
        {
            guard stamp.sequence > last.sequence else { return nil }  // a repeat: not a gap, not news
            let hole = stamp.sequence - last.sequence - 1
            if hole > 0 {
                let excused = min(hole, dropped(last.subscription) &- witness.dropsAccounted)
                witness.dropsAccounted &+= excused
                live[last.subscription] = witness
                if hole > excused { gap = Gap(lost: hole - excused, after: last.sequence, sequence: stamp.sequence) }
            }
        }
        baselines.set(
            key, Baseline(originEpoch: originEpoch, stream: stamp.stream, sequence: stamp.sequence, subscription: subscription, generation: generation))
        return gap
    }

    static func key(origin: String, realm: String, topic: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(origin)
        hasher.combine(realm)
        hasher.combine(topic)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }
}
