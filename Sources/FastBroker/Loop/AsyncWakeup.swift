// Wakes a loop from another thread (uv_async_t). libuv coalesces sends: many producers cause
// one wake-up, so the handler must drain everything queued, never count wake-ups.

import CUV

/// @unchecked Sendable: other threads call only `signal` (uv_async_send, thread-safe by libuv's
/// contract); `action`, `isClosed` and `close` belong to the loop thread.
public final class AsyncWakeup: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<uv_async_t>
    private let loop: EventLoop
    // Called on the loop thread.
    private let action: () -> Void
    private var isClosed = false

    public init(loop: EventLoop, _ action: @escaping () -> Void) {
        self.action = action
        self.loop = loop
        handle = .allocate(capacity: 1)
        uv_async_init(loop.uv, handle) { h in
            Unmanaged<AsyncWakeup>.fromOpaque(h!.pointee.data).takeUnretainedValue().action()
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        // A wake-up handle alone must not keep the loop alive.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    /// Any thread.
    public func signal() {
        uv_async_send(handle)
    }

    /// Loop thread only.
    public func close() {
        loop.assertInLoopThread()
        guard !isClosed else { return }
        isClosed = true
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            let me = Unmanaged<AsyncWakeup>.fromOpaque(h!.pointee.data).takeRetainedValue()
            me.handle.deallocate()
        }
    }
}
