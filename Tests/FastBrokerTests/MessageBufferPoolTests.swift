// What a loop's MessageBufferPool keeps once a burst drains: at most maxPooledBuffers buffers and
// maxPooledBytes of capacity, so EVENTs queued for slow consumers do not stay pinned after.

@testable import FastBroker
import XCTest

final class MessageBufferPoolTests: XCTestCase {
    /// Takes `count` buffers of `capacity` at once (as if queued), then gives them all back.
    private func burst(_ pool: MessageBufferPool, count: Int, capacity: Int) {
        let taken = (0..<count).map { _ in pool.take(capacity: capacity) }
        for buffer in taken { buffer.recycleIfUnused() }
    }

    func testABurstOfLargeBuffersKeepsOnlyTheByteBound() {
        let pool = MessageBufferPool()
        burst(pool, count: 1_000, capacity: 60_000)   // 60 MB in use at the peak
        XCTAssertEqual(pool.pooledCount, MessageBufferPool.maxPooledBytes / 60_000)
        XCTAssertLessThanOrEqual(pool.pooledBytes, MessageBufferPool.maxPooledBytes)
        XCTAssertEqual(pool.pooledBytes, pool.pooledCount * 60_000)
    }

    func testABurstOfSmallBuffersKeepsOnlyTheCountBound() {
        let pool = MessageBufferPool()
        burst(pool, count: MessageBufferPool.maxPooledBuffers + 500, capacity: 256)
        XCTAssertEqual(pool.pooledCount, MessageBufferPool.maxPooledBuffers)
        XCTAssertEqual(pool.pooledBytes, MessageBufferPool.maxPooledBuffers * 256)
    }

    func testTakingAPooledBufferTakesItsBytesOutOfTheCount() {
        let pool = MessageBufferPool()
        burst(pool, count: 3, capacity: 1_000)
        XCTAssertEqual(pool.pooledBytes, 3_000)
        let again = pool.take(capacity: 100)
        XCTAssertEqual(pool.pooledBytes, 2_000)
        again.append(contentsOf: Array(repeating: 1, count: 5_000))   // grows while out of the pool
        again.recycleIfUnused()
        XCTAssertEqual(pool.pooledBytes, 2_000 + again.capacity, "it comes back with what it grew to")
        pool.retire()
        XCTAssertEqual(pool.pooledBytes, 0)
        XCTAssertEqual(pool.pooledCount, 0)
    }
}
