// A libuv timer on one loop (handshake timeouts, shutdown deadlines). Owned by its loop thread.

import CUV

public final class LoopTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    // Owned by the loop thread.
    private var action: (() -> Void)?
    private var isClosed = false

    public init(loop: EventLoop) {
        handle = .allocate(capacity: 1)
        uv_timer_init(loop.uv, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Runs `action` after `milliseconds` (and then every `repeatMilliseconds` if non-zero).
    public func start(milliseconds: UInt64, repeatMilliseconds: UInt64 = 0, _ action: @escaping () -> Void) {
        guard !isClosed else { return }
        self.action = action
        uv_timer_start(handle, { timer in
            let me = Unmanaged<LoopTimer>.fromOpaque(timer!.pointee.data).takeUnretainedValue()
            me.action?()
        }, milliseconds, repeatMilliseconds)
    }

    public func stop() {
        guard !isClosed else { return }
        uv_timer_stop(handle)
        action = nil
    }

    /// Stops and frees the timer; it must not be used afterwards.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        action = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            let me = Unmanaged<LoopTimer>.fromOpaque(h!.pointee.data).takeRetainedValue()
            me.handle.deallocate()
        }
    }
}
