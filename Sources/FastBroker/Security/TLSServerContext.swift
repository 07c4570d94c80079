// Server-side TLS configuration of one listener: certificate, key, optional client-certificate
// CA. Built once when the listener is configured; every connection's TLSConnection is made from
// it, on any loop thread (an SSL_CTX is safe to share once set up).

import COpenSSL

public final class TLSServerContext: @unchecked Sendable {   // ctx: set up in init, then only read (SSL_new)
    /// The SSL_CTX; immutable after init (OpenSSL locks its own internal caches).
    let ctx: OpaquePointer
    public let requiresClientCertificate: Bool

    /// TLS 1.2 ciphers: forward-secret AEAD suites only (TLS 1.3 uses OpenSSL's defaults, all AEAD).
    static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// Loads the PEM files. With `requireClientCertificate`, a client must present a certificate
    /// that `caPath` verifies, or the handshake fails. A `caPath` without it is loaded (so a bad
    /// file is still reported) but no client certificate is requested.
    public init(certificatePath: String, keyPath: String, caPath: String?, requireClientCertificate: Bool) throws(TLSError) {
        if requireClientCertificate && caPath == nil {
            throw TLSError("client certificates are required but no CA bundle (tls.ca) is configured")
        }
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.openSSL("cannot create TLS server context") }
        self.ctx = ctx
        self.requiresClientCertificate = requireClientCertificate
        // From here, deinit frees ctx if a step throws.
        try TLSCredentials.applyCommonSettings(ctx, minimum: .tls1_2, maximum: nil)
        _ = SSL_CTX_set_options(ctx, TLSOption.cipherServerPreference)
        guard SSL_CTX_set_cipher_list(ctx, Self.tls12Ciphers) == 1 else {
            throw TLSError.openSSL("cannot set TLS 1.2 cipher list")
        }
        try TLSCredentials.loadCertificateAndKey(ctx, certificatePath: certificatePath, keyPath: keyPath)
        // Session resumption with client verification needs a context id, else OpenSSL refuses
        // resumed sessions with "session id context uninitialized".
        let sessionContext = Array("fastbroker".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, sessionContext, UInt32(sessionContext.count))
        if let caPath {
            try TLSCredentials.loadTrustedCAs(ctx, caPath: caPath)
            if requireClientCertificate {
                // The CertificateRequest names the acceptable CAs, so clients pick the right cert.
                guard let names = SSL_load_client_CA_file(caPath) else {
                    throw TLSError.openSSL("cannot read CA names from \(caPath)")
                }
                SSL_CTX_set_client_CA_list(ctx, names)
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            }
        }
        ERR_clear_error()
    }

    deinit { SSL_CTX_free(ctx) }
}
