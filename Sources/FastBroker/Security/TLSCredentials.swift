// Loading PEM certificates, keys and CA bundles into an SSL_CTX, with errors that name the
// file and say what was wrong with it. Shared by the server and client contexts; runs once at
// start-up (or config reload), never per connection.

import COpenSSL
import Glibc

enum TLSCredentials {
    /// Certificate chain (leaf first) and its private key; checks that they belong together.
    static func loadCertificateAndKey(_ ctx: OpaquePointer, certificatePath: String, keyPath: String) throws(TLSError) {
        try requireReadable(certificatePath, what: "certificate")
        try requireReadable(keyPath, what: "key")
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(ctx, certificatePath) == 1 else {
            throw TLSError.openSSL("cannot load certificate \(certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.openSSL("cannot load private key \(keyPath)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.openSSL("private key \(keyPath) does not match certificate \(certificatePath)")
        }
    }

    /// Trusted CA bundle for verifying the peer's certificate.
    static func loadTrustedCAs(_ ctx: OpaquePointer, caPath: String) throws(TLSError) {
        try requireReadable(caPath, what: "CA bundle")
        ERR_clear_error()
        guard SSL_CTX_load_verify_locations(ctx, caPath, nil) == 1 else {
            throw TLSError.openSSL("cannot load CA bundle \(caPath)")
        }
    }

    /// A clearer message than OpenSSL's "system library" entry for the common mistake.
    static func requireReadable(_ path: String, what: String) throws(TLSError) {
        if access(path, R_OK) != 0 {
            let reason = String(cString: strerror(errno))
            throw TLSError("cannot load \(what) \(path): \(reason)")
        }
    }

    /// Shared context settings: protocol floor (and ceiling), no compression, no renegotiation,
    /// read-ahead (fewer BIO reads per record on the memory BIO).
    static func applyCommonSettings(_ ctx: OpaquePointer, minimum: TLSProtocolVersion, maximum: TLSProtocolVersion?) throws(TLSError) {
        guard SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(minimum.rawValue), nil) == 1 else {
            throw TLSError.openSSL("cannot set minimum TLS version \(minimum)")
        }
        if let maximum {
            guard SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(maximum.rawValue), nil) == 1 else {
                throw TLSError.openSSL("cannot set maximum TLS version \(maximum)")
            }
        }
        _ = SSL_CTX_set_options(ctx, TLSOption.noCompression | TLSOption.noRenegotiation)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1, nil)
    }
}

/// SSL_OP_* values are built with a function-like macro Swift does not import.
enum TLSOption {
    static let noCompression: UInt64 = 1 << 17
    static let cipherServerPreference: UInt64 = 1 << 22
    static let noRenegotiation: UInt64 = 1 << 30
}

/// Protocol versions as OpenSSL numbers them. Only 1.2 and 1.3 are ever accepted by the
/// server; 1.1 exists so tests can prove it is refused.
public enum TLSProtocolVersion: Int32, Sendable, CustomStringConvertible {
    case tls1_1 = 0x0302
    case tls1_2 = 0x0303
    case tls1_3 = 0x0304

    public var description: String {
        switch self {
        case .tls1_1: "TLSv1.1"
        case .tls1_2: "TLSv1.2"
        case .tls1_3: "TLSv1.3"
        }
    }
}
