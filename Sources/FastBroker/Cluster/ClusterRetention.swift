// ClusterRetention: retained events across nodes (SPEC §5, §7) as one JetStream KV bucket,
// `fastbroker_retained`: key = escaped realm + topic (as the publication subject, without its
// root), value = the publication's envelope (ClusterEnvelope; a clear has neither args nor
// kwargs), one revision per key. The bucket's revision order is the cluster's order of retains:
// its last write of a topic is the topic's retained event everywhere.
//
//   write   a loop thread only appends to `waiting` (never waits); the writer thread makes the
//           KV put (a JetStream request, which waits on NATS). A newer write of a topic still
//           waiting replaces the older one (only the newest matters), so the queue holds at
//           most one write per topic and is bounded in entries and bytes besides.
//   mirror  every node runs a KV watcher on its watcher thread: first the bucket's current
//           entries (a node started later gets the retained set), then each new one, in
//           revision order, handed to ClusterRetainedDelivery — which mirrors them into the
//           node's own store, so `get_retained` stays a local lookup. A node's own writes come
//           back too (told apart by node name and epoch): they, and the put's outcome with its
//           revision, only settle the write (RetainedEvents' "Cluster order").
//
// The bucket is bounded (`maxBytes`) and drops the entries written longest ago when full (the
// stream's discard-old policy, created here because libnats' KV creation sets discard-new, which
// would refuse every later retain once full) — the same "oldest topics first" rule as each node's
// store. Losses are counted (`lostByReason`) and logged on the 1st, 2nd, 4th… occurrence.
// The watcher's subscription has no pending limit (kvStore_Watch sets none); its thread does no
// more per entry than decode and one store update under the store's lock, so it keeps up.

import BrokerSync
import CNats
import Dispatch
import Synchronization

/// What became of one of this node's writes to the bucket.
public enum RetainedWriteSettlement: Equatable, Sendable {
    /// The bucket took it as `revision` (writer thread).
    case written(revision: UInt64)
    /// It came back through the watcher (watcher thread).
    case echoed
    /// It never reached the bucket (writer thread; counted as lost).
    case failed
}

/// The broker side of cluster retention; called on the retention threads, must not block.
public protocol ClusterRetainedDelivery: AnyObject, Sendable {
    /// On the watcher thread, in revision order: a bucket entry another node (or an earlier run
    /// of this one) wrote — a retained event, or a clear when it has neither args nor kwargs.
    func mirrorRetained(_ publication: ClusterPublication, revision: UInt64)
    /// What became of this node's write `sequence` of (realm, topic).
    func settleRetained(realm: String, topic: String, sequence: UInt64, _ settlement: RetainedWriteSettlement)
}

public final class ClusterRetention: @unchecked Sendable {   // fields: immutable, atomic, locked or owned by `writer`
    public static let bucket = "fastbroker_retained"

    private struct Waiting {
        var keys: [String] = []
        var byKey: [String: ClusterPublication] = [:]
        var bytes = 0
        var draining = false
    }

    private struct Bucket {
        var jetStream: OpaquePointer
        var store: OpaquePointer
    }

    private let node: ClusterNode
    private let maxBytes: Int
    private let maxWaiting: Int
    private let log: @Sendable (String) -> Void
    /// Set by `start` before the writer or watcher thread runs; weak: the broker side owns this.
    private weak var delivery: (any ClusterRetainedDelivery)?
    /// Runs the KV puts and binds the bucket; owns `bucketHandles` writes.
    private let writer = DispatchQueue(label: "fastbroker.cluster.retained-writer")
    /// Runs the watcher loop (one long work item).
    private let watcherThread = DispatchQueue(label: "fastbroker.cluster.retained-watcher")
    private let sequence = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)
    /// Loop threads → writer thread. Locked by this mutex.
    private let waiting = PThreadLock(Waiting())
    /// Set once by the writer thread when the bucket is bound; read by the watcher.
    private let bucketHandles = PThreadLock<Bucket?>(nil)
    /// The watcher (set by the watcher thread, stopped by `stop`). Locked by this mutex.
    private let watcher = PThreadLock<OpaquePointer?>(nil)
    /// Entered for each watch queued, left at its end: `stop` waits for it.
    private let watching = DispatchGroup()

    let written = Atomic<UInt64>(0)
    let mirrored = Atomic<UInt64>(0)
    let lostWriteFailed = Atomic<UInt64>(0)
    let lostQueueFull = Atomic<UInt64>(0)
    let lostMalformed = Atomic<UInt64>(0)
    private let watchFailures = Atomic<UInt64>(0)

    /// `maxBytes`: the bucket's bound; `maxWaiting`: writes waiting for the writer thread.
    public init(node: ClusterNode, maxBytes: Int, maxWaiting: Int = 16_384, log: @escaping @Sendable (String) -> Void) {
        self.node = node
        self.maxBytes = maxBytes
        self.maxWaiting = maxWaiting
        self.log = log
    }

    /// Binds (creating if needed) the bucket in the background, retrying every second while
    /// NATS or JetStream is unavailable, then starts the watcher.
    public func start(delivery: any ClusterRetainedDelivery) {
        self.delivery = delivery
        writer.async { [self] in bindThenWatch(attempt: 1) }
    }

    /// Stops the watcher and releases the bucket; before ClusterNode.stop (the JetStream context
    /// refers to the node's connection). Writes queued before are attempted first. Idempotent.
    public func stop() {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        // The writer's queue first: once it ran this, no bind can start a watcher any more.
        writer.sync {}
        watcher.withLock { current in if let current { kvWatcher_Stop(current) } }
        // A watcher registered just after that notices `stopped` within one wait (500 ms).
        watching.wait()
        writer.sync {
            if let bucket = bucketHandles.withLock({ $0 }) {
                kvStore_Destroy(bucket.store)
                jsCtx_Destroy(bucket.jetStream)
            }
            bucketHandles.withLock { $0 = nil }
        }
    }

    // MARK: - Writing (loop threads → writer thread)

    /// The sequence number of this node's next write (loop threads: take it before keeping the
    /// event locally, so the local store can mark the topic as written by us).
    public func nextSequence() -> UInt64 { sequence.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Queues `publication` (its originSequence from `nextSequence`) for the bucket; never
    /// waits. False when it cannot go (queue full, topic too long; counted and logged) — the
    /// caller then settles the write itself.
    @discardableResult
    public func write(_ publication: ClusterPublication) -> Bool {
        guard let key = Self.key(realm: publication.realm, topic: publication.topic) else {
            count(lostWriteFailed, "retained event on \(publication.topic) not written to the cluster: topic too long for a key")
            return false
        }
        var outgoing = publication
        outgoing.originNode = node.nodeName
        outgoing.originEpoch = node.epoch
        let size = Self.weight(of: publication, key: key)
        let startDrain: Bool? = waiting.withLock { waiting in
            if let replaced = waiting.byKey[key] {
                waiting.bytes -= Self.weight(of: replaced, key: key)
            } else {
                guard waiting.keys.count < maxWaiting, waiting.bytes + size <= Self.maxWaitingBytes || waiting.keys.isEmpty else { return nil }
                waiting.keys.append(key)
            }
            waiting.byKey[key] = outgoing
            waiting.bytes += size
            defer { waiting.draining = true }
            return !waiting.draining
        }
        guard let startDrain else {
            count(lostQueueFull, "retained event on \(publication.topic) not written to the cluster: retained write queue full")
            return false
        }
        if startDrain { writer.async { [self] in drain() } }
        return true
    }

    /// Waits until every write queued before the call was made or counted lost (tests).
    public func waitUntilWritten() { writer.sync {} }

    static let maxWaitingBytes = 64 << 20

    /// What a waiting write counts against `maxWaitingBytes`.
    private static func weight(of publication: ClusterPublication, key: String) -> Int {
        publication.args.count + publication.kwargs.count + publication.options.count + key.utf8.count
    }

    /// The bucket key of (realm, topic): the publication subject without its root, so every
    /// byte outside `[A-Za-z0-9-]` is escaped and each topic component is one key token.
    public static func key(realm: String, topic: String) -> String? {
        ClusterSubject.publication(realm: realm, topic: topic).map { String($0.dropFirst(ClusterSubject.eventRoot.count + 1)) }
    }

    private func drain() {
        while true {
            let batch: [(key: String, publication: ClusterPublication)]? = waiting.withLock { waiting in
                guard !waiting.keys.isEmpty else {
                    waiting.draining = false
                    return nil
                }
                let taken = waiting.keys.compactMap { key in waiting.byKey[key].map { (key, $0) } }
                waiting = Waiting(draining: true)
                return taken
            }
            guard let batch else { return }
            for (key, publication) in batch { put(publication, key: key) }
        }
    }

    /// Writer thread: one KV put; a failure settles the write (nothing will come back for it).
    private func put(_ publication: ClusterPublication, key: String) {
        let failure: String?
        if let bucket = bucketHandles.withLock({ $0 }) {
            do throws(ClusterEnvelope.EnvelopeError) {
                let bytes = try ClusterEnvelope.encode(publication)
                var revision: UInt64 = 0
                let status = bytes.withUnsafeBytes { kvStore_Put(&revision, bucket.store, key, $0.baseAddress, Int32($0.count)) }
                failure = status == NATS_OK ? nil : NatsError(status, "put \(key)").description
                if status == NATS_OK {
                    delivery?.settleRetained(realm: publication.realm, topic: publication.topic, sequence: publication.originSequence,
                                             .written(revision: revision))
                }
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = "the retained bucket is not available yet"
        }
        guard let failure else {
            written.bump()
            return
        }
        count(lostWriteFailed, "retained event \(publication.publicationID) on \(publication.topic) not written to the cluster: \(failure)")
        delivery?.settleRetained(realm: publication.realm, topic: publication.topic, sequence: publication.originSequence, .failed)
    }

    private func count(_ counter: borrowing Atomic<UInt64>, _ message: String) {
        let lost = counter.wrappingAdd(1, ordering: .relaxed).newValue
        if lost & (lost - 1) == 0 { log("cluster: \(message) (\(lost) so far)") }
    }

    // MARK: - The bucket (writer thread) and the watcher (watcher thread)

    private func bindThenWatch(attempt: Int) {
        guard !stopped.load(ordering: .relaxed) else { return }
        do throws(NatsError) {
            let bound = try bind()
            bucketHandles.withLock { $0 = bound }
            startWatching()
        } catch {
            if attempt == 1 { log("cluster: retained events bucket unavailable (\(error)); retained events stay on this node meanwhile, retrying") }
            writer.asyncAfter(deadline: .now() + .seconds(1)) { [self] in bindThenWatch(attempt: attempt + 1) }
        }
    }

    private func bind() throws(NatsError) -> Bucket {
        guard let connection = node.natsConnection else { throw NatsError(NATS_CONNECTION_CLOSED, "retained bucket") }
        let context = try connection.jetStream()
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let added = "KV_\(Self.bucket)".withCString { name in
            "$KV.\(Self.bucket).>".withCString { subject in
                var subjects: [UnsafePointer<CChar>?] = [subject]
                return subjects.withUnsafeMutableBufferPointer { list in
                    config.Name = name
                    config.Subjects = list.baseAddress
                    config.SubjectsLen = 1
                    config.MaxMsgsPerSubject = 1
                    config.MaxBytes = Int64(maxBytes)
                    config.Discard = js_DiscardOld
                    config.Storage = js_FileStorage
                    config.Replicas = 1
                    config.AllowRollup = true
                    config.DenyDelete = true
                    config.AllowDirect = true
                    return js_AddStream(&info, context, &config, nil, &code)
                }
            }
        }
        if let info { jsStreamInfo_Destroy(info) }
        // Another node created it first (with its own bound): use it as it is.
        guard added == NATS_OK || code == JSStreamNameExistErr else {
            jsCtx_Destroy(context)
            throw NatsError(added, "create retained bucket")
        }
        var store: OpaquePointer?
        let bound = js_KeyValue(&store, context, Self.bucket)
        guard bound == NATS_OK, let store else {
            jsCtx_Destroy(context)
            throw NatsError(bound, "bind retained bucket")
        }
        return Bucket(jetStream: context, store: store)
    }

    /// Writer thread (which `stop` drains first, so no watch starts after it).
    private func startWatching() {
        guard !stopped.load(ordering: .sequentiallyConsistent) else { return }
        watching.enter()
        watcherThread.async { [self] in
            defer { watching.leave() }
            watch()
        }
    }

    /// Watcher thread: every entry of the bucket, current ones first, until `stop`. A watcher
    /// that fails is replaced a second later (its initial values bring what changed meanwhile).
    private func watch() {
        // Under the bucket's lock, so `stop` cannot release the bucket meanwhile.
        var status = NATS_OK
        let made: OpaquePointer? = bucketHandles.withLock { bucket in
            guard let bucket, !stopped.load(ordering: .sequentiallyConsistent) else { return nil }
            var created: OpaquePointer?
            status = kvStore_WatchAll(&created, bucket.store, nil)
            watcher.withLock { $0 = created }
            return created
        }
        guard let created = made else {
            if status != NATS_OK { watchFailed(NatsError(status, "watch")) }
            return
        }
        defer {
            watcher.withLock { $0 = nil }
            kvWatcher_Destroy(created)
        }
        while !stopped.load(ordering: .relaxed) {
            var entry: OpaquePointer?
            let next = kvWatcher_Next(&entry, created, 500)
            if next == NATS_TIMEOUT { continue }
            guard next == NATS_OK else {
                if !stopped.load(ordering: .relaxed) { watchFailed(NatsError(next, "watch")) }
                return
            }
            guard let entry else { continue }   // the end of the initial values
            defer { kvEntry_Destroy(entry) }
            guard kvEntry_Operation(entry) == kvOp_Put, let value = kvEntry_Value(entry) else { continue }
            received(UnsafeRawBufferPointer(start: value, count: Int(kvEntry_ValueLen(entry))), revision: kvEntry_Revision(entry))
        }
    }

    /// Other nodes' retains are not mirrored meanwhile (this node keeps what it has): logged on
    /// the 1st, 2nd, 4th… failure, retried every second.
    private func watchFailed(_ error: NatsError) {
        let failures = watchFailures.wrappingAdd(1, ordering: .relaxed).newValue
        if failures & (failures - 1) == 0 {
            log("cluster: cannot watch the retained events bucket (\(error)); retrying every second (\(failures) failures so far)")
        }
        writer.asyncAfter(deadline: .now() + .seconds(1)) { [self] in startWatching() }
    }

    private func received(_ bytes: UnsafeRawBufferPointer, revision: UInt64) {
        let publication: ClusterPublication
        do throws(ClusterEnvelope.EnvelopeError) {
            publication = try ClusterEnvelope.decode(bytes)
        } catch {
            count(lostMalformed, "dropped a retained bucket entry that is not an envelope (\(error))")
            return
        }
        if publication.originNode == node.nodeName && publication.originEpoch == node.epoch {
            delivery?.settleRetained(realm: publication.realm, topic: publication.topic, sequence: publication.originSequence, .echoed)
        } else {
            mirrored.bump()
            delivery?.mirrorRetained(publication, revision: revision)
        }
    }

    /// Losses by reason, for `fastbroker_cluster_events_lost_total`.
    public var lostByReason: [(reason: String, count: UInt64)] {
        [("retained_write_failed", lostWriteFailed.load(ordering: .relaxed)), ("retained_queue_full", lostQueueFull.load(ordering: .relaxed)),
         ("retained_malformed", lostMalformed.load(ordering: .relaxed))]
    }

    /// Retained events written to the bucket / mirrored from it so far.
    public var writtenCount: UInt64 { written.load(ordering: .relaxed) }
    public var mirroredCount: UInt64 { mirrored.load(ordering: .relaxed) }
}
