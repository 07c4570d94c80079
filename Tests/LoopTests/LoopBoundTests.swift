// The debug-build loop-ownership check (EventLoop.assertInLoopThread, LoopBound): who counts as
// the owner while a loop runs and while it does not, and that touching a LoopBound from another
// thread while its loop runs really traps (checked in a child process running this test binary).

import BrokerLoop
import Foundation
import Synchronization
import XCTest

final class LoopBoundTests: XCTestCase {
    /// Runs `loop` on its own thread until `body` returns, then stops it.
    private func whileRunning(_ loop: EventLoop, _ body: () throws -> Void) rethrows {
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let keepAlive = Thread {
            loop.execute { started.signal() }
            loop.run()
            finished.signal()
        }
        keepAlive.start()
        started.wait()
        defer {
            loop.execute { loop.stop() }
            finished.wait()
        }
        try body()
    }

    /// Waits for `task` to run on the loop's thread and returns its result.
    private func onLoop<T: Sendable>(_ loop: EventLoop, _ task: @escaping @Sendable () -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        loop.execute { result.withLock { $0 = task() }; done.signal() }
        done.wait()
        return result.withLock { $0! }
    }

    func testOwnershipFollowsTheRunningThread() throws {
        let loop = try EventLoop(index: 3)
        XCTAssertTrue(loop.ownsCurrentThread, "before run, whoever holds the loop owns it")
        whileRunning(loop) {
            XCTAssertFalse(loop.ownsCurrentThread, "another thread must not own a running loop")
            XCTAssertTrue(onLoop(loop) { loop.ownsCurrentThread })
            let bound = LoopBound(41, loop: loop)
            XCTAssertEqual(onLoop(loop) { var b = bound; b.value += 1; return b.value }, 42)
        }
        XCTAssertTrue(loop.ownsCurrentThread, "after run, the holder owns it again")
        loop.close()
    }

    /// Child-process half of testOffLoopAccessTraps: reads a LoopBound of a running loop from the
    /// test thread. Does nothing unless the parent asked for it.
    func testChildTouchesLoopBoundOffLoop() throws {
        guard ProcessInfo.processInfo.environment["FASTBROKER_LOOPBOUND_CHILD"] == "1" else { return }
        let loop = try EventLoop(index: 7)
        let bound = LoopBound(1, loop: loop)
        whileRunning(loop) {
            print("LoopBound read off its loop: \(bound.value)")
        }
    }

    func testOffLoopAccessTraps() throws {
        #if DEBUG
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["LoopTests.LoopBoundTests/testChildTouchesLoopBoundOffLoop"]
        child.environment = ProcessInfo.processInfo.environment.merging(["FASTBROKER_LOOPBOUND_CHILD": "1"]) { $1 }
        let errors = Pipe()
        child.standardError = errors
        child.standardOutput = Pipe()
        try child.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal, "the off-loop read must trap; stderr:\n\(stderr)")
        XCTAssertTrue(stderr.contains("state owned by event loop 7 touched from another thread"), stderr)
        #else
        throw XCTSkip("the ownership check exists only in debug builds")
        #endif
    }
}
