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

    /// The calling thread's allocated-bytes counter (jemalloc's `thread.allocatedp`): read it
    /// through the pointer as often as wanted, at no cost and with no allocation.
    public static func threadAllocatedCounter() -> UnsafePointer<UInt64>? {
        var pointer: UnsafeMutablePointer<UInt64>? = nil
        var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
        guard mallctl("thread.allocatedp", &pointer, &size, nil, 0) == 0, let pointer else { return nil }
        return UnsafePointer(pointer)
    }
}
