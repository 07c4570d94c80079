// A bounded lock-free multi-producer single-consumer queue (Dmitry Vyukov's bounded queue, with a
// single consumer). Elements are stored in place (the broker queues a one-word enum of class
// references), so an enqueue allocates nothing. It carries publications from the loop that received
// them to the loops that own subscribers: any loop thread may enqueue, only the owning loop
// dequeues. Neither side allocates or takes a lock; a full queue is reported, never waited on
// (the producer keeps the item and retries, so two loops feeding each other cannot deadlock).
//
// Split in two so the per-message path needs no generic metadata at run time: the slot protocol
// (positions, per-slot sequence numbers, the CAS) is the non-generic `MPSCSlots`, compiled here;
// the generic part only moves elements in and out of their slots and is @inlinable, so the
// broker's MPSCQueue<InboxMessage> is specialised where it is used. (Unspecialised, each
// enqueue/dequeue looked up the metadata of Cell<Element> and Optional<Element>: ~1,700
// instructions per cross-loop message. Specialising the whole former class from another module
// crashed Swift 6.3.1's CopyPropagation; these few pointer moves do not.)

import Synchronization

/// @unchecked: the values are plain memory, handed over by the acquire/release protocol on each
/// slot's sequence (MPSCSlots); the cursors are atomics.
public final class MPSCQueue<Element: Sendable>: @unchecked Sendable {
    @usableFromInline let slots: MPSCSlots
    /// One value per slot, nil when the slot is free.
    @usableFromInline let values: UnsafeMutablePointer<Element?>

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int) {
        slots = MPSCSlots(capacity: capacity)
        values = .allocate(capacity: slots.capacity)
        values.initialize(repeating: nil, count: slots.capacity)
    }

    public var capacity: Int { slots.capacity }

    /// Adds `element` (the queue holds it until dequeued); false when the queue is full. Any thread.
    @inlinable
    public func enqueue(_ element: Element) -> Bool {
        let position = slots.claim()
        guard position >= 0 else { return false }
        values[position & slots.mask] = element
        slots.publish(position)
        return true
    }

    /// Removes the oldest element, or nil when empty. Only the consumer thread.
    @inlinable
    public func dequeue() -> Element? {
        let position = slots.next()
        guard position >= 0 else { return nil }
        let slot = values + (position & slots.mask)
        let element = slot.move()
        slot.initialize(to: nil)
        slots.release(position)
        return element
    }

    /// Elements queued now, approximately (for metrics).
    public var approximateCount: Int { slots.approximateCount }

    /// True when nothing is claimed and not yet dequeued. Only the consumer thread; exact for what
    /// that thread queued itself (other producers may be enqueueing meanwhile).
    @inlinable
    public var isDrained: Bool { slots.approximateCount == 0 }

    deinit {
        while dequeue() != nil {}
        values.deinitialize(count: slots.capacity)
        values.deallocate()
    }
}

/// The slot protocol of MPSCQueue, independent of the element type. Each slot's `sequence` says
/// whose turn it is: producers' when it equals the position, the consumer's when it equals
/// position + 1. A producer writes the value after `claim` and before `publish` (a release store
/// of the sequence); the consumer reads it after `next` (an acquire load) and before `release`.
public final class MPSCSlots: @unchecked Sendable {   // cells' sequences and the cursors are atomics
    private final class Cell: Sendable {
        let sequence: Atomic<Int>
        init(_ position: Int) { sequence = Atomic(position) }
    }

    private let cells: [Cell]
    public let mask: Int
    // Producers race on this with CAS; padded away from the consumer's cursor so the two sides
    // do not share a cache line.
    private let enqueuePosition = Atomic<Int>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Read/written only by the consumer thread; atomic so `approximateCount` may read it anywhere.
    private let dequeuePosition = Atomic<Int>(0)

    init(capacity: Int) {
        var size = 2
        while size < capacity { size <<= 1 }
        cells = (0..<size).map { Cell($0) }
        mask = size - 1
    }

    public var capacity: Int { mask + 1 }

    /// Claims the next position for a producer; -1 when the queue is full. Any thread.
    public func claim() -> Int {
        var position = enqueuePosition.load(ordering: .relaxed)
        while true {
            let sequence = cells[position & mask].sequence.load(ordering: .acquiring)
            let lag = sequence - position
            if lag == 0 {
                // The slot is free for this position: claim the position.
                let (exchanged, current) = enqueuePosition.compareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if exchanged { return position }
                position = current
            } else if lag < 0 {
                return -1   // the consumer has not freed this slot yet: full
            } else {
                position = enqueuePosition.load(ordering: .relaxed)   // another producer took it
            }
        }
    }

    /// Hands the value written at a claimed position to the consumer.
    public func publish(_ position: Int) {
        cells[position & mask].sequence.store(position + 1, ordering: .releasing)
    }

    /// The oldest published position, or -1 when there is none. Only the consumer thread.
    public func next() -> Int {
        let position = dequeuePosition.load(ordering: .relaxed)
        let sequence = cells[position & mask].sequence.load(ordering: .acquiring)
        return sequence == position + 1 ? position : -1   // else not yet published
    }

    /// The consumer took the value at `position` (from `next`): hands the slot back to producers
    /// one lap later.
    public func release(_ position: Int) {
        cells[position & mask].sequence.store(position + mask + 1, ordering: .releasing)
        dequeuePosition.store(position + 1, ordering: .relaxed)
    }

    /// Positions claimed but not yet released, approximately (for metrics).
    public var approximateCount: Int {
        max(0, enqueuePosition.load(ordering: .relaxed) - dequeuePosition.load(ordering: .relaxed))
    }
}
