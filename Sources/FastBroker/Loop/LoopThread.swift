// The threads extra event loops run on, and how many cores there are to run them. Wraps
// uv_thread_t so the layers above never see libuv or pthread types.

import CUV

public struct LoopThread {
    private let handle: uv_thread_t

    /// Starts a thread running `body`.
    public init(_ body: @escaping @Sendable () -> Void) {
        /// Carries `body` to the new thread (a C callback gets one raw pointer).
        final class Start: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = uv_thread_t()
        let start = Unmanaged.passRetained(Start(body)).toOpaque()
        let rc = uv_thread_create(&thread, { argument in
            Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue().body()
        }, start)
        precondition(rc == 0, "uv_thread_create failed: \(UVError(rc, "uv_thread_create"))")
        handle = thread
    }

    /// Waits until the thread's body has returned.
    public func join() {
        var thread = handle
        uv_thread_join(&thread)
    }

    /// Cores this process may run on (the default number of loops).
    public static var availableParallelism: Int { Int(uv_available_parallelism()) }
}
