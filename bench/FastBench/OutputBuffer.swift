// Outbound bytes of one connection, double-buffered: frames are appended to `filling` while
// `sending` belongs to the one queued uv_write. A flush try-writes `filling` directly; only what
// the socket did not take is handed to uv_write, by swapping the two buffers (no copy).

final class OutputBuffer {
    /// New frames go here. Owned by the connection's loop thread.
    private(set) var filling = GrowableBytes(capacity: 1 << 16)
    /// Held by the queued uv_write until it completes. Owned by the connection's loop thread.
    private var sending = GrowableBytes(capacity: 1 << 16)

    var pendingBytes: Int { filling.count }

    @inline(__always)
    func reserve(_ extra: Int) -> UnsafeMutableRawPointer { filling.reserve(extra) }

    @inline(__always)
    func commit(_ written: Int) { filling.count += written }

    /// Everything pending went out with a try-write.
    func didWriteAll() { filling.count = 0 }

    /// The socket took only `written` bytes: the rest moves to the sending side and is returned
    /// for uv_write; it stays valid until `didFinishSending`.
    func startSending(afterWritten written: Int) -> UnsafeRawBufferPointer {
        swap(&filling, &sending)
        filling.count = 0
        return UnsafeRawBufferPointer(start: sending.base + written, count: sending.count - written)
    }

    func didFinishSending() { sending.count = 0 }
}
