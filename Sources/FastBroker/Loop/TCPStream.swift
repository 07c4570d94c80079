// One accepted TCP connection on one loop. Reads go straight into memory the delegate
// provides (its receive ring); writes are vectored, try-write first, with at most one queued
// uv_write in flight. Owned by its loop thread for its whole life.

import CUV
import Glibc

/// What a stream reports to its connection. All calls arrive on the stream's loop thread.
public protocol TCPStreamDelegate: AnyObject {
    /// Contiguous memory to read into. An empty buffer pauses reading (backpressure) until
    /// `startReading` is called again.
    func streamReadBuffer(_ stream: TCPStream) -> UnsafeMutableRawBufferPointer
    func stream(_ stream: TCPStream, didRead count: Int)
    /// The peer closed its side (error nil) or reading failed.
    func streamDidEnd(_ stream: TCPStream, error: UVError?)
    /// The queued write finished (or failed).
    func streamDidFinishWrite(_ stream: TCPStream, error: UVError?)
    func streamDidClose(_ stream: TCPStream)
}

public final class TCPStream {
    let handle: UnsafeMutablePointer<uv_tcp_t>
    private let writeRequest: UnsafeMutablePointer<uv_write_t>
    public let loop: EventLoop
    // All fields below: owned by the loop thread.
    public var delegate: TCPStreamDelegate?
    public private(set) var isClosing = false
    public private(set) var isReading = false
    public private(set) var writeInFlight = false

    init(loop: EventLoop) throws(UVError) {
        self.loop = loop
        handle = .allocate(capacity: 1)
        writeRequest = .allocate(capacity: 1)
        let rc = uv_tcp_init(loop.uv, handle)
        if rc < 0 {
            handle.deallocate(); writeRequest.deallocate()
            throw UVError(rc, "uv_tcp_init")
        }
        // libuv holds this reference until the close callback.
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self) }
    var rawHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self) }

    @inline(__always)
    static func from(_ stream: UnsafeMutablePointer<uv_stream_t>?) -> TCPStream {
        Unmanaged<TCPStream>.fromOpaque(stream!.pointee.data).takeUnretainedValue()
    }

    public func setNoDelay(_ on: Bool) { uv_tcp_nodelay(handle, on ? 1 : 0) }

    public func startReading() {
        guard !isReading, !isClosing else { return }
        isReading = true
        uv_read_start(stream, { handle, _, buf in
            let me = TCPStream.from(UnsafeMutableRawPointer(handle!).assumingMemoryBound(to: uv_stream_t.self))
            let region = me.delegate?.streamReadBuffer(me) ?? UnsafeMutableRawBufferPointer(start: nil, count: 0)
            buf!.pointee = uv_buf_init(region.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(region.count))
        }, { stream, nread, _ in
            let me = TCPStream.from(stream)
            if nread > 0 {
                me.delegate?.stream(me, didRead: nread)
            } else if nread == Int(UV_ENOBUFS.rawValue) {
                me.stopReading()          // the delegate's buffer is full: wait for it to drain
            } else if nread < 0 {
                me.stopReading()
                let error = UVError(Int32(nread), "read")
                me.delegate?.streamDidEnd(me, error: error.isEndOfFile ? nil : error)
            }
        })
    }

    public func stopReading() {
        guard isReading else { return }
        isReading = false
        uv_read_stop(stream)
    }

    /// Writes as much of `vector` as the socket takes now; returns the bytes written (0 when
    /// the socket would block).
    public func tryWrite(_ vector: WriteVector) -> Result<Int, UVError> {
        if vector.count == 0 { return .success(0) }
        let rc = uv_try_write(stream, vector.buffers, UInt32(vector.count))
        if rc >= 0 { return .success(Int(rc)) }
        if rc == Int32(UV_EAGAIN.rawValue) || rc == Int32(UV_ENOSYS.rawValue) { return .success(0) }
        return .failure(UVError(rc, "write"))
    }

    /// Queues a write of `vector`; the memory it points at must stay valid until
    /// `streamDidFinishWrite`. libuv copies the vector itself, so it may be reused at once.
    public func write(_ vector: WriteVector) throws(UVError) {
        precondition(!writeInFlight, "one queued write at a time")
        writeRequest.pointee.data = handle.pointee.data
        let rc = uv_write(writeRequest, stream, vector.buffers, UInt32(vector.count)) { req, status in
            let me = Unmanaged<TCPStream>.fromOpaque(req!.pointee.data).takeUnretainedValue()
            me.writeInFlight = false
            me.delegate?.streamDidFinishWrite(me, error: status < 0 ? UVError(status, "write") : nil)
        }
        try UVError.check(rc, "uv_write")
        writeInFlight = true
    }

    /// Closes the socket. Pending writes complete with UV_ECANCELED first; then the delegate
    /// gets `streamDidClose` and the stream is released.
    public func close() {
        guard !isClosing else { return }
        isClosing = true
        isReading = false
        uv_close(rawHandle) { handle in
            let me = Unmanaged<TCPStream>.fromOpaque(handle!.pointee.data).takeRetainedValue()
            me.delegate?.streamDidClose(me)
            me.delegate = nil
            me.handle.deallocate()
            me.writeRequest.deallocate()
        }
    }

    /// "ip:port" of the peer, for logs.
    public var peerDescription: String {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(handle, $0, &length) }
        }
        guard rc == 0 else { return "?" }
        return SocketAddress.describe(&storage)
    }
}

extension TCPStream {
    /// Bytes handed to `write` that libuv has not yet passed to the kernel.
    public var pendingWriteBytes: Int { Int(uv_stream_get_write_queue_size(stream)) }
}
