// A bounded lock-free multi-producer single-consumer queue (Dmitry Vyukov's bounded queue, with a
// single consumer). Elements are stored in place (the broker queues a one-word enum of class
// references), so an enqueue allocates nothing. It carries publications from the loop that received
// them to the loops that own subscribers: any loop thread may enqueue, only the owning loop
// dequeues. Neither side allocates or takes a lock; a full queue is reported, never waited on
// (the producer keeps the item and retries, so two loops feeding each other cannot deadlock).

import Synchronization

/// @unchecked: the cells' `value` fields are plain vars, handed over by the acquire/release
/// protocol on each cell's `sequence` (see Cell); the cursors are atomics.
public final class MPSCQueue<Element: Sendable>: @unchecked Sendable {
    /// One slot: `sequence` says whose turn it is (producer when == position, consumer when ==
    /// position + 1); `value` is written before the release-store of `sequence` and read after
    /// the acquire-load of it, which is what makes the handoff safe.
    private final class Cell: @unchecked Sendable {   // `value`: see above, ordered by `sequence`
        let sequence: Atomic<Int>
        var value: Element?
        init(_ position: Int) { sequence = Atomic(position) }
    }

    private let cells: [Cell]
    private let mask: Int
    // Producers race on this with CAS; padded away from the consumer's cursor so the two sides
    // do not share a cache line.
    private let enqueuePosition = Atomic<Int>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Read/written only by the consumer thread; atomic so `approximateCount` may read it anywhere.
    private let dequeuePosition = Atomic<Int>(0)

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int) {
        var size = 2
        while size < capacity { size <<= 1 }
        cells = (0..<size).map { Cell($0) }
        mask = size - 1
    }

    public var capacity: Int { mask + 1 }

    /// Adds `element` (the queue holds it until dequeued); false when the queue is full. Any thread.
    public func enqueue(_ element: Element) -> Bool {
        var position = enqueuePosition.load(ordering: .relaxed)
        while true {
            let cell = cells[position & mask]
            let sequence = cell.sequence.load(ordering: .acquiring)
            let lag = sequence - position
            if lag == 0 {
                // The slot is free for this position: claim the position.
                let (exchanged, current) = enqueuePosition.compareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if exchanged {
                    cell.value = element
                    cell.sequence.store(position + 1, ordering: .releasing)   // publish to the consumer
                    return true
                }
                position = current
            } else if lag < 0 {
                return false   // the consumer has not freed this slot yet: full
            } else {
                position = enqueuePosition.load(ordering: .relaxed)   // another producer took it
            }
        }
    }

    /// Removes the oldest element, or nil when empty. Only the consumer thread.
    public func dequeue() -> Element? {
        let position = dequeuePosition.load(ordering: .relaxed)
        let cell = cells[position & mask]
        let sequence = cell.sequence.load(ordering: .acquiring)
        guard sequence == position + 1 else { return nil }   // not yet published
        let element = cell.value.take()
        // Hand the slot back to producers one lap later.
        cell.sequence.store(position + mask + 1, ordering: .releasing)
        dequeuePosition.store(position + 1, ordering: .relaxed)
        return element
    }

    /// Elements queued now, approximately (for metrics).
    public var approximateCount: Int {
        max(0, enqueuePosition.load(ordering: .relaxed) - dequeuePosition.load(ordering: .relaxed))
    }

    deinit {
        while dequeue() != nil {}
    }
}
