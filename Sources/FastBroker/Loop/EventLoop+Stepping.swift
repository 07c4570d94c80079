// Running a loop one iteration at a time on the calling thread, for tests that drive a broker
// without threads (InMemoryTransport, SwiftNIO's EmbeddedEventLoop is the model). The loop is
// not marked as running, so the caller owns its state for the duration (ownsCurrentThread).

import CUV

extension EventLoop {
    /// One iteration: due timers, the prepare hooks (the broker's flush), a poll that returns at
    /// once — or, with `blocking`, waits for the next event or timer —, close callbacks.
    /// Returns false when no active handle is left.
    @discardableResult
    public func runOnce(blocking: Bool = false) -> Bool {
        uv_run(uv, blocking ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0
    }
}
