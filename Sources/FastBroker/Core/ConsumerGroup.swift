// Consumer-group subscriptions (SPEC §5.2): exclusive / shared / failover, after Apache Pulsar.
//
// A group is (realm, topic, match, group name). Its members may live on any loop, so each group
// has a home loop — a stable hash of its key — that alone decides membership and which member
// gets each event. Everything else travels as LoopMessages through the loops' FIFO inboxes:
//
//   member's loop ──GroupJoin──────────▶ home      home ──GroupJoinResult──▶ member's loop
//   home ──GroupDelivery(event, seq)───▶ member's loop (EVENT queued, tagged with the delivery)
//   member's loop ──GroupLeave(unwritten events, count processed)──▶ home
//   member's loop ──GroupReturn(events that arrived after the member left)──▶ home
//   member's loop ──GroupReturn(event it could not queue, .notQueued)──▶ home
//
// An event a member cannot queue (no room under `slow_consumer: drop`, larger than its peer
// accepts, closing) comes back marked with that member's session; home routes it to the next
// accepting member not yet marked (each member at most once, so an event travels at most once
// per member) and drops it, counted, only when none is left.
// Nothing is lost when a member leaves: its loop pulls every group EVENT not yet handed to the
// kernel out of the connection's outbound queue and sends it home with the leave; deliveries
// still on their way bounce back. For failover, the home loop holds new events until every
// expected bounce is back, then re-dispatches in sequence order, so the next member sees the
// events in publication order with no gap and no duplicate. What can still be lost: EVENT bytes
// the kernel accepted for a socket whose peer then died (WAMP has no event acknowledgement).
//
// Ownership: these messages and GroupMember cross loops, so they hold nothing loop-owned that
// could be freed under them. A member names its session by SessionRef (loop + serial), which only
// the session's loop can resolve (LoopContext.session(_:)); a session that closed meanwhile does
// not resolve, and its deliveries bounce home / its join is left again. The home-owned fields of
// a member are LoopBound to the home loop, and the subscription id travels in the join result, so
// the member's loop never reads state the home loop writes.

import BrokerConfig
import BrokerLoop
import FilterVM

enum GroupType: String, Sendable {
    case exclusive, shared, failover
}

/// Compared as bytes (TopicKey, BytewiseString), like the home loop's hash: canonically
/// equivalent topics or group names are different groups on any number of loops.
struct GroupKey: Hashable, Sendable {
    var topic: TopicKey
    var match: MatchPolicy
    var group: BytewiseString

    /// A key from the SUBSCRIBE's strings, each kept as its bytes.
    init(topic: String, match: MatchPolicy, group: String) {
        self.init(topic: TopicKey(owning: topic), match: match, group: BytewiseString(group))
    }

    init(topic: TopicKey, match: MatchPolicy, group: BytewiseString) {
        self.topic = topic
        self.match = match
        self.group = group
    }

    /// The loop that owns the group: the same for every loop (FNV-1a over the key's bytes, not
    /// Swift's seeded hash).
    func homeLoop(loopCount: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        mix(match.rawValue.utf8)
        mix(CollectionOfOne(UInt8(ascii: "|")))
        mix(topic.bytes)
        mix(CollectionOfOne(UInt8(ascii: "|")))
        mix(group.string.utf8)
        return Int(hash % UInt64(loopCount))
    }
}

/// One member: a session's subscription to a group. Created by the member's loop; immutable but
/// for `homeOwned`, which only the home loop touches. Refers to its session by `owner` only.
final class GroupMember: @unchecked Sendable {   // all `let` but homeOwned, a LoopBound (checked on the home loop)
    /// The member's session, resolvable only on its loop.
    let owner: SessionRef
    let sessionID: UInt64
    let authid: String
    let authrole: String
    /// The member's loop.
    var loop: Int { owner.loop }
    /// The member's loop's context, where its deliveries go (a context lives as long as the
    /// server and refers to no member, so holding it keeps nothing loop-owned alive).
    let loopContext: LoopContext
    let key: SubscriptionKey
    let group: GroupKey
    /// The group's home loop.
    let home: Int
    let realm: Realm
    let filter: FilterProgram?
    /// Queued outbound bytes of the member's connection (written by its loop, read by home);
    /// an atomic counter of its own, so it stays valid after the connection is gone.
    let outboundBytes: Counter
    let includeTopic: Bool
    /// nil when the role is granted every topic of the pattern, else the role's index to check
    /// each topic against (Config/PatternPermission.swift).
    let topicCheckRole: Int?

    struct HomeState {
        var subscriptionID: UInt64 = 0
        var filterSlot = -1
        /// Deliveries sent to the member's loop.
        var sent = 0
    }
    private var homeOwned: LoopBound<HomeState>
    /// Owned by the member's loop: the session's record of this membership while it lasts (set
    /// when the join completes, cleared on leave), so a delivery reaches it without a lookup.
    /// It refers back to this member: `leave` breaks the cycle.
    private var memberOwned: LoopBound<GroupMembership?>
    var membership: GroupMembership? { get { memberOwned.value } set { memberOwned.value = newValue } }
    var subscriptionID: UInt64 { get { homeOwned.value.subscriptionID } set { homeOwned.value.subscriptionID = newValue } }
    var filterSlot: Int { get { homeOwned.value.filterSlot } set { homeOwned.value.filterSlot = newValue } }
    var sent: Int { get { homeOwned.value.sent } set { homeOwned.value.sent = newValue } }

    /// On the session's loop, while it is established (it has an `owner` then).
    init(session: Session, owner: SessionRef, realm: Realm, key: SubscriptionKey, group: GroupKey, filter: FilterProgram?,
         topicCheckRole: Int?) {
        self.owner = owner
        self.topicCheckRole = topicCheckRole
        self.realm = realm
        self.group = group
        home = group.homeLoop(loopCount: realm.routers.count)
        sessionID = session.id
        authid = session.identity.authid
        authrole = session.identity.authrole
        self.key = key
        self.filter = filter
        outboundBytes = session.outboundBytes
        includeTopic = key.match != .exact
        homeOwned = LoopBound(HomeState(), loop: session.context.server.contexts[home].loop)
        memberOwned = LoopBound(nil, loop: session.context.loop)
        loopContext = session.context
    }
}

/// A group on its home loop. Owned by the home loop's thread.
final class ConsumerGroup {
    let key: GroupKey
    let type: GroupType
    /// The index entry through which publications find the group.
    let entry: Subscription
    /// Members in the order they joined (failover: the first accepting member is active).
    var members: [GroupMember] = []
    /// Shared: where the next round-robin search starts.
    var cursor = 0
    /// Shared: a member whose connection queues this many outbound bytes or more is passed over
    /// while another has room (the EVENT would not fit below its OutboundBudget.softBound).
    let memberSoftBound: Int
    var nextSequence: UInt64 = 0
    /// Failover recovery: departed members whose in-flight deliveries are still coming back,
    /// with how many are expected; while any are, new events wait in `held`.
    var awaiting: [ObjectIdentifier: Int] = [:]
    var recovered: [GroupEvent] = []
    var held: [GroupEvent] = []
    /// Cluster (Router+GroupAdmission): joins waiting for the cluster's verdict, the first one
    /// being decided; nil when none is. A group not yet `started` exists only to queue them.
    var awaitingCluster: [GroupJoin]?
    var started = false
    /// Cluster, failover: each member's cluster-wide join order (ClusterGroupRegistry).
    var clusterOrders: [ObjectIdentifier: UInt64] = [:]

    init(key: GroupKey, type: GroupType, entry: Subscription, memberSoftBound: Int) {
        self.key = key
        self.type = type
        self.entry = entry
        self.memberSoftBound = memberSoftBound
    }
}

/// An event of a group: the publication (bytes owned, shareable across loops) and its place in
/// the group's sequence.
struct GroupEvent {
    let publication: RemotePublication
    let sequence: UInt64
    /// Sessions whose member could not queue this event (GroupReturn .notQueued).
    var refusedBy: [UInt64] {
        get { detour?.refusedBy ?? [] }
        set { detour = Detour(refusedBy: newValue, clusterTried: detour?.clusterTried) }
    }
    /// `refusedBy` where it is not empty, else nil: per event, no empty array made and released.
    var refusals: [UInt64]? { detour?.refusedBy }
    /// Shared group in a cluster: the nodes that found no accepting member before this one
    /// (ClusterGroupForward); nil for an event not taken from the cluster.
    var clusterTried: [String]? {
        get { detour?.clusterTried }
        set { detour = Detour(refusedBy: refusedBy, clusterTried: newValue) }
    }
    /// Both of the above, nil while neither is set (nearly always), so an event costs one
    /// reference count to copy, not three. Immutable: a change makes a new one.
    private var detour: Detour?
    private final class Detour: Sendable {
        let refusedBy: [UInt64]
        let clusterTried: [String]?
        init(refusedBy: [UInt64], clusterTried: [String]?) {
            self.refusedBy = refusedBy
            self.clusterTried = clusterTried
        }
    }

    init(publication: RemotePublication, sequence: UInt64) {
        self.publication = publication
        self.sequence = sequence
    }
}

final class GroupJoin: LoopMessage {
    let type: GroupType
    let member: GroupMember
    let request: UInt64
    init(type: GroupType, member: GroupMember, request: UInt64) {
        self.type = type; self.member = member; self.request = request
    }
}

final class GroupJoinResult: LoopMessage {
    /// Joined: the member and its subscription id (read here on the home loop, so the member's
    /// loop need not read the member's home-owned state).
    enum Outcome { case joined(GroupMember, subscriptionID: UInt64), refused(message: String, uri: String) }
    let session: SessionRef
    let request: UInt64
    let outcome: Outcome
    init(session: SessionRef, request: UInt64, outcome: Outcome) {
        self.session = session; self.request = request; self.outcome = outcome
    }
}

/// One event on its way to one member, then the tag of its queued EVENT (OutboundFrame). Made
/// per group event, so recycled (GroupDeliveryPool): the fields are cleared and set again only
/// while the object is uniquely referenced, by the loop that holds it — @unchecked for that.
final class GroupDelivery: LoopMessage, @unchecked Sendable {
    private var heldMember: GroupMember?
    private var heldEvent: GroupEvent?
    /// Set from `init` or `GroupDeliveryPool.take` until recycled (nil only while pooled).
    var member: GroupMember { heldMember.unsafelyUnwrapped }
    var event: GroupEvent { heldEvent.unsafelyUnwrapped }

    init(member: GroupMember, event: consuming GroupEvent) {
        heldMember = member; heldEvent = event
    }

    fileprivate func reuse(member: GroupMember, event: consuming GroupEvent) {
        heldMember = member; heldEvent = event
    }

    /// Drops the member and the publication (whose bytes may be large) before the object waits.
    fileprivate func clear() {
        heldMember = nil; heldEvent = nil
    }
}

/// One loop's spare GroupDelivery objects (a field of its LoopContext; owned by its thread). A
/// delivery's allocation and free cost more than routing it (~300 instructions a delivery under
/// callgrind), so the home loop takes one from here and the member's loop gives it back when
/// its EVENT has been written (OutboundQueue.popFirst). Bounded: at most `limit` wait, each with
/// nothing but its own 48 bytes.
struct GroupDeliveryPool {
    private var spare: [GroupDelivery] = []
    static let limit = 4096

    mutating func take(member: GroupMember, event: consuming GroupEvent) -> GroupDelivery {
        guard let delivery = spare.popLast() else { return GroupDelivery(member: member, event: event) }
        delivery.reuse(member: member, event: event)
        return delivery
    }

    /// Keeps `delivery` for reuse if nothing else refers to it (else it is just released).
    mutating func recycle(_ delivery: consuming GroupDelivery) {
        var delivery = delivery
        guard spare.count < Self.limit, isKnownUniquelyReferenced(&delivery) else { return }
        delivery.clear()
        spare.append(delivery)
    }
}

final class GroupLeave: LoopMessage {
    let member: GroupMember
    /// Deliveries the member's loop accepted before the member left.
    let processed: Int
    /// Accepted but never handed to the kernel: to re-dispatch, in sequence order.
    let unwritten: [GroupEvent]
    /// When the connection died: publication ids (the last few hundred) handed to its socket,
    /// which the client may never have read.
    let handedToDeadSocket: [UInt64]
    let reason: String
    init(member: GroupMember, processed: Int, unwritten: [GroupEvent], handedToDeadSocket: [UInt64] = [], reason: String) {
        self.member = member; self.processed = processed
        self.unwritten = unwritten; self.handedToDeadSocket = handedToDeadSocket; self.reason = reason
    }
}

final class GroupReturn: LoopMessage {
    enum Reason {
        /// The delivery arrived after the member left.
        case memberLeft
        /// The member is still there but could not queue the event.
        case notQueued
    }
    let member: GroupMember
    let event: GroupEvent
    let reason: Reason
    init(member: GroupMember, event: GroupEvent, reason: Reason = .memberLeft) {
        self.member = member; self.event = event; self.reason = reason
    }
}
