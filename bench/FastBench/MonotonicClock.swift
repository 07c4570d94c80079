// The one clock of the load tool: CLOCK_MONOTONIC in nanoseconds. Publishers stamp it into each
// payload and subscribers subtract it on arrival; both run in this process, so no clock sync.

import Glibc

enum MonotonicClock {
    @inline(__always)
    static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
