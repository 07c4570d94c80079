// What one loop sends another through its inbox (the lock-free MPSC queue): publications to
// fan out, and the consumer-group traffic — joins, leaves, events directed to one member, events
// coming back for re-dispatch. One FIFO channel per destination keeps them in order, which the
// group protocol relies on (a member's loop always sees a join result before the events for it).

class LoopMessage: @unchecked Sendable {
    enum Kind: UInt8 { case publication, groupJoin, groupJoinResult, groupLeave, groupDelivery, groupReturn }
    let kind: Kind
    init(kind: Kind) { self.kind = kind }
}

/// How another loop names a session: its loop and a serial that loop never reuses. Plain data,
/// so holding one keeps nothing alive; only the session's own loop can turn it back into the
/// Session (LoopContext.session(_:)), and only while the session is established.
struct SessionRef: Hashable, Sendable {
    let loop: Int
    let serial: UInt64
}
