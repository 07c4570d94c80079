// ClusterLeaseStore: group ownership across nodes (exclusive and failover groups, issue 11) as
// leases in a JetStream key-value bucket. The bucket's TTL is the lease lifetime; a lease is a
// key whose value names the holder node; every change is compare-and-set on the key's revision:
//
//   acquire  create the key (fails while it exists)           → held, revision r
//   renew    update with last revision r (before the TTL ends) → held, revision r'
//   expiry   the holder stops renewing; the bucket drops the key after the TTL, silently,
//            and the next `acquire` by anyone succeeds (takeover)
//   release  delete the key if its revision is still ours
//
// The same bucket holds ClusterGroupRegistry's plain keys (group kinds, join order), written
// through `create`/`update`/`put`/`delete`/`entries` below.
//
// A holder whose renew fails (someone else's revision, or no NATS) must fence itself: stop acting
// as owner at once. Every call here waits on the NATS server (a JetStream request): run them on
// ClusterNode.control, never on a loop thread. libnats 3.4.1 takes the TTL in nanoseconds; a
// stream leader election takes ~5 s, hence the 10 s default TTL (tests use less).

import CNats

public struct ClusterLease: Sendable, Equatable {
    /// The bucket key (the escaped group name).
    public var key: String
    /// The node that holds it.
    public var holder: String
    /// The key's revision when this node last wrote it: the CAS token for renew and release.
    public var revision: UInt64

    public init(key: String, holder: String, revision: UInt64) {
        self.key = key
        self.holder = holder
        self.revision = revision
    }
}

public final class ClusterLeaseStore: @unchecked Sendable {
    public static let defaultBucket = "fastbroker_leases"

    private let nodeName: String
    /// JetStream context and bucket handles: created in init, destroyed in deinit; libnats
    /// makes their calls thread-safe.
    private let jetStream: OpaquePointer
    private let store: OpaquePointer

    /// Binds to (creating if needed) the lease bucket with TTL `ttlMs`.
    public convenience init(node: ClusterNode, ttlMs: Int, bucket: String = ClusterLeaseStore.defaultBucket, replicas: Int = 1) throws(NatsError) {
        guard let connection = node.natsConnection else { throw NatsError(NATS_CONNECTION_CLOSED, "lease store") }
        try self.init(connection: connection, nodeName: node.nodeName, ttlMs: ttlMs, bucket: bucket, replicas: replicas)
    }

    init(connection: NatsConnection, nodeName: String, ttlMs: Int, bucket: String = ClusterLeaseStore.defaultBucket, replicas: Int = 1) throws(NatsError) {
        self.nodeName = nodeName
        let context = try connection.jetStream()
        var config = kvConfig()
        kvConfig_Init(&config)
        var kv: OpaquePointer?
        let status = bucket.withCString { name -> natsStatus in
            config.Bucket = name
            config.History = 1
            config.TTL = Int64(ttlMs) * 1_000_000
            config.Replicas = Int32(replicas)
            return js_CreateKeyValue(&kv, context, &config)
        }
        guard status == NATS_OK, let kv else {
            jsCtx_Destroy(context)
            throw NatsError(status, "create lease bucket \(bucket)")
        }
        jetStream = context
        store = kv
    }

    deinit {
        kvStore_Destroy(store)
        jsCtx_Destroy(jetStream)
    }

    /// The bucket key for a group name: escaped so no byte of it is KV or subject syntax.
    public static func key(forGroup group: String) -> String {
        var key: [UInt8] = Array("g-".utf8)
        ClusterSubject.appendEscaped(group.utf8, to: &key)
        return String(decoding: key, as: UTF8.self)
    }

    /// Takes the lease when nobody holds it, or when this node already does (a restart under the
    /// same name). nil: another node holds it.
    public func acquire(_ key: String) throws(NatsError) -> ClusterLease? {
        if let revision = try create(key, value: nodeName) { return ClusterLease(key: key, holder: nodeName, revision: revision) }
        // The key exists: held by someone (or by our earlier self).
        guard let current = try holder(key) else { return try acquireAfterRace(key) }
        guard current.holder == nodeName else { return nil }
        return try renew(current)
    }

    /// Extends the lease. nil: it is no longer ours (expired and taken, or released) — fence.
    public func renew(_ lease: ClusterLease) throws(NatsError) -> ClusterLease? {
        // nil ("wrong last sequence"): someone else's revision is there now (or nothing is).
        try update(lease.key, value: nodeName, last: lease.revision).map { ClusterLease(key: lease.key, holder: nodeName, revision: $0) }
    }

    /// Gives the lease up if it is still ours; a lease already lost is left alone.
    public func release(_ lease: ClusterLease) throws(NatsError) {
        guard let current = try holder(lease.key), current.revision == lease.revision else { return }
        try delete(lease.key)
    }

    /// Who holds `key` now, with the key's revision; nil when nobody does.
    public func holder(_ key: String) throws(NatsError) -> ClusterLease? {
        try entry(key).map { ClusterLease(key: key, holder: $0.value, revision: $0.revision) }
    }

    // MARK: - Plain keys of the same bucket (ClusterGroupRegistry: group types, join order)

    /// `key`'s value and revision; nil when it is absent, deleted or expired.
    public func entry(_ key: String) throws(NatsError) -> (value: String, revision: UInt64)? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, store, key)
        if status == NATS_NOT_FOUND { return nil }
        try check(status, "read \(key)")
        guard let entry else { return nil }
        defer { kvEntry_Destroy(entry) }
        guard kvEntry_Operation(entry) == kvOp_Put, let value = kvEntry_ValueString(entry) else { return nil }
        return (String(cString: value), kvEntry_Revision(entry))
    }

    /// Creates `key` (compare-and-set: only while it does not exist); its revision, or nil when
    /// it exists already.
    public func create(_ key: String, value: String) throws(NatsError) -> UInt64? {
        var revision: UInt64 = 0
        let status = kvStore_CreateString(&revision, store, key, value)
        if status == NATS_OK { return revision }
        guard status == NATS_ERR else { throw NatsError(status, "create \(key)") }
        return nil
    }

    /// Rewrites `key` if its revision is still `last`; the new revision, or nil when not.
    public func update(_ key: String, value: String, last: UInt64) throws(NatsError) -> UInt64? {
        var revision: UInt64 = 0
        let status = kvStore_UpdateString(&revision, store, key, value, last)
        if status == NATS_OK { return revision }
        guard status == NATS_ERR else { throw NatsError(status, "update \(key)") }
        return nil
    }

    /// Writes `key` unconditionally; its new revision — the bucket's sequence, which orders
    /// every write to the bucket cluster-wide.
    public func put(_ key: String, value: String) throws(NatsError) -> UInt64 {
        var revision: UInt64 = 0
        try check(kvStore_PutString(&revision, store, key, value), "put \(key)")
        return revision
    }

    public func delete(_ key: String) throws(NatsError) {
        try check(kvStore_Delete(store, key), "delete \(key)")
    }

    /// The live keys matching `filter` (a subject filter, e.g. `n.<group>.*`) with their values:
    /// a watcher that stops after the initial values (libnats marks their end with a nil entry).
    public func entries(matching filter: String, timeoutMs: Int64 = 2_000) throws(NatsError) -> [(key: String, value: String)] {
        var options = kvWatchOptions()
        try check(kvWatchOptions_Init(&options), "kvWatchOptions_Init")
        options.IgnoreDeletes = true
        var watcher: OpaquePointer?
        try check(kvStore_Watch(&watcher, store, filter, &options), "watch \(filter)")
        defer { kvWatcher_Destroy(watcher) }
        var found: [(key: String, value: String)] = []
        while true {
            var entry: OpaquePointer?
            try check(kvWatcher_Next(&entry, watcher, timeoutMs), "watch \(filter)")
            guard let entry else { return found }
            defer { kvEntry_Destroy(entry) }
            if kvEntry_Operation(entry) == kvOp_Put, let key = kvEntry_Key(entry), let value = kvEntry_ValueString(entry) {
                found.append((String(cString: key), String(cString: value)))
            }
        }
    }

    /// Create failed yet nobody holds the key: it expired or was released between the two calls.
    /// One more create decides; losing it again means another node won the race.
    private func acquireAfterRace(_ key: String) throws(NatsError) -> ClusterLease? {
        try create(key, value: nodeName).map { ClusterLease(key: key, holder: nodeName, revision: $0) }
    }
}
