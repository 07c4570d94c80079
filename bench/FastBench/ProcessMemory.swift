// The broker's resident memory (VmRSS of /proc/PID/status), sampled with --broker-pid at the end
// of the measuring window: what 10,000 connections or 100,000 subscriptions cost while in use.

import Glibc

enum ProcessMemory {
    /// VmRSS in KiB; nil when the process is gone or the line is missing.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let text = procText("/proc/\(pid)/status") else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}

/// The text of a small /proc file (its first 8 KiB), nil when it cannot be opened.
func procText(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes = [UInt8](repeating: 0, count: 8192)
    let count = fread(&bytes, 1, bytes.count, file)
    return String(decoding: bytes[0..<count], as: UTF8.self)
}
