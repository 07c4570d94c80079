// jemalloc is the broker's allocator (linked through CJemalloc, which puts libjemalloc first in
// the executable's NEEDED list so it interposes malloc/free for Swift, libuv and libc alike).
// These probes prove it at start-up and let tests count allocations.

import CJemalloc

public enum Allocator {
    /// jemalloc's version string, or nil when jemalloc is not the allocator in use.
    public static var jemallocVersion: String? {
        var version: UnsafePointer<CChar>? = nil
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return nil }
        return String(validatingCString: version)
    }

    /// Bytes allocated so far by the calling thread (jemalloc's `thread.allocated`).
    public static func threadAllocatedBytes() -> UInt64 {
        var value: UInt64 = 0
        var size = MemoryLayout<UInt64>.size
        _ = mallctl("thread.allocated", &value, &size, nil, 0)
        return value
    }
}
