// MallocCounter: counts heap allocations by interposing malloc/calloc/realloc/posix_memalign/
// aligned_alloc in this executable (the dynamic linker binds every library's calls, including
// libswiftCore's and Foundation's, to the executable's definitions first) and forwarding to
// glibc's __libc_* entry points. jemalloc is not linked into this target. Linux/glibc only;
// elsewhere the counts read as 0 and the table says so.

#if canImport(Glibc)
    import Glibc

    /// Number of allocation calls so far. Written from any thread without synchronisation: the
    /// benchmark is single-threaded, and a racy count on other threads only blurs the numbers.
    nonisolated(unsafe) var allocationCalls: Int = 0
    let allocationCountingWorks = true

    @_silgen_name("__libc_malloc") func libcMalloc(_ size: Int) -> UnsafeMutableRawPointer?
    @_silgen_name("__libc_calloc") func libcCalloc(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer?
    @_silgen_name("__libc_realloc") func libcRealloc(_ p: UnsafeMutableRawPointer?, _ size: Int)
        -> UnsafeMutableRawPointer?
    @_silgen_name("__libc_memalign") func libcMemalign(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer?

    @_cdecl("malloc") public func countingMalloc(_ size: Int) -> UnsafeMutableRawPointer? {
        allocationCalls &+= 1
        return libcMalloc(size)
    }

    @_cdecl("calloc") public func countingCalloc(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer? {
        allocationCalls &+= 1
        return libcCalloc(count, size)
    }

    @_cdecl("realloc") public func countingRealloc(_ p: UnsafeMutableRawPointer?, _ size: Int)
        -> UnsafeMutableRawPointer?
    {
        allocationCalls &+= 1
        return libcRealloc(p, size)
    }

    @_cdecl("posix_memalign") public func countingPosixMemalign(
        _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
    ) -> Int32 {
        allocationCalls &+= 1
        guard let p = libcMemalign(alignment, size) else { return ENOMEM }
        out.pointee = p
        return 0
    }

    @_cdecl("aligned_alloc") public func countingAlignedAlloc(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer? {
        allocationCalls &+= 1
        return libcMemalign(alignment, size)
    }
#else
    nonisolated(unsafe) var allocationCalls: Int = 0
    let allocationCountingWorks = false
#endif
