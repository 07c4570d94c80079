// Runs an action once per loop iteration, just before the loop blocks for I/O. The broker uses
// it to flush every connection that got output during the iteration: one vectored write per
// connection per iteration, however many events were queued (NATS's flushClients, Redis's
// handleClientsWithPendingWrites).

import CUV

public final class PrepareHook {
    private let handle: UnsafeMutablePointer<uv_prepare_t>
    // Owned by the loop thread.
    private let action: () -> Void

    public init(loop: EventLoop, _ action: @escaping () -> Void) {
        self.action = action
        handle = .allocate(capacity: 1)
        uv_prepare_init(loop.uv, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_prepare_start(handle) { h in
            Unmanaged<PrepareHook>.fromOpaque(h!.pointee.data).takeUnretainedValue().action()
        }
        // A prepare handle alone must not keep the loop alive.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    public func close() {
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            let me = Unmanaged<PrepareHook>.fromOpaque(h!.pointee.data).takeRetainedValue()
            me.handle.deallocate()
        }
    }
}
