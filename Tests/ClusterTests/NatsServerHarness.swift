// Test harness: real nats-server processes on free loopback ports — one JetStream server for the
// lease tests, or a three-server cluster (routes between every pair) for the routing tests. No
// mock stands in for NATS. Each server gets its own temporary store directory, removed on stop.

import Foundation
import Glibc
import XCTest

final class NatsServerProcess {
    let name: String
    let clientPort: Int
    let clusterPort: Int
    let storeDirectory: String
    private let process = Process()

    var url: String { "nats://127.0.0.1:\(clientPort)" }

    /// Starts `nats-server`; `routes` are the cluster ports of the other servers.
    /// `clientPort` 0 = a free one (a restart passes the old server's port).
    init(name: String, clusterPort: Int, routes: [Int], jetStream: Bool, clientPort: Int = 0) throws {
        self.name = name
        self.clientPort = clientPort > 0 ? clientPort : try freeLoopbackPort()
        self.clusterPort = clusterPort
        storeDirectory = NSTemporaryDirectory() + "fastbroker-nats-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: true)
        var arguments = ["-a", "127.0.0.1", "-p", String(self.clientPort), "-n", name]
        if clusterPort > 0 {
            arguments += ["--cluster_name", "fastbroker-test", "--cluster", "nats://127.0.0.1:\(clusterPort)", "--no_advertise"]
            if !routes.isEmpty { arguments += ["--routes", routes.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",")] }
        }
        if jetStream { arguments += ["-js", "-sd", storeDirectory] }
        process.executableURL = URL(fileURLWithPath: try Self.serverPath())
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !isAccepting(port: self.clientPort) {
            guard process.isRunning else { throw HarnessError("nats-server exited (\(process.terminationStatus)): \(arguments)") }
            guard Date() < deadline else { throw HarnessError("nats-server did not accept on \(self.clientPort) within 10 s") }
            usleep(20_000)
        }
    }

    /// Sends `signal` to the server (SIGSTOP stalls it with its sockets open, SIGCONT resumes).
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: storeDirectory)
    }

    static func serverPath() throws -> String {
        for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw HarnessError("nats-server is not installed (scripts/setup.sh --test installs it)")
    }
}

/// Three routed servers on loopback.
final class NatsTestCluster {
    let servers: [NatsServerProcess]

    init(size: Int = 3, jetStream: Bool = false) throws {
        let clusterPorts = try (0..<size).map { _ in try freeLoopbackPort() }
        var started: [NatsServerProcess] = []
        for i in 0..<size {
            let others = clusterPorts.enumerated().filter { $0.offset != i }.map(\.element)
            started.append(try NatsServerProcess(name: "s\(i)", clusterPort: clusterPorts[i], routes: others, jetStream: jetStream))
        }
        servers = started
    }

    func stop() { servers.forEach { $0.stop() } }
}

/// A port the kernel just handed out for 127.0.0.1 (closed again; a race with another process
/// taking it meanwhile is possible but rare).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func isAccepting(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Polls `condition` every 5 ms until it holds or `seconds` pass; returns whether it held.
@discardableResult
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
