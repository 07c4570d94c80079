// What one loop sends another through its inbox (the lock-free MPSC queue): publications to
// fan out, and the consumer-group traffic — joins, leaves, events directed to one member, events
// coming back for re-dispatch. One FIFO channel per destination keeps them in order, which the
// group protocol relies on (a member's loop always sees a join result before the events for it).
//
// The inbox holds an `InboxMessage`: one case per kind, each carrying its typed message, so the
// receiving loop switches on the case and never downcasts. An enum of class references is one
// pointer wide (the case lives in spare bits), so queueing one allocates nothing.

/// One entry of a loop's inbox.
enum InboxMessage: Sendable {
    case publication(RemotePublication)
    case groupJoin(GroupJoin)
    case groupJoinResult(GroupJoinResult)
    case groupLeave(GroupLeave)
    case groupDelivery(GroupDelivery)
    case groupReturn(GroupReturn)
    case clusterGroupPublication(ClusterGroupPublication)
    case clusterGroupVerdict(ClusterGroupVerdict)
}

/// A message one loop hands another (LoopContext.send): immutable once made, so any thread may
/// read it; each kind says which inbox case carries it. A class, or a struct over one class
/// reference (RemotePublication), so a case stays one pointer wide.
protocol LoopMessage: Sendable {
    var inboxMessage: InboxMessage { get }
}

extension RemotePublication { var inboxMessage: InboxMessage { .publication(self) } }
extension GroupJoin { var inboxMessage: InboxMessage { .groupJoin(self) } }
extension GroupJoinResult { var inboxMessage: InboxMessage { .groupJoinResult(self) } }
extension GroupLeave { var inboxMessage: InboxMessage { .groupLeave(self) } }
extension GroupDelivery { var inboxMessage: InboxMessage { .groupDelivery(self) } }
extension GroupReturn { var inboxMessage: InboxMessage { .groupReturn(self) } }

/// How another loop names a session: its loop and a serial that loop never reuses. Plain data,
/// so holding one keeps nothing alive; only the session's own loop can turn it back into the
/// Session (LoopContext.session(_:)), and only while the session is established.
struct SessionRef: Hashable, Sendable {
    let loop: Int
    let serial: UInt64
}
