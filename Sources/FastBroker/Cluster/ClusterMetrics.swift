// ClusterMetrics: the cluster component's counters, lock-free (bumped from loop threads and
// libnats threads alike), and their Prometheus text. Every event the cluster could not carry is
// counted under `fastbroker_cluster_events_lost_total{reason=…}` (SPEC §7: losses are never silent).

import Synchronization

final class ClusterCounters: Sendable {
    let published = Atomic<UInt64>(0)
    let publishFailed = Atomic<UInt64>(0)
    let publishQueueFull = Atomic<UInt64>(0)
    let subjectTooLong = Atomic<UInt64>(0)
    let received = Atomic<UInt64>(0)
    let delivered = Atomic<UInt64>(0)
    let duplicatesSkipped = Atomic<UInt64>(0)
    let ownEchoesSkipped = Atomic<UInt64>(0)
    let malformed = Atomic<UInt64>(0)
    let disconnects = Atomic<UInt64>(0)
    let reconnects = Atomic<UInt64>(0)
    let groupReceived = Atomic<UInt64>(0)
    /// Group events that arrived for a group subscription just given up (lease lost, left).
    let groupGone = Atomic<UInt64>(0)
    /// Dropped by libnats at the pending limit of group subscriptions already removed.
    let groupDropped = Atomic<UInt64>(0)
    /// Publications NATS lost silently, seen as holes in subject sequences (ClusterSequenceGaps),
    /// and how many holes (for rate-limited logging).
    let sequenceGapLost = Atomic<UInt64>(0)
    let sequenceGaps = Atomic<UInt64>(0)
    /// Shared groups (ClusterGroupForward): events passed to another member node, events no
    /// member node accepted, and forwards that could not be sent.
    let groupForwarded = Atomic<UInt64>(0)
    let groupUnaccepted = Atomic<UInt64>(0)
    let groupForwardFailed = Atomic<UInt64>(0)
    /// NATS messages the publications went out in (ClusterBatch packs several into one).
    let natsMessagesPublished = Atomic<UInt64>(0)
}

extension Atomic where Value == UInt64 {
    /// Relaxed: each counter is independent; readers want a recent value, not a consistent cut.
    func bump() { wrappingAdd(1, ordering: .relaxed) }
}

public struct ClusterMetrics: Sendable, Equatable {
    /// Publications handed to NATS.
    public var published: UInt64 = 0
    /// Lost on the way out: NATS refused the publish (e.g. reconnect buffer full, closed).
    public var publishFailed: UInt64 = 0
    /// Lost on the way out: the publisher thread's queue was full (NATS slow or stalled).
    public var publishQueueFull: UInt64 = 0
    /// Lost on the way out: realm + topic too long for a NATS subject.
    public var subjectTooLong: UInt64 = 0
    /// Envelopes received from NATS, copies included.
    public var received: UInt64 = 0
    /// Publications handed to the loops (ClusterDelivery).
    public var delivered: UInt64 = 0
    /// Second copies from overlapping subscriptions, dropped (not a loss).
    public var duplicatesSkipped: UInt64 = 0
    /// This node's own publications seen again, dropped (not a loss).
    public var ownEchoesSkipped: UInt64 = 0
    /// Lost on the way in: bytes that are not an envelope.
    public var malformed: UInt64 = 0
    /// Lost on the way in: dropped by libnats at a subscription's pending limit (slow consumer).
    public var slowConsumerDropped: UInt64 = 0
    public var disconnects: UInt64 = 0
    public var reconnects: UInt64 = 0
    /// Publications received on group subscriptions (handed to one local member's group).
    public var groupReceived: UInt64 = 0
    /// Lost: arrived for a group this node had just stopped consuming (takeover window).
    public var groupGone: UInt64 = 0
    /// Lost on the way in, silently on NATS' side (e.g. no route between nats-servers): holes in
    /// an origin's per-subject sequence.
    public var sequenceGapLost: UInt64 = 0
    /// NATS subscriptions held for local interest.
    public var interestSubscriptions: Int = 0
    /// Shared groups: events passed to the next member node (no member here accepted them).
    public var groupForwarded: UInt64 = 0
    /// Shared groups: events no member on any member node accepted (like one node's "no member
    /// accepts": dropped, counted).
    public var groupUnaccepted: UInt64 = 0
    /// Lost: a forward to the next member node could not be sent.
    public var groupForwardFailed: UInt64 = 0
    /// NATS messages `published` went out in (consecutive publications on one subject share one).
    public var natsMessagesPublished: UInt64 = 0

    public var lostByReason: [(reason: String, count: UInt64)] {
        [("publish_failed", publishFailed), ("publish_queue_full", publishQueueFull), ("subject_too_long", subjectTooLong), ("malformed", malformed),
         ("slow_consumer", slowConsumerDropped), ("group_gone", groupGone), ("gap", sequenceGapLost),
         ("group_forward_failed", groupForwardFailed)]
    }

    /// Prometheus exposition lines (appended to the broker's /metrics text); `moreLost`: losses
    /// counted outside this component (the broker side), listed in the same family.
    public func prometheusText(moreLost: [(reason: String, count: UInt64)] = []) -> String {
        var lines = ["# TYPE fastbroker_cluster_events_lost_total counter"]
        for (reason, count) in lostByReason + moreLost { lines.append("fastbroker_cluster_events_lost_total{reason=\"\(reason)\"} \(count)") }
        for (name, value) in [
            ("fastbroker_cluster_published_total", published), ("fastbroker_cluster_nats_messages_published_total", natsMessagesPublished),
            ("fastbroker_cluster_received_total", received),
            ("fastbroker_cluster_delivered_total", delivered), ("fastbroker_cluster_group_received_total", groupReceived),
            ("fastbroker_cluster_duplicates_skipped_total", duplicatesSkipped),
            ("fastbroker_cluster_group_forwarded_total", groupForwarded), ("fastbroker_cluster_group_unaccepted_total", groupUnaccepted),
            ("fastbroker_cluster_disconnects_total", disconnects), ("fastbroker_cluster_reconnects_total", reconnects),
        ] {
            lines.append("# TYPE \(name) counter")
            lines.append("\(name) \(value)")
        }
        lines.append("# TYPE fastbroker_cluster_interest_subscriptions gauge")
        lines.append("fastbroker_cluster_interest_subscriptions \(interestSubscriptions)")
        return lines.joined(separator: "\n") + "\n"
    }
}
