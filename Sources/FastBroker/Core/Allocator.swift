// jemalloc is the broker's allocator (linked through CJemalloc, which puts libjemalloc first in
// the executable's NEEDED list so it interposes malloc/free for Swift, libuv and libc alike).
// These probes prove it at start-up and let tests count allocations; `returnFreedPagesPromptly`
// makes memory freed after large messages go back to the OS even while the broker is idle.

import CJemalloc
import Glibc   // getenv("MALLOC_CONF"): the operator's allocator settings win over ours

public enum Allocator {
    /// jemalloc's version string, or nil when jemalloc is not the allocator in use.
    public static var jemallocVersion: String? {
        var version: UnsafePointer<CChar>? = nil
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return nil }
        return String(validatingCString: version)
    }

    /// The calling thread's allocated-bytes counter (jemalloc's `thread.allocatedp`): read it
    /// through the pointer as often as wanted, at no cost and with no allocation.
    public static func threadAllocatedCounter() -> UnsafePointer<UInt64>? {
        var pointer: UnsafeMutablePointer<UInt64>? = nil
        var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
        guard mallctl("thread.allocatedp", &pointer, &size, nil, 0) == 0, let pointer else { return nil }
        return UnsafePointer(pointer)
    }

    /// Dirty-page decay after which freed pages go back to the OS (jemalloc's default is 10 s).
    public static let dirtyDecayMilliseconds = 1000

    /// jemalloc purges freed pages only when the process allocates, so an idle broker would keep
    /// the pages of every large message it once received (RSS never falls). This starts jemalloc's
    /// background purging thread and purges after `dirtyDecayMilliseconds`, straight to the OS
    /// (muzzy decay 0: MADV_FREE'd pages would still count in RSS). Skipped when MALLOC_CONF is
    /// set (the operator's settings win). Call once at start-up; returns what was applied, for the log.
    public static func returnFreedPagesPromptly() -> String? {
        guard jemallocVersion != nil, getenv("MALLOC_CONF") == nil else { return nil }
        var dirty = dirtyDecayMilliseconds
        var muzzy = 0
        func write(_ name: String, _ value: inout Int) -> Bool {
            mallctl(name, nil, nil, &value, MemoryLayout<Int>.size) == 0
        }
        guard write("arenas.dirty_decay_ms", &dirty), write("arenas.muzzy_decay_ms", &muzzy) else { return nil }
        // Arenas that already exist keep the decay they were created with.
        var arenaCount: UInt32 = 0
        var size = MemoryLayout<UInt32>.size
        if mallctl("arenas.narenas", &arenaCount, &size, nil, 0) == 0 {
            for arena in 0..<arenaCount {   // uninitialised arenas refuse; they take the new default later
                _ = write("arena.\(arena).dirty_decay_ms", &dirty)
                _ = write("arena.\(arena).muzzy_decay_ms", &muzzy)
            }
        }
        var enable = true
        let background = mallctl("background_thread", nil, nil, &enable, MemoryLayout<Bool>.size) == 0
        return "freed pages purged after \(dirtyDecayMilliseconds) ms" + (background ? " by a background thread" : "")
    }
}
