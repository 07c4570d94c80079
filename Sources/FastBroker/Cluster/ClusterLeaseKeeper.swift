// ClusterLeaseKeeper: the KV control loop for this node's group leases, on the node's control
// queue (never a loop thread: every step is a JetStream request). For each key the node wants it
// tries to acquire (standing by while another node holds it) and renews what it holds every
// third of the TTL. It reports each change through `onChange` — true: this node now owns the
// key; false: it lost it and must fence itself at once (stop acting as owner). A renew that is
// refused (someone else's revision) fences immediately; one that fails for want of NATS fences
// once half the TTL has passed since the last good renew, well before another node can take over.
// A `precedence` verdict of false (failover: another node has a longer-standing member) keeps it
// from acquiring and makes it release what it holds, so the lease follows the longest standing.

import Dispatch

public final class ClusterLeaseKeeper: @unchecked Sendable {
    private let store: ClusterLeaseStore
    private let queue: DispatchQueue
    private let ttlMs: Int
    private let onChange: @Sendable (_ key: String, _ owned: Bool) -> Void
    /// Whether this node may hold `key` now (failover: it has the longest-standing member);
    /// nil: no opinion. On `queue`; may wait on NATS.
    private let precedence: @Sendable (_ key: String) -> Bool?
    private let timer: DispatchSourceTimer
    // Owned by `queue`.
    private var wanted: Set<String> = []
    private var held: [String: (lease: ClusterLease, renewedAt: DispatchTime)] = [:]

    public init(
        store: ClusterLeaseStore, queue: DispatchQueue, ttlMs: Int,
        precedence: @escaping @Sendable (_ key: String) -> Bool? = { _ in nil },
        onChange: @escaping @Sendable (_ key: String, _ owned: Bool) -> Void
    ) {
        self.store = store
        self.queue = queue
        self.ttlMs = ttlMs
        self.precedence = precedence
        self.onChange = onChange
        timer = renewalTimer(ttlMs: ttlMs, queue: queue)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Starts wanting `key`: acquired at once if free, otherwise as soon as its holder lets go.
    /// Already held (holdNow): reported as owned again, for the caller that wants it now.
    public func hold(_ key: String) {
        queue.async { [self] in
            wanted.insert(key)
            if held[key] != nil { onChange(key, true) } else { tryAcquire(key) }
        }
    }

    /// On `queue`: takes `key` now if it is free (then wants and renews it like `hold`); false
    /// when another node holds it or NATS cannot answer (nothing is wanted then). Exclusive
    /// groups: the join that cannot take the lease is refused.
    public func holdNow(_ key: String) -> Bool {
        if held[key] == nil {
            guard let lease = try? store.acquire(key) else { return false }
            held[key] = (lease, .now())
        }
        wanted.insert(key)
        return true
    }

    /// Stops wanting `key`, releasing it if held (the next standby takes it without waiting).
    public func drop(_ key: String) {
        queue.async { [self] in
            wanted.remove(key)
            guard let entry = held.removeValue(forKey: key) else { return }
            try? store.release(entry.lease)
            onChange(key, false)
        }
    }

    /// On `queue` (a graceful stop): stops renewing and releases every lease held, so standbys
    /// on other nodes take over without waiting for the TTL.
    public func releaseAllOnQueue() {
        timer.cancel()
        wanted.removeAll()
        for (key, entry) in held {
            try? store.release(entry.lease)
            onChange(key, false)
        }
        held.removeAll()
    }

    /// Stops renewing without releasing, as a crashed node would (tests, shutdown).
    public func halt() { queue.sync { timer.cancel() } }

    /// The keys this node owns now (waits for queued work).
    public var ownedKeys: Set<String> { queue.sync { Set(held.keys) } }

    /// On `queue`, after this node's standing for `key` changed: yields it at once if another
    /// node now takes precedence, or takes it if this node now does.
    public func recheck(_ key: String) {
        if let entry = held[key] {
            if precedence(key) == false { yield(key, entry.lease) }
        } else if wanted.contains(key) {
            tryAcquire(key)
        }
    }

    /// A node with a longer-standing member is there: stop consuming first, then let it take over.
    private func yield(_ key: String, _ lease: ClusterLease) {
        held[key] = nil
        onChange(key, false)
        try? store.release(lease)
    }

    private func tick() {
        for (key, entry) in held {
            if precedence(key) == false {
                yield(key, entry.lease)
                continue
            }
            do throws(NatsError) {
                if let renewed = try store.renew(entry.lease) {
                    held[key] = (renewed, .now())
                } else {
                    fence(key)
                }
            } catch {
                let elapsedMs = (DispatchTime.now().uptimeNanoseconds - entry.renewedAt.uptimeNanoseconds) / 1_000_000
                if elapsedMs >= UInt64(ttlMs / 2) { fence(key) }
            }
        }
        for key in wanted where held[key] == nil { tryAcquire(key) }
    }

    private func tryAcquire(_ key: String) {
        guard held[key] == nil, precedence(key) != false, let lease = try? store.acquire(key) else { return }
        held[key] = (lease, .now())
        onChange(key, true)
    }

    private func fence(_ key: String) {
        held[key] = nil
        onChange(key, false)
    }
}

/// A timer on `queue` firing every third of the TTL, so each renewal lands well before the key
/// expires (set its handler, then resume it).
func renewalTimer(ttlMs: Int, queue: DispatchQueue) -> DispatchSourceTimer {
    let timer = DispatchSource.makeTimerSource(queue: queue)
    let interval = DispatchTimeInterval.milliseconds(max(1, ttlMs / 3))
    timer.schedule(deadline: .now() + interval, repeating: interval)
    return timer
}
