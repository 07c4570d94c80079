// Client-side TLS configuration: used by the tests (a real OpenSSL client driven in memory
// against the server engine) and by the load tool (fastbench --tls). The broker itself only
// accepts TLS; it never dials out.

import COpenSSL

public final class TLSClientContext: @unchecked Sendable {   // ctx: set up in init, then only read (SSL_new)
    /// The SSL_CTX; immutable after init.
    let ctx: OpaquePointer
    let verifiesServer: Bool

    /// - Parameters:
    ///   - caPath: verify the server's certificate against this bundle; nil = no verification
    ///     (the load tool against a self-signed test certificate).
    ///   - certificatePath/keyPath: a client certificate to present (both or neither).
    ///   - minimumVersion/maximumVersion: version range offered. A maximum below TLS 1.2 also
    ///     lowers the client's security level to 0 so that OpenSSL 3 is willing to offer it at
    ///     all: only for tests that prove the server refuses old versions.
    public init(caPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil,
                minimumVersion: TLSProtocolVersion = .tls1_2, maximumVersion: TLSProtocolVersion? = nil) throws(TLSError) {
        if (certificatePath == nil) != (keyPath == nil) {
            throw TLSError("a client certificate needs both a certificate and a key")
        }
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSError.openSSL("cannot create TLS client context") }
        self.ctx = ctx
        self.verifiesServer = caPath != nil
        if let maximumVersion, maximumVersion.rawValue < TLSProtocolVersion.tls1_2.rawValue {
            SSL_CTX_set_security_level(ctx, 0)
            _ = SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0")
        }
        try TLSCredentials.applyCommonSettings(ctx, minimum: minimumVersion, maximum: maximumVersion)
        if let certificatePath, let keyPath {
            try TLSCredentials.loadCertificateAndKey(ctx, certificatePath: certificatePath, keyPath: keyPath)
        }
        if let caPath {
            try TLSCredentials.loadTrustedCAs(ctx, caPath: caPath)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        ERR_clear_error()
    }

    deinit { SSL_CTX_free(ctx) }
}
