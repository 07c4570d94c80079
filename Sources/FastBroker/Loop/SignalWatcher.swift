// POSIX signals delivered on a loop thread (SIGTERM/SIGINT shutdown, SIGHUP reload), and the
// process-wide dispositions the broker sets. The OS's signal API stays in this file: the layers
// above name signals by `ProcessSignal`.

import CUV
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signals the broker handles.
public enum ProcessSignal: Sendable, CaseIterable {
    case terminate, interrupt, hangup

    var number: Int32 {
        switch self {
        case .terminate: return SIGTERM
        case .interrupt: return SIGINT
        case .hangup: return SIGHUP
        }
    }

    /// "SIGTERM", for logs.
    public var name: String {
        switch self {
        case .terminate: return "SIGTERM"
        case .interrupt: return "SIGINT"
        case .hangup: return "SIGHUP"
        }
    }

    /// A peer that closes mid-write must cost an error code, not the process.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Ignores `self` if its disposition is the default (death by signal). Closing the last
    /// uv_signal_t for a signal restores the default; a process about to exit calls this so a
    /// late signal does not turn exit status 0 into death by signal. A handler someone else
    /// installed is left alone.
    public func ignoreIfDefault() {
        var current = sigaction()
        if sigaction(number, nil, &current) == 0 && current.__sigaction_handler.sa_handler == nil {
            signal(number, SIG_IGN)   // nil is SIG_DFL
        }
    }
}

/// Owned by the loop thread it was made on.
public final class SignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private let action: () -> Void
    private var isClosed = false

    public init(loop: EventLoop, signal: ProcessSignal, _ action: @escaping () -> Void) {
        self.action = action
        handle = .allocate(capacity: 1)
        uv_signal_init(loop.uv, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_signal_start(handle, { h, _ in
            Unmanaged<SignalWatcher>.fromOpaque(h!.pointee.data).takeUnretainedValue().action()
        }, signal.number)
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
