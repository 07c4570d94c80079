// ClusterGroup: a consumer group (SPEC §5.2) as the cluster sees it, and the NATS names derived
// from it. Group events never take the broadcast path between nodes: every node publishes each
// publication once on its ordinary subject (ClusterSubject), and group consumers pick it up with
// their own subscriptions on the node's group link (ClusterNode):
//
//   shared             every node with members holds a queue subscription on the group's pattern
//                      subject, queue name = the group's identity, so NATS hands each publication
//                      to exactly one of those nodes, which gives it to one local member. When no
//                      member there accepts it (filters, exclude/eligible lists), that node passes
//                      it to the next member node not yet tried (ClusterGroupForward: the tried
//                      nodes travel with it; member nodes come from the registry's `m.` keys,
//                      cached and refreshed on the control queue), until one accepts or every
//                      member node has said no (then it is dropped and counted, as on one node:
//                      fastbroker_cluster_group_unaccepted_total). A node that delivers never
//                      forwards, and no node is tried twice: exactly once, ≤ member-node hops.
//
//                      A forward to a node that died (its key not yet expired) is answered by
//                      NATS' "no responders" and goes on to the next node (ClusterForwardsInFlight).
//
//                      Why not a lease-elected dispatcher (one node that sees every publication
//                      and every member's filter): it would put every group event of the cluster
//                      through one node and one more hop, need every member's filter and room
//                      replicated to it, and stop the group for a lease TTL when that node dies.
//                      The queue subscription costs nothing extra when the chosen node accepts
//                      (always, without filters); a fallback costs one NATS hop more (measured,
//                      3 nodes on loopback, debug build, half the events rejected on the chosen
//                      node: median latency 3.9 → 8.1 ms, Python-client-bound rate 1.39 k → 1.34 k
//                      events/s; README "Cluster"). Known limits: a forwarded event may reach its
//                      member after a later event NATS gave that node directly (no per-publisher
//                      order across a fallback hop), and a node whose first member joined less
//                      than `memberRefreshMs` ago may be missed by other nodes' forwards.
//   exclusive/failover the node holding the group's JetStream KV lease (ClusterLeaseKeeper) is
//                      the only one subscribed; the others stand by and take the lease when the
//                      holder releases it (its last member left) or stops renewing (it died).
//                      Exclusive: the first join takes the lease or is refused. Failover: only
//                      the node with the longest-standing member may hold it (ClusterGroupRegistry).
//
// The identity string escapes every field (ClusterSubject.appendEscaped) and joins them with '.',
// so two different groups never share a queue name or a lease key.

import BrokerConfig

public struct ClusterGroup: Hashable, Sendable {
    public enum Kind: String, Sendable { case shared, exclusive, failover }

    public var realm: String
    public var pattern: String
    public var match: MatchPolicy
    public var name: String
    public var kind: Kind

    public init(realm: String, pattern: String, match: MatchPolicy, name: String, kind: Kind) {
        self.realm = realm
        self.pattern = pattern
        self.match = match
        self.name = name
        self.kind = kind
    }

    /// The subject its consumers subscribe (the pattern's interest subject), and whether NATS'
    /// match is exact (false: receivers re-check the topic against the pattern).
    public var interest: (subject: String, isExact: Bool)? {
        ClusterSubject.interest(realm: realm, pattern: pattern, match: match)
    }

    /// Queue name (shared) and lease key (exclusive/failover; valid KV key bytes): the escaped
    /// identity. The kind is part of it, so members of different kinds never compete (the
    /// registry's type key refuses the mismatch cluster-wide; without JetStream, per node).
    public var identity: String { Self.escapedKey("g", [realm, kind.rawValue, match.rawValue, pattern, name]) }

    // Registry keys (ClusterGroupRegistry), the same for every kind: they are what tells kinds apart.

    /// The group's kind cluster-wide; value: the kind's name.
    public var typeKey: String { Self.escapedKey("t", [realm, match.rawValue, pattern, name]) }
    /// Written once per member join: its revision is the member's cluster-wide join order.
    public var orderKey: String { Self.escapedKey("o", [realm, match.rawValue, pattern, name]) }
    /// Failover: `node`'s longest-standing member's join order (value: the decimal revision).
    public func standingKey(node: String) -> String { Self.escapedKey("n", [realm, match.rawValue, pattern, name, node]) }
    /// Every node's standing key of this group (a subject filter).
    public var standingFilter: String { Self.escapedKey("n", [realm, match.rawValue, pattern, name]) + ".*" }
    /// Shared: `node` has members of the group (value: the node's name); renewed like the kind.
    public func memberKey(node: String) -> String { memberKeyPrefix + Self.escapedKey("", [node]).dropFirst() }
    /// Every member key of this group starts with it (then one token: the escaped node name).
    public var memberKeyPrefix: String { Self.escapedKey("m", [realm, match.rawValue, pattern, name]) + "." }
    /// Every member key of every group (a subject filter).
    public static let memberKeysFilter = "m.>"

    /// Failover: whether the node of standing `me` has the longest-standing member — the
    /// smallest join order among every node's `standings` (a tie, which distinct revisions never
    /// make, goes to the smaller key).
    public static func standsLongest(_ me: (key: String, order: UInt64), among standings: [(key: String, order: UInt64)]) -> Bool {
        !standings.contains { $0.key != me.key && ($0.order < me.order || ($0.order == me.order && $0.key < me.key)) }
    }

    /// `prefix` and each field escaped, joined by '.'. No empty token: an empty field becomes
    /// '_', which escaping never yields on its own (always `_HH`), so no two field lists collide.
    private static func escapedKey(_ prefix: String, _ fields: [String]) -> String {
        var out = Array(prefix.utf8)
        for field in fields {
            out.append(UInt8(ascii: "."))
            ClusterSubject.appendEscaped(field.utf8, to: &out)
            if field.isEmpty { out.append(UInt8(ascii: "_")) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
