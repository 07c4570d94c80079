// One loop's messages for other loops whose inbox was full (issue 10 item 5): per destination,
// in order, with the cost and count of the droppable ones (publications and group deliveries
// cost their payload bytes + 64; membership messages cost nothing and are never dropped). The
// bookkeeping only: LoopContext decides what a full bound means (drop and count) and who wakes
// whom. Owned by the sending loop's thread (a field of its LoopContext).

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
        case .groupJoin, .groupJoinResult, .groupLeave, .groupReturn: return 0
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

    /// Moves waiting messages for loop `index` into its `inbox`, in order, while they fit;
    /// returns how many moved.
    mutating func move(to index: Int, into inbox: MPSCQueue<InboxMessage>) -> Int {
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
