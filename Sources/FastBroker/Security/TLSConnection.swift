// One connection's TLS state machine over in-memory transport: the connection's socket code
// (libuv) keeps doing all I/O; this object only turns ciphertext into plaintext and back.
//
// Ownership: created and used on the connection's loop thread only (not Sendable). Input:
// ciphertext is copied into a memory BIO (`receive`), and `readPlaintext` decrypts straight into
// the caller's buffer (the receive ring's free region). Output: `write` stages plaintext into
// full-size records, `takeCiphertext` seals them and hands over the ciphertext, which OpenSSL
// wrote into a Swift array through a custom BIO (TLSCiphertextSink). Nothing here blocks or
// allocates per message once the buffers are warm.

import COpenSSL

/// What `readPlaintext` did.
public enum TLSReadResult: Equatable {
    /// Plaintext bytes written into the buffer. 0 = nothing to deliver now: more ciphertext is
    /// needed, or the buffer was empty (see `needsReadAgain`).
    case bytes(Int)
    /// The peer sent close_notify: no more plaintext will come. Answer with `shutdown()`.
    case closed
    /// The handshake or a record failed. Send what `takeCiphertext` still gives (an alert, if
    /// OpenSSL produced one), then close the socket. Sticky: later calls return it again.
    case failed(TLSError)
}

public final class TLSConnection {
    enum State: Equatable {
        case handshaking, established, closedByPeer
        case failed(TLSError)
    }

    /// Largest TLS plaintext record; staging up to this many bytes makes one full record.
    static let recordSize = 16 * 1024
    /// XN_FLAG_RFC2253 (a macro of macros Swift does not import), as OpenSSL 3.0 defines it.
    static let rfc2253Flags: UInt = 0x1110317

    /// The SSL object (internal so tests can drive OpenSSL features directly, e.g. key updates).
    let ssl: OpaquePointer
    /// Incoming ciphertext (a memory BIO owned by `ssl`; kept to measure its backlog).
    private let readBIO: OpaquePointer
    private let sink = TLSCiphertextSink()
    private let isServer: Bool
    // All fields below: owned by the connection's loop thread.
    private var state: State = .handshaking
    private var shutdownSent = false
    /// The last `readPlaintext` stopped because its buffer was full (or empty), not because the
    /// ciphertext ran out: more plaintext may be waiting inside OpenSSL. Call `readPlaintext`
    /// again once the destination has room, even if no new bytes arrive from the socket.
    public private(set) var needsReadAgain = false
    /// Plaintext not yet sealed into a record (allocated on the first write).
    private var staging: UnsafeMutableRawPointer?
    private var stagedCount = 0
    /// The first 16 bytes the peer sent, kept to explain a handshake that is not TLS at all.
    private var firstBytes: (UInt64, UInt64) = (0, 0)
    private var firstBytesCount = 0

    /// A server-side connection (the broker's accepted sockets).
    public convenience init(context: TLSServerContext) throws(TLSError) {
        try self.init(ctx: context.ctx, isServer: true)
        SSL_set_accept_state(ssl)
    }

    /// A client-side connection: used by tests and the load tool, not by the broker. Call
    /// `startHandshake()` and send what `takeCiphertext` gives (the ClientHello).
    /// `serverName` is sent as SNI and, when the context verifies the server, checked against
    /// the certificate's names.
    public convenience init(clientContext: TLSClientContext, serverName: String? = nil) throws(TLSError) {
        try self.init(ctx: clientContext.ctx, isServer: false)
        SSL_set_connect_state(ssl)
        if let serverName {
            // SSL_set_tlsext_host_name is a macro over SSL_ctrl.
            let ok = serverName.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
            guard ok == 1 else { throw TLSError.openSSL("cannot set server name \(serverName)") }
            if clientContext.verifiesServer {
                guard SSL_set1_host(ssl, serverName) == 1 else { throw TLSError.openSSL("cannot set expected host \(serverName)") }
            }
        }
    }

    private init(ctx: OpaquePointer, isServer: Bool) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(ctx) else { throw TLSError.openSSL("cannot create TLS connection") }
        guard let readBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.openSSL("cannot create TLS input buffer")
        }
        guard let writeBIO = TLSCiphertextSink.makeBIO(sink) else {
            BIO_free(readBIO); SSL_free(ssl)
            throw TLSError.openSSL("cannot create TLS output buffer")
        }
        SSL_set_bio(ssl, readBIO, writeBIO)   // ssl owns both BIOs from here
        self.ssl = ssl
        self.readBIO = readBIO
        self.isServer = isServer
    }

    deinit {
        SSL_free(ssl)   // frees both BIOs; the sink object outlives it (released after deinit)
        staging?.deallocate()
    }

    // MARK: - State

    public var isHandshakeComplete: Bool { state == .established || state == .closedByPeer }

    /// "TLSv1.3" / "TLSv1.2" once the handshake is complete.
    public var negotiatedProtocol: String? {
        guard isHandshakeComplete, let version = SSL_get_version(ssl) else { return nil }
        return String(cString: version)
    }

    /// E.g. "TLS_AES_256_GCM_SHA384", once the handshake is complete.
    public var negotiatedCipher: String? {
        guard isHandshakeComplete, let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return nil }
        return String(cString: name)
    }

    /// The verified peer certificate's subject in RFC 2253 form ("CN=alice,O=Example"), or nil.
    public var peerCertificateSubject: String? {
        guard isHandshakeComplete, let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        guard let name = X509_get_subject_name(certificate), let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, Self.rfc2253Flags) >= 0 else { return nil }
        var text = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let n = BIO_read(bio, &text, Int32(text.count))
        return String(decoding: text.prefix(max(Int(n), 0)), as: UTF8.self)
    }

    /// Bytes of received ciphertext not yet decrypted (for read backpressure).
    public var bufferedCiphertextBytes: Int { Int(BIO_ctrl_pending(readBIO)) }

    /// Received ciphertext not yet turned into plaintext, in the read BIO or as a partial record
    /// inside OpenSSL (frame_timeout_ms counts it as a partial frame).
    public var hasBufferedCiphertext: Bool { BIO_ctrl_pending(readBIO) > 0 || SSL_has_pending(ssl) == 1 }

    /// `takeCiphertext` would return something: send it.
    public var hasPendingCiphertext: Bool { !sink.bytes.isEmpty || stagedCount > 0 }

    // MARK: - Input

    /// Ciphertext read from the socket. Copied; the memory may be reused at once.
    public func receive(ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, ciphertext.count > 0 else { return }
        if firstBytesCount < 16 {
            let take = min(16 - firstBytesCount, ciphertext.count)
            withUnsafeMutableBytes(of: &firstBytes) { $0.baseAddress!.advanced(by: firstBytesCount).copyMemory(from: base, byteCount: take) }
            firstBytesCount += take
        }
        var offset = 0
        while offset < ciphertext.count {   // BIO_write takes an Int32 count
            let chunk = min(ciphertext.count - offset, Int(Int32.max))
            let n = BIO_write(readBIO, base + offset, Int32(chunk))
            if n <= 0 { break }   // a memory BIO only fails when out of memory
            offset += Int(n)
        }
    }

    /// For a client: produces the ClientHello. Same as `readPlaintext` with an empty buffer.
    @discardableResult
    public func startHandshake() -> TLSError? {
        if case .failed(let error) = readPlaintext(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) { return error }
        return nil
    }

    /// Advances the handshake and decrypts into `buffer` until it is full or the ciphertext
    /// received so far is used up. Afterwards check `hasPendingCiphertext`: handshake flights,
    /// session tickets and alerts are produced here. (A peer's KeyUpdate request is answered
    /// ahead of our next data, by OpenSSL, inside `takeCiphertext`.)
    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> TLSReadResult {
        needsReadAgain = false
        switch state {
        case .failed(let error): return .failed(error)
        case .closedByPeer: return .closed
        case .handshaking:
            ERR_clear_error()
            if isServer && firstBytesCount > 0 && withUnsafeBytes(of: firstBytes, { $0[0] }) != 0x16 {
                // Not a TLS handshake record. OpenSSL would wait for a 5-byte record header a
                // 4-byte RawSocket hello never completes; refuse now and answer nothing.
                return fail(TLSError("TLS handshake failed: " + describeNonTLSInput()))
            }
            let rc = SSL_do_handshake(ssl)
            if rc != 1 {
                switch SSL_get_error(ssl, rc) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    return .bytes(0)
                default:
                    return fail(handshakeError())
                }
            }
            state = .established
        case .established:
            ERR_clear_error()
        }
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            needsReadAgain = SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(readBIO) > 0
            return .bytes(0)
        }
        var total = 0
        while total < buffer.count {
            var n = 0
            if SSL_read_ex(ssl, base + total, buffer.count - total, &n) == 1 {
                total += n
                continue
            }
            switch SSL_get_error(ssl, 0) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return .bytes(total)
            case SSL_ERROR_ZERO_RETURN:
                state = .closedByPeer
                return total > 0 ? .bytes(total) : .closed   // the next call says .closed
            default:
                let error = TLSError.openSSL("TLS record error")
                if total > 0 { state = .failed(error); return .bytes(total) }
                return fail(error)
            }
        }
        needsReadAgain = true
        return .bytes(total)
    }

    private func fail(_ error: TLSError) -> TLSReadResult {
        state = .failed(error)
        stagedCount = 0
        return .failed(error)
    }

    private func handshakeError() -> TLSError {
        var text = "TLS handshake failed"
        let details = TLSError.drainErrorQueue()
        if !details.isEmpty { text += ": " + details }
        let verify = SSL_get_verify_result(ssl)
        if verify != Int(X509_V_OK), let reason = X509_verify_cert_error_string(verify) {
            text += " (certificate verification: " + String(cString: reason) + ")"
        }
        if details.isEmpty && verify == Int(X509_V_OK) { text += ": no reason given by OpenSSL" }
        return TLSError(text)
    }

    /// Names what a non-TLS client probably is, from the first bytes it sent.
    private func describeNonTLSInput() -> String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: firstBytes) { bytes = Array($0.prefix(firstBytesCount)) }
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
        if bytes.first == 0x7F {
            return "the peer sent a RawSocket handshake (\(hex)) to a TLS listener, not a TLS ClientHello; connect with TLS"
        }
        let letters = bytes.prefix { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        if letters.count >= 3 && bytes.count > letters.count && bytes[letters.count] == UInt8(ascii: " ") {
            let text = String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
            return "the peer sent plaintext HTTP (\"\(text)…\") to a TLS listener, not a TLS ClientHello; use wss:// or https://"
        }
        return "the peer sent bytes that are not a TLS record (first bytes: \(hex)), not a TLS ClientHello"
    }

    // MARK: - Output

    /// Queues plaintext (a frame, or part of one) for encryption. Small writes are gathered into
    /// full-size records; call `takeCiphertext` when done writing for this round. Fails if the
    /// handshake is not complete (the broker never speaks first) or after a failure/shutdown.
    public func write(plaintext: UnsafeRawBufferPointer) -> TLSError? {
        guard state == .established || state == .closedByPeer, !shutdownSent else { return writeRefusal() }
        guard var source = plaintext.baseAddress, plaintext.count > 0 else { return nil }
        var remaining = plaintext.count
        let staging = self.staging ?? allocateStaging()
        if stagedCount + remaining < Self.recordSize {
            (staging + stagedCount).copyMemory(from: source, byteCount: remaining)
            stagedCount += remaining
            return nil
        }
        if stagedCount > 0 {
            // Top up to exactly one full record, then seal it.
            let take = Self.recordSize - stagedCount
            (staging + stagedCount).copyMemory(from: source, byteCount: take)
            stagedCount += take
            source += take
            remaining -= take
            if let error = sealStaged() { return error }
        }
        if remaining >= Self.recordSize {
            return encrypt(UnsafeRawPointer(source), count: remaining)   // large: straight from the caller
        }
        staging.copyMemory(from: source, byteCount: remaining)
        stagedCount = remaining
        return nil
    }

    private func allocateStaging() -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.recordSize, alignment: 16)
        staging = buffer
        return buffer
    }

    private func writeRefusal() -> TLSError {
        switch state {
        case .failed(let error): return TLSError("cannot send on a failed TLS connection: \(error)")
        case .handshaking: return TLSError("cannot send before the TLS handshake is complete")
        default: return TLSError("cannot send after TLS shutdown")
        }
    }

    private func sealStaged() -> TLSError? {
        guard stagedCount > 0, let staging else { return nil }
        let count = stagedCount
        stagedCount = 0
        return encrypt(UnsafeRawPointer(staging), count: count)
    }

    private func encrypt(_ bytes: UnsafeRawPointer, count: Int) -> TLSError? {
        ERR_clear_error()
        var written = 0
        // The sink BIO never pushes back, so SSL_write_ex takes everything or fails.
        if SSL_write_ex(ssl, bytes, count, &written) == 1 && written == count { return nil }
        let error = TLSError.openSSL("TLS encryption failed")
        state = .failed(error)
        return error
    }

    /// Seals staged plaintext and appends all pending ciphertext (handshake records, data,
    /// alerts) to `out`; returns the bytes added. When `out` is empty the buffers are swapped
    /// instead of copied: pass a reused array emptied with `removeAll(keepingCapacity: true)`
    /// and both stay warm.
    public func takeCiphertext(into out: inout [UInt8]) -> Int {
        if stagedCount > 0 { _ = sealStaged() }
        let count = sink.bytes.count
        if count == 0 { return 0 }
        if out.isEmpty {
            swap(&out, &sink.bytes)
            sink.bytes.removeAll(keepingCapacity: true)
        } else {
            out.append(contentsOf: sink.bytes)
            sink.bytes.removeAll(keepingCapacity: true)
        }
        return count
    }

    /// Seals staged plaintext and queues a close_notify (send it with `takeCiphertext`). Only
    /// on an established connection; during a handshake or after a failure there is nothing
    /// polite to say: just close the socket.
    public func shutdown() {
        guard state == .established || state == .closedByPeer, !shutdownSent else { return }
        _ = sealStaged()
        shutdownSent = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)   // 0 = sent, the peer's reply not yet seen: fine, we do not wait
        ERR_clear_error()
    }
}
