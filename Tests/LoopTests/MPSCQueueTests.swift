// The cross-loop queue under contention: many producer threads, one consumer, checked for loss,
// duplication, per-producer order and the capacity bound.

import BrokerLoop
import Foundation
import Synchronization
import XCTest

private final class Item: @unchecked Sendable {
    let producer: Int
    let sequence: Int
    init(_ producer: Int, _ sequence: Int) { self.producer = producer; self.sequence = sequence }
}

final class MPSCQueueTests: XCTestCase {
    func testSingleThreadFIFOAndCapacityBound() {
        let queue = MPSCQueue<Item>(capacity: 8)
        XCTAssertEqual(queue.capacity, 8)
        for i in 0..<8 { XCTAssertTrue(queue.enqueue(Item(0, i))) }
        XCTAssertFalse(queue.enqueue(Item(0, 8)), "a full queue must refuse, not overwrite")
        XCTAssertEqual(queue.approximateCount, 8)
        for i in 0..<8 { XCTAssertEqual(queue.dequeue()?.sequence, i) }
        XCTAssertNil(queue.dequeue())
        // Wraps around many laps.
        for lap in 0..<100 {
            for i in 0..<5 { XCTAssertTrue(queue.enqueue(Item(lap, i))) }
            for i in 0..<5 { XCTAssertEqual(queue.dequeue()?.sequence, i) }
        }
    }

    func testManyProducersOneConsumerNoLossNoDuplicatesInOrder() {
        let producers = 8
        let perProducer = 50_000
        let queue = MPSCQueue<Item>(capacity: 256)   // small, so producers hit "full" often
        let fullHits = Atomic<Int>(0)
        let group = DispatchGroup()
        for p in 0..<producers {
            group.enter()
            Thread {
                for i in 0..<perProducer {
                    let item = Item(p, i)
                    while !queue.enqueue(item) {
                        fullHits.add(1, ordering: .relaxed)
                        sched_yield()
                    }
                }
                group.leave()
            }.start()
        }
        var next = [Int](repeating: 0, count: producers)
        var received = 0
        var maxDepth = 0
        while received < producers * perProducer {
            maxDepth = max(maxDepth, queue.approximateCount)
            guard let item = queue.dequeue() else { sched_yield(); continue }
            // Per producer, items arrive exactly once and in order.
            XCTAssertEqual(item.sequence, next[item.producer], "producer \(item.producer): lost or duplicated item")
            next[item.producer] = item.sequence + 1
            received += 1
        }
        group.wait()
        XCTAssertNil(queue.dequeue(), "nothing beyond what was sent")
        XCTAssertEqual(next, [Int](repeating: perProducer, count: producers))
        XCTAssertLessThanOrEqual(maxDepth, queue.capacity, "the queue must stay bounded")
        print("MPSC stress: \(received) items, \(fullHits.load(ordering: .relaxed)) full-queue retries, max depth \(maxDepth)")
    }

    func testWakeupCoalescesAndDrainsAcrossThreads() throws {
        let loop = try EventLoop(index: 0)
        let queue = MPSCQueue<Item>(capacity: 1024)
        let total = 20_000
        final class Counts: @unchecked Sendable { var received = 0; var wakeups = 0 }   // loop thread only
        let counts = Counts()
        let wakeup = AsyncWakeup(loop: loop) {
            counts.wakeups += 1
            while queue.dequeue() != nil { counts.received += 1 }
            if counts.received == total { loop.stop() }
        }
        let keepAlive = LoopTimer(loop: loop)
        keepAlive.start(milliseconds: 10_000) { loop.stop() }   // fails the test instead of hanging
        let producer = Thread {
            for i in 0..<total {
                while !queue.enqueue(Item(0, i)) { wakeup.signal(); sched_yield() }
                wakeup.signal()
            }
        }
        producer.start()
        loop.run()
        producer.cancel()
        keepAlive.close()
        wakeup.close()
        loop.close()
        XCTAssertEqual(counts.received, total)
        XCTAssertLessThan(counts.wakeups, total, "wake-ups coalesce: one drains many")
    }
}
