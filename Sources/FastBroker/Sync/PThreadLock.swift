// The broker's one lock: state guarded by a pthread mutex, reached only inside `withLock`.
// Used instead of Synchronization.Mutex because Mutex on Linux locks with raw futex system
// calls, which ThreadSanitizer does not model: it reported the accesses inside every `withLock`
// as races (the TSan stage needed suppressions that would also have hidden real races).
// pthread_mutex_lock/unlock are intercepted by TSan, so accesses under this lock are ordered
// for it. Every user is a cold path (accept, SUBSCRIBE, authentication, config reload, the
// cross-thread task queue); the publish path takes no lock.
//
// The locks (NATS keeps such a list in locksordering.txt): EventLoop.inbox (tasks for a loop),
// ConnectionAdmission.perAddress, SubscriptionRegistry.state (one per realm), AuthThrottle.tables,
// UserDatabase.current, RetainedEvents.state (one per realm). No body takes another lock or calls out, so there is no lock order to keep,
// with one exception in a cluster: ClusterRetainedMirror.writeOrder is held around RetainedEvents.state, then ClusterRetention's
// queue lock (each taken and released in turn, neither held while taking the other).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// @unchecked Sendable: `state` is read and written only between pthread_mutex_lock and
/// pthread_mutex_unlock on `mutex`, which orders every access across threads.
public final class PThreadLock<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    public init(_ initial: State) {
        state = initial
        mutex = .allocate(capacity: 1)
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the state while holding the lock. Not reentrant: `body` must not take
    /// this lock again.
    @inlinable
    public func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body(&stateForLockHolder)
    }

    @usableFromInline func lock() { pthread_mutex_lock(mutex) }
    @usableFromInline func unlock() { pthread_mutex_unlock(mutex) }
    /// Only between `lock` and `unlock`.
    @usableFromInline var stateForLockHolder: State {
        get { state }
        _modify { yield &state }
    }
}
