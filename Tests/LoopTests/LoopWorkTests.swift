// LoopWork (uv_queue_work): work runs on a pool thread at nice +10, its completion on the loop
// thread with the work's result; at most `capacity` items are in flight, and a refused submit
// runs nothing. The loop is stepped by the test (runOnce), so the test thread is its owner.

import BrokerLoop
import Foundation
import Synchronization
import XCTest

final class LoopWorkTests: XCTestCase {
    func testWorkRunsOnThePoolAndCompletesOnTheLoopWithinItsCapacity() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let work = LoopWork(loop: loop, capacity: 2)
        let gate = DispatchSemaphore(value: 0)
        defer { gate.signal(); gate.signal() }   // never leave pool threads blocked
        let loopThread = pthread_self()
        var results: [Int] = []
        for n in [20, 22] {
            XCTAssertTrue(work.submit({ () -> (Int, Bool, Int32) in
                gate.wait()
                return (n * 2 + 2, pthread_equal(pthread_self(), loopThread) != 0, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
            }) { (value, onLoopThread, nice) in
                XCTAssertFalse(onLoopThread, "the work ran on the loop thread")
                XCTAssertEqual(nice, 10, "pool work runs at nice +10")
                XCTAssertTrue(pthread_equal(pthread_self(), loopThread) != 0, "the completion ran off the loop thread")
                results.append(value)
            })
        }
        XCTAssertEqual(work.inFlight, 2)
        var refusedRan = false
        XCTAssertFalse(work.submit({ 0 }) { _ in refusedRan = true }, "a third item is beyond the capacity")
        for _ in 0..<4 { loop.runOnce() }
        XCTAssertEqual(results, [], "nothing completes while the work is held")

        gate.signal()
        gate.signal()
        let deadline = Date().addingTimeInterval(10)
        while work.inFlight > 0 && Date() < deadline { loop.runOnce(blocking: true) }
        XCTAssertEqual(results.sorted(), [42, 46])
        XCTAssertEqual(work.inFlight, 0)
        XCTAssertFalse(refusedRan)
        XCTAssertTrue(work.submit({ 7 }) { results.append($0) }, "places are given back")
        while work.inFlight > 0 && Date() < deadline { loop.runOnce(blocking: true) }
        XCTAssertEqual(results.last, 7)
    }
}
