// CPU time of the whole machine (the aggregate `cpu` line of /proc/stat), sampled at the edges of
// the measuring window like the tool's and the broker's own: what is left after subtracting those
// two is what other processes used meanwhile — on a shared VM, the reason a run came out slow.

import Glibc

struct MachineCPU {
    /// Seconds of CPU spent busy (user, nice, system, irq, softirq), summed over all CPUs.
    var busySeconds: Double
    /// Seconds the hypervisor ran something else while a CPU of this VM wanted to run.
    var stealSeconds: Double

    /// Nil when /proc/stat cannot be read (not Linux).
    static func now() -> MachineCPU? {
        guard let file = fopen("/proc/stat", "r") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = fread(&bytes, 1, bytes.count, file)
        guard let line = String(decoding: bytes[0..<count], as: UTF8.self).split(separator: "\n").first,
              line.hasPrefix("cpu ") else { return nil }
        // cpu user nice system idle iowait irq softirq steal ...
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return MachineCPU(busySeconds: (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / ticks,
                          stealSeconds: fields[7] / ticks)
    }

    static func - (a: MachineCPU, b: MachineCPU) -> MachineCPU {
        MachineCPU(busySeconds: a.busySeconds - b.busySeconds, stealSeconds: a.stealSeconds - b.stealSeconds)
    }
}
