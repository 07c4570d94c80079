// TLS between a connection's transport and its framing: ciphertext read from the socket is
// decrypted straight into the receive ring; plaintext frames collect in the output queue and are
// sealed into records once per loop iteration (at the flush), into a ciphertext queue the socket
// is written from. OpenSSL itself is behind TLSConnection (BrokerSecurity).

import BrokerSecurity

/// A TLS connection's state. Owned by the connection's loop thread.
final class TLSTransport {
    let engine: TLSConnection
    /// The buffer the transport reads ciphertext into; nil once the connection is closed.
    private(set) var ciphertextIn: UnsafeMutableRawBufferPointer?
    /// Sealed records waiting to be written: the queue the socket is written from.
    let ciphertextOut = OutboundQueue()

    init(context: TLSServerContext) throws(TLSError) {
        engine = try TLSConnection(context: context)
        ciphertextIn = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { releaseInputBuffer() }

    func releaseInputBuffer() {
        ciphertextIn?.deallocate()
        ciphertextIn = nil
    }
}

extension Connection {
    /// `count` bytes of ciphertext arrived in `tls.ciphertextIn`.
    func receiveCiphertext(_ count: Int, _ tls: TLSTransport) {
        guard let ciphertextIn = tls.ciphertextIn else { return }
        tls.engine.receive(ciphertext: UnsafeRawBufferPointer(rebasing: ciphertextIn[0..<count]))
        decryptAndProcess(tls)
        if tls.engine.hasBufferedCiphertext { inputClock.notePartialRecord(at: context.loop.now) }
    }

    /// Advances the handshake and decrypts straight into the receive ring, feeding each batch of
    /// plaintext to the framing; handshake replies and alerts go out with the flush.
    func decryptAndProcess(_ tls: TLSTransport) {
        while closeState == .open && !readPauses.contains(.outbound) {
            if ring.writableBytes == 0 { processInput() }   // frees room if whole frames are buffered
            let region = ring.writableRegion()
            // Nowhere to decrypt to (input processing stopped): stop reading, or OpenSSL would
            // buffer ciphertext without bound; resuming input decrypts again.
            guard region.count > 0 else { return pauseReading(.receiveRingFull) }
            if readPauses.contains(.receiveRingFull) { clearReadPause(.receiveRingFull) }
            switch tls.engine.readPlaintext(into: region) {
            case .bytes(let n):
                if n > 0 {
                    ring.didWrite(n)
                    processInput()
                } else if !tls.engine.needsReadAgain {
                    if tls.engine.hasPendingCiphertext { scheduleFlush() }
                    return
                }
            case .closed:
                endSession(reason: "TLS close_notify from the peer")
                closeAfterFlush()
                return
            case .failed(let error):
                context.metrics.tlsFailures.increment()
                context.log.info("TLS failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
                endSession(reason: "TLS: \(error)")
                closeAfterFlush()   // sends the alert OpenSSL produced, if any
                return
            }
        }
        if tls.engine.hasPendingCiphertext { scheduleFlush() }
    }

    /// The peer hung up during the handshake (e.g. it did not trust our certificate and left
    /// without an alert): counted and logged like any failed handshake. Returns false once the
    /// handshake had completed.
    func tlsHandshakeAbandoned(_ tls: TLSTransport) -> Bool {
        guard !tls.engine.isHandshakeComplete else { return false }
        context.metrics.tlsFailures.increment()
        context.log.info("TLS failed", metadata: ["peer": "\(peer)", "error": "peer closed the connection during the TLS handshake"])
        return true
    }

    /// Moves the plaintext frames into records (full-size, gathered across frames) and queues
    /// the ciphertext; on close, a close_notify goes last.
    func seal(_ tls: TLSTransport) {
        if !output.queue.isEmpty && tls.engine.isHandshakeComplete {
            output.queue.drain { bytes in _ = tls.engine.write(plaintext: bytes) }
        }
        if closeState >= .flushingToClose && output.queue.isEmpty { tls.engine.shutdown() }
        guard tls.engine.hasPendingCiphertext else { return }
        let chunk = context.bufferPool.take(capacity: 0)
        chunk.encode { _ = tls.engine.takeCiphertext(into: &$0) }   // swaps into the pool's scratch, then one copy
        tls.ciphertextOut.append(header: (0, 0), headerLength: 0, message: chunk)
    }
}
