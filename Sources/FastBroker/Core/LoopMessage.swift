// What one loop sends another through its inbox (the lock-free MPSC queue): publications to
// fan out, and the consumer-group traffic — joins, leaves, events directed to one member, events
// coming back for re-dispatch. One FIFO channel per destination keeps them in order, which the
// group protocol relies on (a member's loop always sees a join result before the events for it).

class LoopMessage: @unchecked Sendable {
    enum Kind: UInt8 { case publication, groupJoin, groupJoinResult, groupLeave, groupDelivery, groupReturn }
    let kind: Kind
    init(kind: Kind) { self.kind = kind }
}
