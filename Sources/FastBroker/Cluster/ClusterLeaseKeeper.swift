// ClusterLeaseKeeper: the KV control loop for this node's group leases, on the node's control
// queue (never a loop thread: every step is a JetStream request). For each key the node wants it
// tries to acquire (standing by while another node holds it) and renews what it holds every
// third of the TTL. It reports each change through `onChange` — true: this node now owns the
// key; false: it lost it and must fence itself at once (stop acting as owner). A renew that is
// refused (someone else's revision) fences immediately; one that fails for want of NATS fences
// once half the TTL has passed since the last good renew, well before another node can take over.

import Dispatch

public final class ClusterLeaseKeeper: @unchecked Sendable {
    private let store: ClusterLeaseStore
    private let queue: DispatchQueue
    private let ttlMs: Int
    private let onChange: @Sendable (_ key: String, _ owned: Bool) -> Void
    private let timer: DispatchSourceTimer
    // Owned by `queue`.
    private var wanted: Set<String> = []
    private var held: [String: (lease: ClusterLease, renewedAt: DispatchTime)] = [:]

    public init(
        store: ClusterLeaseStore, queue: DispatchQueue, ttlMs: Int, onChange: @escaping @Sendable (_ key: String, _ owned: Bool) -> Void
    ) {
        self.store = store
        self.queue = queue
        self.ttlMs = ttlMs
        self.onChange = onChange
        timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(max(1, ttlMs / 3))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Starts wanting `key`: acquired at once if free, otherwise as soon as its holder lets go.
    public func hold(_ key: String) {
        queue.async { [self] in
            wanted.insert(key)
            tryAcquire(key)
        }
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

    private func tick() {
        for (key, entry) in held {
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
        guard held[key] == nil, let lease = try? store.acquire(key) else { return }
        held[key] = (lease, .now())
        onChange(key, true)
    }

    private func fence(_ key: String) {
        held[key] = nil
        onChange(key, false)
    }
}
