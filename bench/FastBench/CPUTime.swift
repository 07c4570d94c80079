// CPU time of the load tool itself (getrusage) and, when given its pid, of the broker
// (/proc/PID/stat), sampled at the edges of the measuring window so every figure can say how
// busy the tool was: a tool near 100% of a core may be the bottleneck.

import Glibc

struct CPUTime {
    var userSeconds: Double
    var systemSeconds: Double
    var total: Double { userSeconds + systemSeconds }

    static func ofThisProcess() -> CPUTime {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return CPUTime(userSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
                       systemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6)
    }

    /// utime and stime (fields 14 and 15) of /proc/PID/stat; nil when the process is gone.
    static func ofProcess(_ pid: Int32) -> CPUTime? {
        guard let text = procText("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) is parenthesised and may hold spaces: split after its ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return CPUTime(userSeconds: user / ticks, systemSeconds: system / ticks)
    }

    static func - (a: CPUTime, b: CPUTime) -> CPUTime {
        CPUTime(userSeconds: a.userSeconds - b.userSeconds, systemSeconds: a.systemSeconds - b.systemSeconds)
    }
}
