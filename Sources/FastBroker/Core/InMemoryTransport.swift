// A connection's byte stream held in memory, so a Connection — and the Session and Router behind
// it — runs in unit tests without a socket or a port (SwiftNIO's EmbeddedChannel is the model).
// The test writes the client's bytes in (`clientSends`), turns the loop (EventLoop.runOnce),
// and reads what the broker wrote (`readOutput`).
//
// It keeps the promises of a libuv stream that the connection relies on: bytes are handed over
// only while reading is started, into the buffer the connection provides; a try-write takes what
// fits in the simulated kernel socket buffer (`socketBufferBytes`), the rest becomes the one
// queued write, which completes once the client has read enough; the close completes on a later
// loop turn. Owned by its loop thread (the test's thread while it drives the loop).

import BrokerLoop

final class InMemoryTransport {
    let peerDescription: String
    let loop: EventLoop
    // All fields below: owned by the loop thread.
    /// The connection, from attach until the close completes (TCPStream holds its delegate so).
    var connection: Connection?
    private(set) var isReading = false
    private(set) var writeInFlight = false
    /// `close` was called; `isClosed` once the connection heard of it.
    private(set) var isClosing = false
    private(set) var isClosed = false
    /// How many written bytes the simulated kernel buffers before writes block; the client makes
    /// room by reading. Int.max: writes never block.
    var socketBufferBytes: Int
    /// The next try-write or write fails with this (a reset socket).
    var failNextWrite: UVError?
    /// Written by the broker, not yet read by the client.
    private var socketBuffer: [UInt8] = []
    /// The queued write's bytes not yet in the socket buffer.
    private var queuedWrite: [UInt8] = []
    /// Sent by the client, not yet read by the connection.
    private var clientBytes: [UInt8] = []
    /// The client's end of stream (nil error: FIN), delivered after `clientBytes`.
    private var clientEnd: UVError??
    /// Wakes the loop for work the connection must hear of on a later turn (like libuv's poll).
    private var wakeTimer: LoopTimer?

    init(loop: EventLoop, peer: String = "in-memory", socketBufferBytes: Int = .max) {
        self.loop = loop
        peerDescription = peer
        self.socketBufferBytes = socketBufferBytes
    }

    // MARK: - The client's side (tests)

    /// The client sends `bytes`; the connection reads them now if it is reading (and has room),
    /// otherwise once it starts reading again.
    func clientSends(_ bytes: [UInt8]) {
        clientBytes.append(contentsOf: bytes)
        deliverClientInput()
    }

    /// The client half-closes (FIN; `error` nil) or its socket fails.
    func clientCloses(error: UVError? = nil) {
        clientEnd = .some(error)
        deliverClientInput()
    }

    /// Bytes sent by the client that the connection has not read yet.
    var unreadClientBytes: Int { clientBytes.count }

    /// Bytes of the queued write libuv would still hold.
    var pendingWriteBytes: Int { queuedWrite.count }

    /// What the broker wrote that the client had not read, up to `maxBytes`; reading makes room
    /// in the socket buffer, so the queued write may move on and complete (as libuv reports it).
    func readOutput(maxBytes: Int = .max) -> [UInt8] {
        let count = min(maxBytes, socketBuffer.count)
        let taken = Array(socketBuffer.prefix(count))
        socketBuffer.removeFirst(count)
        moveQueuedWrite()
        return taken
    }

    // MARK: - The connection's side (ConnectionTransport)

    func startReading() {
        guard !isReading, !isClosing else { return }
        isReading = true
        if !clientBytes.isEmpty || clientEnd != nil { wakeLater() }   // libuv reads on the next poll
    }

    func stopReading() { isReading = false }

    func tryWrite(_ vector: WriteVector) -> Result<Int, UVError> {
        if let error = failNextWrite {
            failNextWrite = nil
            return .failure(error)
        }
        var room = max(0, socketBufferBytes - socketBuffer.count)
        var written = 0
        vector.forEachBuffer { bytes in
            let n = min(room, bytes.count)
            socketBuffer.append(contentsOf: bytes.prefix(n))
            room -= n
            written += n
        }
        return .success(written)
    }

    func write(_ vector: WriteVector) throws(UVError) {
        precondition(!writeInFlight, "one queued write at a time")
        vector.forEachBuffer { queuedWrite.append(contentsOf: $0) }   // libuv keeps pointers; a copy is the same bytes
        writeInFlight = true
        moveQueuedWrite()
    }

    func close() {
        guard !isClosing else { return }
        isClosing = true
        isReading = false
        wakeLater()
    }

    // MARK: - Internals

    /// Moves queued bytes into the socket buffer as room allows; the write completes (on a later
    /// turn, as libuv's callback) once all of it is in.
    private func moveQueuedWrite() {
        guard writeInFlight else { return }
        let n = min(queuedWrite.count, max(0, socketBufferBytes - socketBuffer.count))
        socketBuffer.append(contentsOf: queuedWrite.prefix(n))
        queuedWrite.removeFirst(n)
        if queuedWrite.isEmpty { wakeLater() }
    }

    private func wakeLater() {
        if wakeTimer == nil { wakeTimer = LoopTimer(loop: loop) }
        wakeTimer?.start(milliseconds: 0) { [unowned self] in self.wake() }
    }

    /// One loop turn's worth of events, in libuv's order: the write callback, reads, the close.
    private func wake() {
        if writeInFlight && (queuedWrite.isEmpty || isClosing) {
            // A write cut short by the close is cancelled, as libuv does before the close callback.
            let error: UVError? = queuedWrite.isEmpty ? nil : .canceled(operation: "write")
            queuedWrite.removeAll()
            writeInFlight = false
            connection?.writeDidFinish(error: error)
        }
        deliverClientInput()
        if isClosing && !isClosed {
            isClosed = true
            wakeTimer?.close()
            wakeTimer = nil
            let connection = self.connection
            self.connection = nil
            connection?.transportDidClose()
        }
    }

    private func deliverClientInput() {
        while isReading, !isClosing, let connection {
            if clientBytes.isEmpty {
                guard let end = clientEnd else { return }
                clientEnd = nil
                isReading = false   // libuv stops reading at EOF or a read error
                return connection.inputDidEnd(error: end)
            }
            let buffer = connection.readBuffer()
            guard buffer.count > 0 else { return stopReading() }   // full: libuv's UV_ENOBUFS
            let n = min(buffer.count, clientBytes.count)
            clientBytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            clientBytes.removeFirst(n)
            connection.didRead(n)
        }
    }
}
