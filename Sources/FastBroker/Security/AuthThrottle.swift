// Slows down repeated failed authentications (SPEC §4): per client network and per authid, the
// verdict of a failed attempt is held back min(cap, base·2^failures) before the ABORT, whether
// the authid exists or not (one path for wrong secrets and unknown users). Failures decay by half
// per quiet `halfLife`; a success clears its authid's count (not its address's, so an attacker
// with one valid account cannot launder a spray of guesses through it).
//
// One table per realm, shared by its loops behind a mutex: connections from one address land on
// different loops, and a per-loop table would give an attacker one budget per loop. Only
// authentication verdicts touch it, never the pub/sub path. Entries are fixed-size (keys are
// seeded hashes, never the client's strings) and the tables are bounded: a flood of distinct
// authids or addresses evicts the least-failed entries first, so it cannot grow memory or wash
// out the count of the account it targets.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BrokerSync

public final class AuthThrottle: Sendable {
    public struct Policy: Sendable {
        public var baseMilliseconds: UInt64 = 100
        public var capMilliseconds: UInt64 = 2_000
        /// A failure count halves for each such quiet period since its last failure.
        public var halfLifeMilliseconds: UInt64 = 30_000
        /// Entries per table (addresses, authids); ~40 bytes each.
        public var capacity = 4096
        public init() {}
    }

    public let policy: Policy
    // protected by the mutex (any loop thread)
    private let tables: PThreadLock<Tables>

    public init(policy: Policy = Policy()) {
        self.policy = policy
        self.tables = PThreadLock(Tables(capacity: policy.capacity))
    }

    /// A failed authentication from `peer` (the connection's "host:port" text) for `authid`:
    /// returns how long to hold the ABORT back (from the failures before this one) and counts it.
    public func recordFailure(peer: String, authid: String, now: UInt64 = AuthThrottle.monotonicMilliseconds()) -> UInt64 {
        let policy = self.policy
        let (address, user) = (Self.addressKey(peer: peer), Self.authidKey(authid))
        return tables.withLock { t in
            let prior = max(t.addresses.failures(address, now, policy), t.authids.failures(user, now, policy))
            t.addresses.add(address, now, policy)
            t.authids.add(user, now, policy)
            return delay(afterFailures: prior)
        }
    }

    /// A successful authentication for `authid`: returns how long to hold the WELCOME back (an
    /// authid under attack gives no early "yes", or a guess would be known right at the
    /// CHALLENGE's reply instead of after the delay), and clears that authid's count.
    public func recordSuccess(authid: String, now: UInt64 = AuthThrottle.monotonicMilliseconds()) -> UInt64 {
        let policy = self.policy
        let user = Self.authidKey(authid)
        return tables.withLock { t in
            let prior = t.authids.failures(user, now, policy)
            t.authids.remove(user)
            return prior == 0 ? 0 : delay(afterFailures: prior - 1)
        }
    }

    /// min(cap, base·2^failures).
    public func delay(afterFailures failures: Int) -> UInt64 {
        guard failures < 32 else { return policy.capMilliseconds }
        return min(policy.capMilliseconds, policy.baseMilliseconds << UInt64(failures))
    }

    /// Entries held now (addresses, authids): for tests of the bound.
    public var entryCounts: (addresses: Int, authids: Int) {
        tables.withLock { ($0.addresses.entries.count, $0.authids.entries.count) }
    }

    public static func monotonicMilliseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    /// The client's network from "a.b.c.d:port" or "[v6]:port": an IPv4 address, or an IPv6 /64
    /// (one host usually holds a whole /64; IPv4-mapped IPv6 counts as the IPv4 address).
    static func addressKey(peer: String) -> String {
        var host = Substring(peer)
        if let colon = host.lastIndex(of: ":"), host.last != "]" { host = host[..<colon] }
        guard host.hasPrefix("["), host.hasSuffix("]") else { return String(host) }
        let text = String(host.dropFirst().dropLast())
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &bytes) == 1 else { return text }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        return bytes[0..<8].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
    }

    /// A seeded hash: a fixed-size key whatever the authid's length, and not collidable on purpose
    /// (the seed is random per process).
    static func authidKey(_ authid: String) -> Int {
        var hasher = Hasher()
        hasher.combine(authid)
        return hasher.finalize()
    }
}

private struct Tables {
    var addresses: FailureTable<String>
    var authids: FailureTable<Int>

    init(capacity: Int) {
        addresses = FailureTable(capacity: capacity)
        authids = FailureTable(capacity: capacity)
    }
}

/// Failure counts by key, bounded by `capacity`.
struct FailureTable<Key: Hashable> {
    struct Entry {
        var failures: Int
        var lastFailure: UInt64
    }

    let capacity: Int
    private(set) var entries: [Key: Entry] = [:]

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Failures of `key` decayed to `now`.
    func failures(_ key: Key, _ now: UInt64, _ policy: AuthThrottle.Policy) -> Int {
        guard let entry = entries[key] else { return 0 }
        return Self.decayed(entry, now, policy)
    }

    mutating func add(_ key: Key, _ now: UInt64, _ policy: AuthThrottle.Policy) {
        let current = failures(key, now, policy)
        if entries[key] == nil && entries.count >= capacity { evict(now, policy) }
        entries[key] = Entry(failures: min(current + 1, 64), lastFailure: now)
    }

    mutating func remove(_ key: Key) {
        entries[key] = nil
    }

    /// Drops every entry that has decayed to nothing; if that frees less than a quarter of the
    /// table, also the least-failed (then oldest) quarter. Amortised O(log n) per insertion.
    private mutating func evict(_ now: UInt64, _ policy: AuthThrottle.Policy) {
        entries = entries.filter { Self.decayed($0.value, now, policy) > 0 }
        let target = capacity - max(1, capacity / 4)
        guard entries.count > target else { return }
        let ranked = entries.sorted {
            let (a, b) = (Self.decayed($0.value, now, policy), Self.decayed($1.value, now, policy))
            return a != b ? a < b : $0.value.lastFailure < $1.value.lastFailure
        }
        for (key, _) in ranked.prefix(entries.count - target) { entries[key] = nil }
    }

    private static func decayed(_ entry: Entry, _ now: UInt64, _ policy: AuthThrottle.Policy) -> Int {
        let halvings = (now &- entry.lastFailure) / max(1, policy.halfLifeMilliseconds)
        return halvings >= 63 ? 0 : entry.failures >> Int(halvings)
    }
}
