// POSIX signals delivered on a loop thread (SIGTERM/SIGINT shutdown, SIGHUP reload).

import CUV

public final class SignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    // Owned by the loop thread.
    private let action: () -> Void
    private var isClosed = false

    public init(loop: EventLoop, signal: Int32, _ action: @escaping () -> Void) {
        self.action = action
        handle = .allocate(capacity: 1)
        uv_signal_init(loop.uv, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_signal_start(handle, { h, _ in
            Unmanaged<SignalWatcher>.fromOpaque(h!.pointee.data).takeUnretainedValue().action()
        }, signal)
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            let me = Unmanaged<SignalWatcher>.fromOpaque(h!.pointee.data).takeRetainedValue()
            me.handle.deallocate()
        }
    }
}
