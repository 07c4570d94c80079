// The byte stream under a Connection: a libuv TCP socket in production, or an in-memory pipe
// (InMemoryTransport.swift) that unit tests drive, so a connection and the session and router
// behind it run without a socket. An enum, not a protocol existential, on the write path: each
// write is a two-way branch the optimizer sees through, and the queue's write path is
// specialized for it, so the TCP data path pays no dynamic dispatch for the seam. The rare
// calls (reading on/off, close, state queries) go through the ByteStream both kinds implement.

import BrokerLoop

enum ConnectionTransport {
    case tcp(TCPStream)
    case inMemory(InMemoryTransport)

    /// Makes `connection` the receiver of reads, write completions and the close. Both kinds
    /// hold it strongly until their close completes.
    func attach(_ connection: Connection) {
        switch self {
        case .tcp(let stream): stream.delegate = connection
        case .inMemory(let memory): memory.connection = connection
        }
    }

    /// The stream behind either case, for the calls off the write path (one dynamic call each;
    /// `tryWrite` and `write` below switch, so the data path stays specialized).
    private var stream: any ByteStream {
        switch self {
        case .tcp(let stream): stream
        case .inMemory(let memory): memory
        }
    }

    /// "ip:port" of the peer (a test's name for an in-memory one), for logs and the per-IP cap.
    var peerDescription: String { stream.peerDescription }
    var isReading: Bool { stream.isReading }
    /// A queued write is in flight (its memory must stay put until it finishes).
    var writeInFlight: Bool { stream.writeInFlight }
    /// Bytes of the queued write not yet handed to the kernel.
    var pendingWriteBytes: Int { stream.pendingWriteBytes }
    // Out of line: the read pause sits in a cold branch of outboundChanged (once per event);
    // inlined, the existential call there costs it extra saved registers on every call.
    @inline(never) func startReading() { stream.startReading() }
    @inline(never) func stopReading() { stream.stopReading() }
    /// Closes the stream; the connection hears `transportDidClose` on a later loop turn.
    func close() { stream.close() }
}

/// What a connection asks of its byte stream besides writing; TCPStream and InMemoryTransport
/// both answer it.
protocol ByteStream: AnyObject {
    var peerDescription: String { get }
    var isReading: Bool { get }
    var writeInFlight: Bool { get }
    var pendingWriteBytes: Int { get }
    func startReading()
    func stopReading()
    func close()
}

extension TCPStream: ByteStream {}
extension InMemoryTransport: ByteStream {}

/// Where an OutboundQueue writes: a try-write of what the socket takes now, then at most one
/// queued write for the rest. Generic use (not `any WriteSink`): calls are specialized.
protocol WriteSink {
    func tryWrite(_ vector: WriteVector) -> Result<Int, UVError>
    func write(_ vector: WriteVector) throws(UVError)
}

extension TCPStream: WriteSink {}

extension ConnectionTransport: WriteSink {
    @inline(__always)
    func tryWrite(_ vector: WriteVector) -> Result<Int, UVError> {
        switch self {
        case .tcp(let stream): stream.tryWrite(vector)
        case .inMemory(let memory): memory.tryWrite(vector)
        }
    }

    func write(_ vector: WriteVector) throws(UVError) {
        switch self {
        case .tcp(let stream): try stream.write(vector)
        case .inMemory(let memory): try memory.write(vector)
        }
    }
}

/// libuv's callbacks, forwarded to the transport-neutral entry points (the in-memory
/// transport calls those directly).
extension Connection: TCPStreamDelegate {
    func streamReadBuffer(_ stream: TCPStream) -> UnsafeMutableRawBufferPointer { readBuffer() }
    func stream(_ stream: TCPStream, didRead count: Int) { didRead(count) }
    func streamDidEnd(_ stream: TCPStream, error: UVError?) { inputDidEnd(error: error) }
    func streamDidFinishWrite(_ stream: TCPStream, error: UVError?) { writeDidFinish(error: error) }
    func streamDidClose(_ stream: TCPStream) { transportDidClose() }
}
