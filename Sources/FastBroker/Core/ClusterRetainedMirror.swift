// ClusterRetainedMirror: retained events across cluster nodes, on the broker side (SPEC §5, §7).
// BrokerCluster's ClusterRetention keeps the cluster's retained events in a JetStream KV bucket;
// this object writes this node's retains into it and mirrors every other node's into the
// realms' own stores (RetainedEvents), so `get_retained` stays a local lookup on every node.
//
//   write   on the publisher's loop thread (Router.retain): the event is kept in the local
//           store with a mark naming this node's write, then queued for the bucket (the loop
//           never waits on NATS); a write that cannot go is settled at once (counted as lost).
//   mirror  on the retention watcher thread, in bucket revision order: another node's entry
//           replaces (or clears) the topic's event unless this node's own write of the topic
//           is newer or still on its way (RetainedEvents' "Cluster order"); the put's revision
//           and its echo settle the mark. The store's lock orders mirrored entries against
//           local ones; `writeOrder` orders this node's own writes.
//
// Mirrored events are bounded by each node's `max_retained_bytes` like local ones; evictions and
// events too large for this node's limit are counted here (the watcher thread owns no loop's
// metrics).

import BrokerCluster
import BrokerConfig
import BrokerSerialization
import BrokerSync
import Synchronization

final class ClusterRetainedMirror: ClusterRetainedDelivery, @unchecked Sendable {   // immutable but for atomics
    let retention: ClusterRetention
    /// Fixed after init.
    private let realmsByName: [String: Realm]
    private let evicted = Atomic<UInt64>(0)
    private let tooLarge = Atomic<UInt64>(0)
    private let unknown = Atomic<UInt64>(0)
    /// Held by `retain` from taking the write's sequence to queueing it, so two loops retaining
    /// one topic at once mark and queue their writes in the same order (the store's mark and the
    /// bucket then agree on which is this node's latest). Lock order: this, then the store's.
    private let writeOrder = PThreadLock(())

    init(node: ClusterNode, realmsByName: [String: Realm], maxRetainedBytes: Int, log: @escaping @Sendable (String) -> Void) {
        self.realmsByName = realmsByName
        // Room for every realm's limit twice over: envelopes and KV headers weigh more than the
        // local charge, and cleared topics keep a small entry.
        retention = ClusterRetention(node: node, maxBytes: max(1 << 20, 2 * maxRetainedBytes * max(1, realmsByName.count)), log: log)
        retention.start(delivery: self)
    }

    // MARK: - Write (publisher's loop thread)

    /// Keeps `publication` (or clears its topic when `clear`) in the realm's store, marked as
    /// this node's write, and queues it for the cluster's bucket. Returns the local outcome.
    @discardableResult
    func retain(_ publication: Publication, clear: Bool, in realm: Realm) -> RetainedEvents.Outcome {
        var envelope = ClusterPublication(publication, realm: realm.name)
        if clear {
            envelope.args = []
            envelope.kwargs = []
        }
        let event = clear ? nil : RetainedEvent(publication)
        return writeOrder.withLock { _ in
            let sequence = retention.nextSequence()
            envelope.originSequence = sequence
            let outcome: RetainedEvents.Outcome
            if let event {
                outcome = realm.retainedEvents.retain(event, localWrite: sequence)
            } else {
                realm.retainedEvents.clear(topic: publication.topic, localWrite: sequence)
                outcome = .kept(evicted: 0)
            }
            if outcome == .tooLarge || !retention.write(envelope) {
                count(realm.retainedEvents.settle(topic: publication.topic, sequence: sequence, .failed))
            }
            return outcome
        }
    }

    // MARK: - ClusterRetainedDelivery (retention threads)

    func mirrorRetained(_ incoming: ClusterPublication, revision: UInt64) {
        guard let realm = realmsByName[incoming.realm] else {
            unknown.wrappingAdd(1, ordering: .relaxed)
            return
        }
        var topic = incoming.topic
        let outcome: RetainedEvents.Outcome?? = topic.withUTF8 { topicBytes in
            if incoming.args.isEmpty && incoming.kwargs.isEmpty {
                return realm.retainedEvents.mirror(nil, topic: UnsafeRawBufferPointer(topicBytes), revision: revision)
            }
            return incoming.withPublication { realm.retainedEvents.mirror(RetainedEvent($0), topic: $0.topic, revision: revision) }
        }
        guard let applied = outcome else {
            unknown.wrappingAdd(1, ordering: .relaxed)   // format or options not ours
            return
        }
        count(applied)   // nil: older than this node's own write of the topic, or waiting for it
    }

    func settleRetained(realm: String, topic: String, sequence: UInt64, _ settlement: RetainedWriteSettlement) {
        guard let realm = realmsByName[realm] else { return }
        var topic = topic
        count(topic.withUTF8 { realm.retainedEvents.settle(topic: UnsafeRawBufferPointer($0), sequence: sequence, settlement) })
    }

    /// Counts what applying a mirrored event did to this node's store.
    private func count(_ outcome: RetainedEvents.Outcome?) {
        switch outcome {
        case nil: break
        case .kept(let count)?: evicted.wrappingAdd(UInt64(count), ordering: .relaxed)
        case .tooLarge?: tooLarge.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// Losses for `fastbroker_cluster_events_lost_total`, and the mirror's own counters.
    var lostByReason: [(reason: String, count: UInt64)] {
        retention.lostByReason + [
            ("retained_too_large", tooLarge.load(ordering: .relaxed)), ("retained_unknown_realm", unknown.load(ordering: .relaxed)),
        ]
    }

    var prometheusText: String {
        var lines: [String] = []
        for (name, value) in [
            ("fastbroker_cluster_retained_written_total", retention.writtenCount),
            ("fastbroker_cluster_retained_mirrored_total", retention.mirroredCount),
            ("fastbroker_cluster_retained_evictions_total", evicted.load(ordering: .relaxed)),
        ] {
            lines.append("# TYPE \(name) counter")
            lines.append("\(name) \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ClusterPublication {
    /// The envelope of a local publication in `realm`; the sender fills in the origin fields.
    init(_ publication: Publication, realm: String) {
        let publisher = publication.disclosedPublisher
        self.init(
            realm: realm, topic: String(decoding: publication.topic, as: UTF8.self), publicationID: publication.id,
            publisherSession: publisher?.session ?? publication.excludedSession,
            authid: publisher?.authid ?? "", authrole: publisher?.authrole ?? "", discloseMe: publisher != nil,
            excludeMe: publication.excludedSession != 0, format: publication.format.rawValue,
            options: ClusterRules.encode(publication.rules), args: Array(publication.args), kwargs: Array(publication.kwargs))
    }

    /// Calls `body` with the publication this envelope carries (valid in `body`); nil when its
    /// format or options are not ones this broker knows.
    func withPublication<R>(_ body: (Publication) -> R) -> R? {
        guard let format = WireFormat(rawValue: format), let rules = ClusterRules.decode(options) else { return nil }
        var topicText = topic
        return topicText.withUTF8 { topic in
            args.withUnsafeBytes { args in
                kwargs.withUnsafeBytes { kwargs in
                    body(Publication(
                        id: publicationID, topic: UnsafeRawBufferPointer(topic), format: format, args: args, kwargs: kwargs,
                        excludedSession: excludeMe ? publisherSession : 0,
                        disclosedPublisher: discloseMe ? PublisherInfo(session: publisherSession, authid: authid, authrole: authrole) : nil,
                        rules: rules))
                }
            }
        }
    }
}
