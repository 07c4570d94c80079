// Keeps a loop from blocking (used by fastbench while a rate-paced run publishes): an active libuv idle handle
// makes every poll non-blocking, so the prepare hook's catch-up runs continuously (pacing far finer
// than libuv's 1 ms timers) and events are read — and timestamped — as soon as they arrive. It
// costs the tool's whole core, which compare.sh gives it (taskset); without it a publication could
// wait up to a millisecond for the next timer, and that wait would be counted as broker latency.

import CUV

public final class PollSpinner {
    private let handle: UnsafeMutablePointer<uv_idle_t>
    /// Owned by the loop thread.
    private var isClosed = false

    public init(loop: EventLoop) {
        handle = .allocate(capacity: 1)
        uv_idle_init(loop.uv, handle)
        uv_idle_start(handle) { _ in }
    }

    /// Stops spinning and frees the handle.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_idle_stop(handle)
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_idle_t.self).deallocate()
        }
    }
}
