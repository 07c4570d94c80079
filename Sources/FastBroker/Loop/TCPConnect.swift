// Client side of TCP: opening an outgoing connection on a loop. The broker only accepts; the
// bundled load tool (bench/FastBench) and tests connect. Once connected, the stream is the same
// TCPStream an accepted connection gets (delegate, vectored writes, reads into caller memory).

import CUV

extension TCPStream {
    /// Connects to `host:port` (an IPv4/IPv6 literal or "localhost") on `loop`, then calls
    /// `completion` on the loop thread with the stream (TCP_NODELAY set, not yet reading) or the
    /// error. Must be called on the loop thread.
    public static func connect(loop: EventLoop, host: String, port: Int,
                               _ completion: @escaping (Result<TCPStream, UVError>) -> Void) {
        let stream: TCPStream
        var storage: sockaddr_storage
        do throws(UVError) {
            storage = try SocketAddress.resolve(host: host, port: port)
            stream = try TCPStream(loop: loop)
        } catch {
            completion(.failure(error))
            return
        }
        let pending = PendingConnect(stream: stream, completion: completion)
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(pending).toOpaque()
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                uv_tcp_connect(request, stream.handle, address) { request, status in
                    let pending = Unmanaged<PendingConnect>.fromOpaque(request!.pointee.data).takeRetainedValue()
                    request!.deallocate()
                    pending.finish(status: status)
                }
            }
        }
        if rc < 0 {
            Unmanaged<PendingConnect>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            stream.close()
            completion(.failure(UVError(rc, "connect \(host):\(port)")))
        }
    }
}

/// The state of one uv_tcp_connect between the call and its callback; owned by the loop thread.
private final class PendingConnect {
    let stream: TCPStream
    let completion: (Result<TCPStream, UVError>) -> Void

    init(stream: TCPStream, completion: @escaping (Result<TCPStream, UVError>) -> Void) {
        self.stream = stream
        self.completion = completion
    }

    func finish(status: Int32) {
        if status < 0 {
            stream.close()
            completion(.failure(UVError(status, "connect")))
        } else {
            stream.setNoDelay(true)
            completion(.success(stream))
        }
    }
}
