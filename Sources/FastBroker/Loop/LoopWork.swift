// CPU-heavy work taken off a loop thread (uv_queue_work): the work runs on libuv's thread pool,
// its result comes back on the loop thread. The pool is process-wide (UV_THREADPOOL_SIZE threads,
// 4 by default) and shared by every loop, so each loop's LoopWork bounds how many of its items
// are queued or running: clients of one loop cannot queue work without bound. The first user is
// ticket authentication, whose PBKDF2 would otherwise stall every session of the loop.
//
// Pool threads run this work at a lower priority (nice +10; Linux nices each thread): with as
// many pool threads as cores busy on PBKDF2, the loop threads still get the CPU when they wake,
// so sessions keep their latency while a flood of checks waits its turn. Nothing else in the
// broker uses libuv's pool (no uv_fs, no uv_getaddrinfo), so nothing else is slowed.

import CUV
#if canImport(Glibc)
import Glibc
#endif

/// One loop's bounded share of the thread pool. Owned by the loop thread: `submit`, `inFlight`
/// and the completions run there; only a `work` closure runs on a pool thread.
public final class LoopWork {
    /// The most items this loop may have queued or running at once.
    public let capacity: Int
    private let loop: EventLoop
    /// Items submitted whose completion has not run yet. Owned by the loop thread.
    public private(set) var inFlight = 0

    public init(loop: EventLoop, capacity: Int) {
        precondition(capacity > 0, "LoopWork needs room for at least one item")
        self.loop = loop
        self.capacity = capacity
    }

    /// Runs `work` on a pool thread, then `completion` with its result on this loop's thread.
    /// Returns false, and runs nothing, when `capacity` items are already in flight. `work`
    /// should hold only the values it needs (it is Sendable); `completion` may hold loop-owned
    /// objects and must find them however they are by then (closed, released).
    public func submit<Result: Sendable>(_ work: @escaping @Sendable () -> Result,
                                         then completion: @escaping (Result) -> Void) -> Bool {
        loop.assertInLoopThread()
        guard inFlight < capacity else { return false }
        let item = TypedWorkItem(owner: self, work: work, completion: completion)
        let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        // The request holds the item until its after-work callback.
        request.pointee.data = Unmanaged<WorkItem>.passRetained(item).toOpaque()
        let status = uv_queue_work(loop.uv, request, { request in
            lowerPoolThreadPriority()
            Unmanaged<WorkItem>.fromOpaque(request!.pointee.data).takeUnretainedValue().run()
        }, { request, _ in
            // status is UV_ECANCELED only after uv_cancel, which nothing here calls: the work ran.
            let item = Unmanaged<WorkItem>.fromOpaque(request!.pointee.data).takeRetainedValue()
            request!.deallocate()
            item.finish()
        })
        guard status == 0 else {   // libuv fails only for a null work callback; be safe anyway
            Unmanaged<WorkItem>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            return false
        }
        inFlight += 1
        return true
    }

    fileprivate func itemFinished() {
        loop.assertInLoopThread()
        inFlight -= 1
    }
}

/// Nice +10 for the calling pool thread (idempotent; a failure only leaves the default priority).
/// On Linux the nice value is per thread, and `who` 0 names the calling thread.
private func lowerPoolThreadPriority() {
    #if os(Linux)
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
    #endif
}

/// What a uv_work_t carries; C callbacks cannot be generic, so the typed item overrides these.
/// @unchecked Sendable: `run` is called on one pool thread, then `finish` on the loop thread;
/// libuv orders the two (its queue mutex and the loop's async wake-up).
private class WorkItem: @unchecked Sendable {
    /// Pool thread.
    func run() {}
    /// Loop thread.
    func finish() {}
}

private final class TypedWorkItem<Result: Sendable>: WorkItem, @unchecked Sendable {
    private let owner: LoopWork
    private let work: @Sendable () -> Result
    private let completion: (Result) -> Void
    /// Written by `run` on the pool thread, read by `finish` on the loop thread after it.
    private var result: Result?

    init(owner: LoopWork, work: @escaping @Sendable () -> Result, completion: @escaping (Result) -> Void) {
        self.owner = owner
        self.work = work
        self.completion = completion
    }

    override func run() { result = work() }

    override func finish() {
        owner.itemFinished()
        guard let result else { return }
        completion(result)
    }
}
