// One libuv event loop and the thread that runs it. Everything registered on a loop (streams,
// timers, signals) is touched only by that loop's thread; other threads talk to a loop only
// through `execute`, which queues a task and wakes the loop with a coalescing uv_async_t.
// `assertInLoopThread` (and LoopBound.swift) check that rule in debug builds.

import BrokerSync
import CUV
import Synchronization

/// @unchecked Sendable: other threads call only `execute` (a PThreadLock-guarded task list and
/// uv_async_send, which libuv documents as thread-safe), `index`, and the ownership checks (an
/// atomic); everything else is the loop thread's.
public final class EventLoop: @unchecked Sendable {
    /// The uv_loop_t. Owned by the loop thread once `run` starts. Internal: libuv stays
    /// inside this module (the layers above use its Swift wrappers).
    let uv: UnsafeMutablePointer<uv_loop_t>
    public let index: Int

    // Cross-thread task inbox; the only state here touched by other threads.
    private let inbox = PThreadLock<[@Sendable () -> Void]>([])
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    // Set by the loop thread while it is inside `run`.
    private let runningThread = Atomic<UInt>(0)

    public init(index: Int = 0) throws(UVError) {
        self.index = index
        uv = .allocate(capacity: 1)
        try UVError.check(uv_loop_init(uv), "uv_loop_init")
        wakeup = .allocate(capacity: 1)
        try UVError.check(uv_async_init(uv, wakeup) { handle in
            let loop = Unmanaged<EventLoop>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            loop.drainInbox()
        }, "uv_async_init")
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    /// The EventLoop that owns a uv_loop_t (for callbacks that only get the raw loop).
    static func owner(of loop: UnsafeMutablePointer<uv_loop_t>) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop.pointee.data).takeUnretainedValue()
    }

    /// Queues `task` to run on the loop thread; callable from any thread. Wake-ups coalesce,
    /// so each wake-up drains everything queued so far.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(task) }
        uv_async_send(wakeup)
    }

    private func drainInbox() {
        let tasks = inbox.withLock { tasks -> [@Sendable () -> Void] in
            defer { tasks.removeAll(keepingCapacity: true) }
            return tasks
        }
        for task in tasks { task() }
    }

    /// Runs the loop on the calling thread until `stop` is called or no handle is active.
    public func run() {
        runningThread.store(UInt(uv_thread_self()), ordering: .releasing)
        uv_run(uv, UV_RUN_DEFAULT)
        runningThread.store(0, ordering: .releasing)
    }

    /// Stops the loop from its own thread after the current iteration.
    public func stop() {
        uv_stop(uv)
    }

    /// True on the loop's thread while it runs, and on any thread while it does not run (set-up
    /// before `run`, tear-down after it: whoever holds the loop then has it to itself).
    public var ownsCurrentThread: Bool {
        let running = runningThread.load(ordering: .acquiring)
        return running == 0 || running == UInt(uv_thread_self())
    }

    /// Debug builds: traps when loop-owned state is reached from another thread while the loop
    /// runs (the model is SwiftNIO's NIOLoopBound). Release builds compile it to nothing, so it
    /// may sit on the per-event path.
    @inlinable @inline(__always)
    public func assertInLoopThread(file: StaticString = #fileID, line: UInt = #line) {
        #if DEBUG
        precondition(ownsCurrentThread, "state owned by event loop \(index) touched from another thread", file: file, line: line)
        #endif
    }

    /// Closes every remaining handle and frees the loop; call after `run` returned.
    public func close() {
        uv_close(UnsafeMutableRawPointer(wakeup).assumingMemoryBound(to: uv_handle_t.self), nil)
        uv_run(uv, UV_RUN_DEFAULT)   // let close callbacks run
        uv_loop_close(uv)
    }

    /// Milliseconds of the loop's cached clock.
    public var now: UInt64 { uv_now(uv) }
}

