// Event retention (SPEC §5): the latest retained publication of each topic in one realm, shared
// by every loop of the process behind one PThreadLock. Only PUBLISH with `retain` and SUBSCRIBE
// with `get_retained` take the lock; a plain PUBLISH never touches this file.
//
// Bounded by `limits.max_retained_bytes`: each event is charged its bytes (topic, payload,
// exclude/eligible lists) plus a fixed overhead, and when the total passes the limit the topics
// retained longest ago are evicted first. Every operation is O(topic components) plus, for
// eviction, O(1) amortized per evicted topic:
//   - age order is an append-only queue of (sequence, entry), popped from the front; entries
//     replaced or cleared leave stale slots there, skipped on pop and compacted away when they
//     outnumber the live ones (so the queue stays within 2× the topics plus a constant);
//   - topics are indexed in a trie of dot-separated components, so SUBSCRIBE's lookup walks only
//     the pattern's paths: exact = one path; wildcard = every child where the pattern has an
//     empty component; prefix = the whole components of the pattern, then the children whose
//     component starts with its last partial component, then their subtrees (every node there
//     leads to a match). No walk recurses: explicit stacks, and teardown is iterative.
// The lock is held only for these walks; encoding and delivery happen outside it
// (Router+Retained.swift), on the subscriber's loop.
//
// Cluster order (ClusterRetainedMirror): every node mirrors the cluster's retained bucket into
// this store, in the bucket's revision order, so the bucket's last write of a topic (its highest
// revision) wins on every node. A local retain is kept here at once, marked as this node's
// pending write (under the same lock, so no mirrored entry slips in between), and written to the
// bucket afterwards. While marked, another node's entry for the topic applies only if its
// revision is above ours; before ours is known (the put is in flight) the newest such entry
// waits in the mark and is applied if ours turns out older or fails. The mark goes when our
// write comes back, when a newer entry arrives, or on failure. (Our write need not come back: a
// newer write of the key can replace it in the bucket before the watcher delivers it.)

import BrokerCluster
import BrokerConfig
import BrokerSerialization
import BrokerSync

/// One retained publication, immutable: its bytes in the publisher's format, its id, disclosure
/// and exclude/eligible lists as published (a PublicationCopy that excludes nobody as publisher:
/// `exclude_me` does not apply to retained events).
final class RetainedEvent: Sendable {
    /// Charged per event beyond its bytes: the event object, its trie node and queue slot.
    static let overheadBytes = 256

    private let copy: PublicationCopy
    /// What the event counts against `max_retained_bytes`.
    let chargedBytes: Int

    init(_ publication: Publication) {
        copy = PublicationCopy(publication, excludedSession: 0)
        chargedBytes = Self.charge(of: publication)
    }

    deinit { copy.deallocate() }

    /// What `publication` would count against `max_retained_bytes` if retained: its bytes, its
    /// exclude/eligible lists and disclosed identity, and `overheadBytes`.
    static func charge(of publication: Publication) -> Int {
        var bytes = publication.topic.count + publication.args.count + publication.kwargs.count + overheadBytes
        if let rules = publication.rules {
            bytes += 8 * (rules.exclude.count + (rules.eligible?.count ?? 0))
            for list in [rules.excludeAuthid, rules.eligibleAuthid, rules.excludeAuthrole, rules.eligibleAuthrole] {
                for string in list?.elements ?? [] { bytes += 16 + string.utf8.count }
            }
        }
        if let publisher = publication.disclosedPublisher { bytes += publisher.authid.utf8.count + publisher.authrole.utf8.count }
        return bytes
    }

    /// The publication id the publisher's PUBLISHED carried.
    var id: UInt64 { copy.id }
    /// The topic's UTF-8 bytes (valid while the event lives).
    var topic: UnsafeRawBufferPointer { copy.publication.topic }

    /// Calls `body` with the event as a Publication over this event's bytes (valid in `body`).
    func withPublication<R>(_ body: (Publication) -> R) -> R {
        withExtendedLifetime(self) { body(copy.publication) }
    }
}

/// A realm's retained events (see the header). Thread-safe.
final class RetainedEvents: Sendable {
    /// What `retain` did.
    enum Outcome: Equatable {
        case kept(evicted: Int)
        /// The event alone is larger than the limit: not kept, and the topic's previous one cleared.
        case tooLarge
    }

    let byteLimit: Int
    /// Guards the trie, the age queue and the byte count (see PThreadLock's lock list).
    private let state: PThreadLock<Store>

    init(byteLimit: Int) {
        self.byteLimit = byteLimit
        state = PThreadLock(Store())
    }

    /// Keeps `event` as its topic's retained event, replacing the previous one, and evicts the
    /// oldest topics until the total is within the limit. `localWrite`: in a cluster, the sequence
    /// of this node's write of the event to the cluster (see "Cluster order" in the header).
    func retain(_ event: RetainedEvent, localWrite: UInt64? = nil) -> Outcome {
        state.withLock { store in
            if let localWrite { store.pendingWrites[Array(event.topic)] = PendingWrite(sequence: localWrite) }
            return store.replace(event.topic, with: event, byteLimit: byteLimit)
        }
    }

    /// Clears the topic's retained event (a retained PUBLISH with neither args nor kwargs);
    /// `localWrite` as for `retain`.
    func clear(topic: UnsafeRawBufferPointer, localWrite: UInt64? = nil) {
        state.withLock { store in
            if let localWrite { store.pendingWrites[Array(topic)] = PendingWrite(sequence: localWrite) }
            store.remove(topic: topic)
        }
    }

    /// Applies the bucket entry of `revision` written by another node (`event`, or a clear when
    /// nil). nil: not applied (yet) — it is older than this node's own write of the topic, or
    /// that write's revision is not known yet and the entry waits for it.
    func mirror(_ event: RetainedEvent?, topic: UnsafeRawBufferPointer, revision: UInt64) -> Outcome? {
        state.withLock { store in
            let key = Array(topic)
            guard var pending = store.pendingWrites[key] else { return store.apply(event, topic: topic, byteLimit: byteLimit) }
            guard let ours = pending.revision else {
                if revision > pending.deferred?.revision ?? 0 { pending.deferred = (event, revision) }
                store.pendingWrites[key] = pending
                return nil
            }
            guard revision > ours else { return nil }
            store.pendingWrites[key] = nil
            return store.apply(event, topic: topic, byteLimit: byteLimit)
        }
    }

    /// What became of this node's write `sequence` of `topic` (`written` with its revision,
    /// `echoed` back by the bucket, or `failed`). Returns the outcome when an entry waiting for
    /// it was applied (it was newer, or ours never reached the bucket).
    func settle(topic: UnsafeRawBufferPointer, sequence: UInt64, _ settlement: RetainedWriteSettlement) -> Outcome? {
        state.withLock { store in
            let key = Array(topic)
            guard var pending = store.pendingWrites[key], pending.sequence == sequence else { return nil }
            let waiting = pending.deferred
            switch settlement {
            case .echoed:
                store.pendingWrites[key] = nil
                return nil
            case .written(let revision):
                guard let waiting, waiting.revision > revision else {
                    pending.revision = revision
                    pending.deferred = nil
                    store.pendingWrites[key] = pending
                    return nil
                }
                store.pendingWrites[key] = nil
                return store.apply(waiting.event, topic: topic, byteLimit: byteLimit)
            case .failed:
                store.pendingWrites[key] = nil
                return waiting.map { store.apply($0.event, topic: topic, byteLimit: byteLimit) }
            }
        }
    }

    /// Topics with a cluster write in flight (tests).
    var pendingWriteCount: Int { state.withLock { $0.pendingWrites.count } }

    /// The retained events whose topics `pattern` matches under `policy`, in no particular order.
    func matching(_ pattern: UnsafeRawBufferPointer, policy: MatchPolicy) -> [RetainedEvent] {
        state.withLock { store in store.matching(pattern, policy: policy) }
    }

    /// Bytes charged by the events kept (the `fastbroker_retained_bytes` gauge).
    var byteCount: Int { state.withLock { $0.bytes } }
    /// Topics with a retained event.
    var topicCount: Int { state.withLock { $0.count } }
}

/// This node's latest write of a topic to the cluster's bucket, until settled.
struct PendingWrite {
    var sequence: UInt64
    /// Its bucket revision, once the bucket acknowledged it.
    var revision: UInt64? = nil
    /// The newest entry of another node seen before `revision` was known: applied if it turns
    /// out newer than ours (or ours failed).
    var deferred: (event: RetainedEvent?, revision: UInt64)? = nil
}

/// The lock-guarded part of RetainedEvents: every field, and every Node, is read and written only
/// while holding RetainedEvents.state.
private final class Store {
    final class Node {
        /// The component on the edge from the parent (empty at the root).
        let component: [UInt8]
        /// Set but at the root. Only nodes in the trie climb to their parent (detach), and a node
        /// in the trie has its ancestors in it too (pruning removes childless nodes only).
        unowned let parent: Node?
        var children: [[UInt8]: Node] = [:]
        var event: RetainedEvent?
        /// Its position in the age queue (valid while `event` is set).
        var sequence: UInt64 = 0
        init(component: [UInt8], parent: Node?) {
            self.component = component
            self.parent = parent
        }
    }

    let root = Node(component: [], parent: nil)
    /// (sequence, node) by age, oldest first from `head`; stale when the node's sequence moved on.
    var queue: [(sequence: UInt64, node: Node)] = []
    var head = 0
    var nextSequence: UInt64 = 1
    var bytes = 0
    var count = 0
    /// Cluster only: topic → this node's latest write of it not yet settled. At most one per
    /// topic, and writes in flight are bounded (ClusterRetention's queue).
    var pendingWrites: [[UInt8]: PendingWrite] = [:]

    deinit {
        // ARC would release a deep chain of nodes recursively; detach children level by level.
        var pending = Array(root.children.values)
        root.children.removeAll()
        queue.removeAll()
        while let node = pending.popLast() {
            pending.append(contentsOf: node.children.values)
            node.children.removeAll()
        }
    }

    /// Replaces the topic's event by `event` (clears it when nil).
    func apply(_ event: RetainedEvent?, topic: UnsafeRawBufferPointer, byteLimit: Int) -> RetainedEvents.Outcome {
        guard let event else {
            remove(topic: topic)
            return .kept(evicted: 0)
        }
        return replace(topic, with: event, byteLimit: byteLimit)
    }

    /// Replaces the topic's event by `event` and evicts the oldest topics past `byteLimit`.
    func replace(_ topic: UnsafeRawBufferPointer, with event: RetainedEvent, byteLimit: Int) -> RetainedEvents.Outcome {
        remove(topic: topic)
        guard event.chargedBytes <= byteLimit else { return .tooLarge }
        insert(event)
        var evicted = 0
        while bytes > byteLimit, evictOldest() { evicted += 1 }
        return .kept(evicted: evicted)
    }

    func insert(_ event: RetainedEvent) {
        var node = root
        forEachComponent(of: event.topic) { component in
            if let child = node.children[component] {
                node = child
            } else {
                let child = Node(component: component, parent: node)
                node.children[component] = child
                node = child
            }
        }
        node.event = event
        node.sequence = nextSequence
        queue.append((nextSequence, node))
        nextSequence += 1
        bytes += event.chargedBytes
        count += 1
    }

    func remove<Topic: Collection>(topic: Topic) where Topic.Element == UInt8 {
        var node: Node? = root
        forEachComponent(of: topic) { component in node = node?.children[component] }
        if let node, node.event != nil { detach(node) }
    }

    /// Evicts the topic retained longest ago; false when there is none.
    func evictOldest() -> Bool {
        while head < queue.count {
            let (sequence, node) = queue[head]
            head += 1
            if node.event != nil && node.sequence == sequence {
                detach(node)
                return true
            }
        }
        return false
    }

    /// Drops the node's event and prunes the nodes left with neither event nor children.
    private func detach(_ node: Node) {
        bytes -= node.event!.chargedBytes
        count -= 1
        node.event = nil
        node.sequence = 0
        var current = node
        while current.event == nil && current.children.isEmpty, let parent = current.parent {
            parent.children[current.component] = nil
            current = parent
        }
        compactQueueIfStale()
    }

    /// Keeps the queue within twice the live topics (plus slack): amortized O(1) per operation.
    private func compactQueueIfStale() {
        guard queue.count - head > 2 * count + 64 else { return }
        queue = queue[head...].filter { $0.node.event != nil && $0.node.sequence == $0.sequence }
        head = 0
    }

    func matching(_ pattern: UnsafeRawBufferPointer, policy: MatchPolicy) -> [RetainedEvent] {
        var found: [RetainedEvent] = []
        switch policy {
        case .exact, .wildcard:
            // One frontier per component: the wildcard's empty components fan out to every child.
            var frontier = [root]
            forEachComponent(of: pattern) { component in
                guard !frontier.isEmpty else { return }
                var next: [Node] = []
                for node in frontier {
                    if component.isEmpty && policy == .wildcard {
                        next.append(contentsOf: node.children.values)
                    } else if let child = node.children[component] {
                        next.append(child)
                    }
                }
                frontier = next
            }
            for node in frontier { if let event = node.event { found.append(event) } }
        case .prefix:
            // Whole components first, then the last (partial) one as a prefix of a child's.
            let lastDot = pattern.lastIndex(of: UInt8(ascii: "."))
            var node: Node? = root
            if let lastDot {
                forEachComponent(of: pattern[..<lastDot]) { component in node = node?.children[component] }
            }
            guard let base = node else { return [] }
            let partial = pattern[(lastDot.map { $0 + 1 } ?? 0)...]
            var pending = base.children.values.filter { $0.component.starts(with: partial) }
            while let next = pending.popLast() {
                if let event = next.event { found.append(event) }
                pending.append(contentsOf: next.children.values)
            }
        }
        return found
    }

    /// Calls `body` with each dot-separated component of `topic` (as a key: an Array).
    private func forEachComponent<Topic: Collection>(of topic: Topic, _ body: ([UInt8]) -> Void) where Topic.Element == UInt8 {
        var component: [UInt8] = []
        for byte in topic {
            if byte == UInt8(ascii: ".") {
                body(component)
                component.removeAll(keepingCapacity: true)
            } else {
                component.append(byte)
            }
        }
        body(component)
    }
}
