// PThreadLock: mutual exclusion across threads, and the guarded state is the only way in. The
// tsan stage runs this with halt_on_error: a lock TSan could not see (the reason this type
// replaced Synchronization.Mutex) would fail it with an access-race report.

import BrokerSync
import Foundation
import XCTest

final class PThreadLockTests: XCTestCase {
    func testIncrementsFromManyThreadsAreNotLost() {
        struct Tally { var count = 0; var perThread: [Int: Int] = [:] }
        let lock = PThreadLock(Tally())
        let threads = 8, rounds = 2_000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for _ in 0..<rounds {
                lock.withLock { tally in
                    // A read-modify-write of two fields: torn without mutual exclusion.
                    tally.count += 1
                    tally.perThread[thread, default: 0] += 1
                }
            }
        }
        let tally = lock.withLock { $0 }
        XCTAssertEqual(tally.count, threads * rounds)
        XCTAssertEqual(tally.perThread.count, threads)
        XCTAssertTrue(tally.perThread.values.allSatisfy { $0 == rounds })
    }

    func testWithLockReturnsAndRethrows() {
        struct Refused: Error {}
        let lock = PThreadLock([1, 2, 3])
        XCTAssertEqual(lock.withLock { $0.reduce(0, +) }, 6)
        XCTAssertThrowsError(try lock.withLock { _ in throw Refused() }) { XCTAssertTrue($0 is Refused) }
        // The lock was released by the throw: taking it again does not deadlock.
        XCTAssertEqual(lock.withLock { $0.count }, 3)
    }
}
