// The TLS client side of one load-tool connection, over BrokerSecurity's memory-BIO engine: socket
// reads land in `ciphertextIn` and are decrypted straight into the connection's receive ring;
// frames the connection wrote in plaintext are sealed into records and the ciphertext is appended
// to the connection's wire buffer. The connection's socket code does all I/O, as without TLS.

import BrokerSecurity
import BrokerWire

final class ClientTLS {
    let engine: TLSConnection
    /// Socket reads go here before `receive`. Owned by the connection's loop thread.
    let ciphertextIn: UnsafeMutableRawBufferPointer
    /// Ciphertext taken from the engine, reused (swapped with the engine's own, so both stay warm).
    /// Owned by the connection's loop thread.
    private var ciphertextOut: [UInt8] = []

    init(context: TLSClientContext, serverName: String?) throws(TLSError) {
        engine = try TLSConnection(clientContext: context, serverName: serverName)
        ciphertextIn = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { ciphertextIn.deallocate() }

    var isHandshakeComplete: Bool { engine.isHandshakeComplete }

    /// Produces the ClientHello (then call `seal`).
    func start() -> TLSError? { engine.startHandshake() }

    /// What one socket read brought: `count` bytes at the start of `ciphertextIn`, then decrypts
    /// into `ring` until the ring is full or the ciphertext is used up, calling `drain` after each
    /// piece of plaintext (and once after the handshake completes, with nothing new).
    /// Returns the reason to close, or nil.
    func receive(count: Int, into ring: RingBuffer, drain: () -> Bool) -> String? {
        engine.receive(ciphertext: UnsafeRawBufferPointer(rebasing: ciphertextIn[0..<count]))
        repeat {
            let wasComplete = engine.isHandshakeComplete
            switch engine.readPlaintext(into: ring.writableRegion()) {
            case .bytes(let n):
                if n > 0 { ring.didWrite(n) }
                if n > 0 || wasComplete != engine.isHandshakeComplete {
                    guard drain() else { return nil }
                }
            case .closed:
                return "broker closed the TLS session (close_notify)"
            case .failed(let error):
                return "\(error)"
            }
        } while engine.needsReadAgain && ring.writableBytes > 0
        return nil
    }

    /// Moves the plaintext frames of `plaintext` into TLS records and appends the ciphertext
    /// produced so far (handshake flights included) to `wire`. Returns the error, or nil.
    func seal(_ plaintext: OutputBuffer, into wire: OutputBuffer) -> TLSError? {
        if plaintext.pendingBytes > 0 {
            if let error = engine.write(plaintext: UnsafeRawBufferPointer(start: plaintext.filling.base, count: plaintext.pendingBytes)) {
                return error
            }
            plaintext.didWriteAll()
        }
        ciphertextOut.removeAll(keepingCapacity: true)
        let count = engine.takeCiphertext(into: &ciphertextOut)
        if count > 0 {
            ciphertextOut.withUnsafeBytes { source in
                wire.reserve(count).copyMemory(from: source.baseAddress!, byteCount: count)
            }
            wire.commit(count)
        }
        return nil
    }
}
