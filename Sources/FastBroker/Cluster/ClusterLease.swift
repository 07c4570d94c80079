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
        var options = jsOptions()
        try check(jsOptions_Init(&options), "jsOptions_Init")
        var context: OpaquePointer?
        try check(natsConnection_JetStream(&context, connection.handle, &options), "JetStream")
        guard let context else { throw NatsError(NATS_ERR, "JetStream") }
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
        var revision: UInt64 = 0
        let status = kvStore_CreateString(&revision, store, key, nodeName)
        if status == NATS_OK { return ClusterLease(key: key, holder: nodeName, revision: revision) }
        guard status == NATS_ERR else { throw NatsError(status, "acquire \(key)") }
        // The key exists: held by someone (or by our earlier self).
        guard let current = try holder(key) else { return try acquireAfterRace(key) }
        guard current.holder == nodeName else { return nil }
        return try renew(current)
    }

    /// Extends the lease. nil: it is no longer ours (expired and taken, or released) — fence.
    public func renew(_ lease: ClusterLease) throws(NatsError) -> ClusterLease? {
        var revision: UInt64 = 0
        let status = kvStore_UpdateString(&revision, store, lease.key, nodeName, lease.revision)
        if status == NATS_OK { return ClusterLease(key: lease.key, holder: nodeName, revision: revision) }
        // "wrong last sequence": someone else's revision is there now (or nothing is).
        guard status == NATS_ERR else { throw NatsError(status, "renew \(lease.key)") }
        return nil
    }

    /// Gives the lease up if it is still ours; a lease already lost is left alone.
    public func release(_ lease: ClusterLease) throws(NatsError) {
        guard let current = try holder(lease.key), current.revision == lease.revision else { return }
        try check(kvStore_Delete(store, lease.key), "release \(lease.key)")
    }

    /// Who holds `key` now, with the key's revision; nil when nobody does.
    public func holder(_ key: String) throws(NatsError) -> ClusterLease? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, store, key)
        if status == NATS_NOT_FOUND { return nil }
        try check(status, "read \(key)")
        guard let entry else { return nil }
        defer { kvEntry_Destroy(entry) }
        guard kvEntry_Operation(entry) == kvOp_Put, let value = kvEntry_ValueString(entry) else { return nil }
        return ClusterLease(key: key, holder: String(cString: value), revision: kvEntry_Revision(entry))
    }

    /// Create failed yet nobody holds the key: it expired or was released between the two calls.
    /// One more create decides; losing it again means another node won the race.
    private func acquireAfterRace(_ key: String) throws(NatsError) -> ClusterLease? {
        var revision: UInt64 = 0
        let status = kvStore_CreateString(&revision, store, key, nodeName)
        if status == NATS_OK { return ClusterLease(key: key, holder: nodeName, revision: revision) }
        guard status == NATS_ERR else { throw NatsError(status, "acquire \(key)") }
        return nil
    }
}
