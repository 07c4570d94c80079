// One loop's messages for other loops whose inbox was full (issue 10 item 5): per destination,
// in order, with the cost and count of the droppable ones (publications and group deliveries
// cost their payload bytes + 64; membership messages cost nothing and are never dropped). The
// hand-off itself (`send`) is here too, shared by every sender: LoopContext decides what a drop
// means for a loop (count, group accounting) and ClusterBridge for messages from NATS. Owned by
// the sending loop's thread (a field of its LoopContext), or by the bridge's lock.

import BrokerLoop

struct CrossLoopOverflow {
    private var waiting: [[InboxMessage]]
    private var droppableBytes: [Int]
    private var droppableCount: [Int]
    /// Bounds on the droppable part of one destination's overflow. The overflow only has to
    /// absorb what this loop's publishers send in the turn before their pause takes effect;
    /// 4 MiB (half one session's default outbound limit) does that for loopback-speed bursts,
    /// while the destination's 8,192-slot inbox is the real buffer. Tests lower it.
    var byteLimit = 4 << 20
    var messageLimit = 8192

    init(loopCount: Int) {
        waiting = Array(repeating: [], count: loopCount)
        droppableBytes = Array(repeating: 0, count: loopCount)
        droppableCount = Array(repeating: 0, count: loopCount)
    }

    /// What a waiting message counts against the bound; 0 for membership messages.
    static func cost(_ message: InboxMessage) -> Int {
        switch message {
        case .publication(let publication): return publication.byteCount + 64
        case .groupDelivery(let delivery): return delivery.event.publication.byteCount + 64
        case .clusterGroupPublication(let message): return message.remote.byteCount + 64
        case .groupJoin, .groupJoinResult, .groupLeave, .groupReturn, .clusterGroupVerdict: return 0
        }
    }

    func isEmpty(to index: Int) -> Bool { waiting[index].isEmpty }

    /// Nothing waits for any loop.
    var isEmpty: Bool {
        var i = 0
        while i < waiting.count { if !waiting[i].isEmpty { return false }; i += 1 }
        return true
    }

    /// What waits for loop `index`: all messages, and the cost of the droppable ones.
    func size(to index: Int) -> (messages: Int, bytes: Int) { (waiting[index].count, droppableBytes[index]) }

    /// Queues `message` behind what already waits for loop `index`; false (nothing queued) when
    /// it is droppable and would pass a bound.
    mutating func append(_ message: InboxMessage, to index: Int) -> Bool {
        let cost = Self.cost(message)
        if cost > 0 {
            if droppableBytes[index] + cost > byteLimit || droppableCount[index] >= messageLimit { return false }
            droppableBytes[index] += cost
            droppableCount[index] += 1
        }
        waiting[index].append(message)
        return true
    }

    enum Handoff { case sent, queued, dropped }

    /// The one hand-off into a loop's inbox, for loops (LoopContext.send) and the cluster bridge
    /// alike: straight into `destination`'s inbox with a wake-up when nothing waits before it;
    /// otherwise behind what waits (in order), or `.dropped` when droppable and past the bound.
    /// `requester`: the sender's slot in the destination's `spaceWanted`.
    mutating func send(_ message: InboxMessage, to destination: LoopContext, requester: Int) -> Handoff {
        let index = destination.index
        let wasWaiting = !isEmpty(to: index)
        if !wasWaiting && destination.inbox.enqueue(message) {
            destination.inboxWakeup.signal()
            return .sent
        }
        guard append(message, to: index) else { return .dropped }
        if !wasWaiting { moveWaiting(to: destination, requester: requester) }   // asks for a wake-up (and catches a drain that raced)
        return .queued
    }

    /// Moves waiting messages into `destination`'s inbox while they fit. If some remain, raises
    /// the requester's flag in the destination's `spaceWanted` and looks once more: a drain that
    /// finished before the flag was up would not have seen it, but then there is room now.
    mutating func moveWaiting(to destination: LoopContext, requester: Int) {
        let index = destination.index
        while true {
            let sent = move(to: index, into: destination.inbox)
            if sent > 0 { destination.inboxWakeup.signal() }
            if isEmpty(to: index) { return }
            if sent == 0 && destination.spaceWanted[requester].isRaised { return }
            destination.spaceWanted[requester].raise()
        }
    }

    /// Moves waiting messages for loop `index` into its `inbox`, in order, while they fit;
    /// returns how many moved.
    private mutating func move(to index: Int, into inbox: MPSCQueue<InboxMessage>) -> Int {
        var sent = 0
        var freed = 0
        for message in waiting[index] {
            guard inbox.enqueue(message) else { break }
            sent += 1
            let cost = Self.cost(message)
            if cost > 0 { freed += cost; droppableCount[index] -= 1 }
        }
        if sent > 0 {
            waiting[index].removeFirst(sent)
            droppableBytes[index] -= freed
        }
        return sent
    }
}
