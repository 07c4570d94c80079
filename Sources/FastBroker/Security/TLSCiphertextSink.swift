// The write side of a TLSConnection: a custom OpenSSL BIO whose write appends the records
// OpenSSL produces straight into a Swift array, so outgoing ciphertext is copied once (OpenSSL's
// buffer → this array) instead of twice through a memory BIO, and the array can be handed to the
// connection by swapping (no copy at all). Grows to the largest flush and then stays: no
// allocation per message once warm.

import COpenSSL

final class TLSCiphertextSink {
    // Owned by the connection's loop thread (OpenSSL calls `write` from inside SSL_* calls made there).
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(4096) }   // a handshake flight; data flushes grow it once

    /// A new BIO writing into `sink`. The BIO holds the sink unretained: the owning TLSConnection
    /// keeps the sink alive longer than the SSL object that frees the BIO.
    static func makeBIO(_ sink: TLSCiphertextSink) -> OpaquePointer? {
        guard let bio = BIO_new(sinkMethod) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(sink).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }
}

/// The BIO method, made once per process (thread-safe lazy global initialisation).
nonisolated(unsafe) private let sinkMethod: OpaquePointer = {
    guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fastbroker ciphertext sink") else {
        fatalError("OpenSSL BIO_meth_new failed")
    }
    _ = BIO_meth_set_write(method) { bio, data, length in
        guard let bio, let data, length > 0, let opaque = BIO_get_data(bio) else { return 0 }
        let sink = Unmanaged<TLSCiphertextSink>.fromOpaque(opaque).takeUnretainedValue()
        sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(length)))
        return length
    }
    // OpenSSL flushes after each handshake flight and treats a failed flush as fatal; the bytes
    // are already in the array, so flushing always succeeds. Every other control is "unsupported".
    _ = BIO_meth_set_ctrl(method) { _, command, _, _ in command == BIO_CTRL_FLUSH ? 1 : 0 }
    return method
}()
