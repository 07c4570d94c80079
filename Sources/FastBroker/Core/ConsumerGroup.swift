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

import BrokerConfig
import FilterVM

enum GroupType: String, Sendable {
    case exclusive, shared, failover
}

struct GroupKey: Hashable, Sendable {
    var topic: String
    var match: MatchPolicy
    var group: String

    /// The loop that owns the group: the same for every loop (FNV-1a, not Swift's seeded hash).
    func homeLoop(loopCount: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(match.rawValue)|\(topic)|\(group)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(loopCount))
    }
}

/// One member: a session's subscription to a group. Created by the member's loop; its mutable
/// fields are owned by the home loop. `session` is only ever used on the session's own loop.
final class GroupMember: @unchecked Sendable {
    let session: Session
    let sessionID: UInt64
    let authid: String
    let authrole: String
    let loop: Int
    let key: SubscriptionKey
    let group: GroupKey
    /// The group's home loop.
    let home: Int
    let realm: Realm
    let filter: FilterProgram?
    /// Queued outbound bytes of the member's connection (written by its loop, read by home).
    let outboundBytes: Counter
    let includeTopic: Bool
    // Home loop only:
    var subscriptionID: UInt64 = 0
    var filterSlot = -1
    /// Deliveries sent to the member's loop.
    var sent = 0
    /// Set by the member's loop before the join is posted, read-only after: nil when the role is
    /// granted every topic of the pattern, else the role's index to check each topic against.
    var topicCheckRole: Int? = nil

    init(session: Session, realm: Realm, key: SubscriptionKey, group: GroupKey, filter: FilterProgram?) {
        self.session = session
        self.realm = realm
        self.group = group
        home = group.homeLoop(loopCount: realm.routers.count)
        sessionID = session.id
        authid = session.identity.authid
        authrole = session.identity.authrole
        loop = session.context.index
        self.key = key
        self.filter = filter
        outboundBytes = session.connection.outboundBytes
        includeTopic = key.match != .exact
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
    var nextSequence: UInt64 = 0
    /// Failover recovery: departed members whose in-flight deliveries are still coming back,
    /// with how many are expected; while any are, new events wait in `held`.
    var awaiting: [ObjectIdentifier: Int] = [:]
    var recovered: [GroupEvent] = []
    var held: [GroupEvent] = []

    init(key: GroupKey, type: GroupType, entry: Subscription) {
        self.key = key
        self.type = type
        self.entry = entry
    }
}

/// An event of a group: the publication (bytes owned, shareable across loops) and its place in
/// the group's sequence.
struct GroupEvent {
    let publication: RemotePublication
    let sequence: UInt64
    /// Sessions whose member could not queue this event (GroupReturn .notQueued).
    var refusedBy: [UInt64] = []
}

final class GroupJoin: LoopMessage, @unchecked Sendable {
    let type: GroupType
    let member: GroupMember
    let request: UInt64
    init(type: GroupType, member: GroupMember, request: UInt64) {
        self.type = type; self.member = member; self.request = request
        super.init(kind: .groupJoin)
    }
}

final class GroupJoinResult: LoopMessage, @unchecked Sendable {
    enum Outcome { case joined(GroupMember), refused(message: String, uri: String) }
    let session: Session
    let request: UInt64
    let outcome: Outcome
    init(session: Session, request: UInt64, outcome: Outcome) {
        self.session = session; self.request = request; self.outcome = outcome
        super.init(kind: .groupJoinResult)
    }
}

final class GroupDelivery: LoopMessage, @unchecked Sendable {
    let member: GroupMember
    let event: GroupEvent
    init(member: GroupMember, event: GroupEvent) {
        self.member = member; self.event = event
        super.init(kind: .groupDelivery)
    }
}

final class GroupLeave: LoopMessage, @unchecked Sendable {
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
        super.init(kind: .groupLeave)
    }
}

final class GroupReturn: LoopMessage, @unchecked Sendable {
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
        super.init(kind: .groupReturn)
    }
}
