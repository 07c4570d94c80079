// A listening TCP socket on one loop. With `reusePort`, every loop binds its own listener to
// the same port (SO_REUSEPORT) and the kernel spreads connections across them. libuv 1.44 has
// no UV_TCP_REUSEPORT, so the socket is created first (uv_tcp_init_ex) and the option set on
// its fd before bind.

import CUV
import Glibc

public final class TCPListener {
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    public let loop: EventLoop
    // Owned by the loop thread.
    private let onAccept: (TCPStream) -> Void
    private var isClosed = false

    public init(loop: EventLoop, host: String, port: Int, reusePort: Bool, backlog: Int32 = 1024,
                onAccept: @escaping (TCPStream) -> Void) throws(UVError) {
        self.loop = loop
        self.onAccept = onAccept
        var storage = try SocketAddress.resolve(host: host, port: port)
        handle = .allocate(capacity: 1)
        let family = UInt32(storage.ss_family)
        let rc = uv_tcp_init_ex(loop.uv, handle, family)
        if rc < 0 { handle.deallocate(); throw UVError(rc, "uv_tcp_init_ex") }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        do throws(UVError) {
            if reusePort {
                var fd: uv_os_fd_t = -1
                try UVError.check(uv_fileno(rawHandle, &fd), "uv_fileno")
                var one: Int32 = 1
                if setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                    throw UVError(-errno, "setsockopt(SO_REUSEPORT)")
                }
            }
            let bindRC = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(handle, $0, 0) }
            }
            try UVError.check(bindRC, "bind \(host):\(port)")
            // libuv defers bind errors (EADDRINUSE) to listen.
            try UVError.check(uv_listen(stream, backlog) { server, status in
                let me = Unmanaged<TCPListener>.fromOpaque(server!.pointee.data).takeUnretainedValue()
                guard status >= 0 else { return }
                me.acceptOne()
            }, "listen \(host):\(port)")
        } catch {
            close()
            throw error
        }
    }

    /// SO_REUSEPORT would let a second process bind a port this broker means to own and
    /// silently take half its connections. Before the first loop binds, a socket without that
    /// option probes the address: if anything listens there, refuse to start. The probe sets
    /// SO_REUSEADDR (as libuv does for the real listeners), so connections left in TIME_WAIT by
    /// a broker that just stopped do not count as "taken": on Linux, SO_REUSEADDR still fails
    /// the bind while any socket listens on the port.
    public static func ensurePortIsFree(host: String, port: Int) throws(UVError) {
        guard port != 0 else { return }
        var storage = try SocketAddress.resolve(host: host, port: port)
        let fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UVError(-errno, "socket") }
        defer { Glibc.close(fd) }
        var one: Int32 = 1
        if setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw UVError(-errno, "setsockopt(SO_REUSEADDR)")
        }
        let length = socklen_t(storage.ss_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        if rc != 0 {
            let code = -errno
            throw UVError(code, code == Int32(UV_EADDRINUSE.rawValue)
                ? "port \(host):\(port) is in use by another process (is another broker running?)"
                : "bind \(host):\(port)")
        }
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self) }
    private var rawHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self) }

    private func acceptOne() {
        guard let client = try? TCPStream(loop: loop) else { return }
        if uv_accept(stream, client.stream) == 0 {
            client.setNoDelay(true)
            onAccept(client)
        } else {
            client.close()
        }
    }

    /// The port actually bound (differs from the requested one when it was 0).
    public var boundPort: Int {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(handle, $0, &length) }
        }
        return SocketAddress.port(&storage)
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_close(rawHandle) { handle in
            let me = Unmanaged<TCPListener>.fromOpaque(handle!.pointee.data).takeRetainedValue()
            me.handle.deallocate()
        }
    }
}
