// Crypto primitives over the OpenSSL shim (COpenSSL): the only file in the broker that calls
// OpenSSL for hashing, MACs, key derivation, Ed25519 signatures and randomness. Callers see plain
// [UInt8]. (Base64 is WireCodec's strict one.)
// None of these sit on the publish hot path; they serve handshakes and authentication.

import COpenSSL

public enum Crypto {
    /// HMAC-SHA256(key, message), 32 bytes. An empty key or message is valid.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var outLength: UInt32 = 0
        let result = withNonNullBytes(key) { k, kCount in
            withNonNullBytes(message) { m, mCount in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k, Int32(kCount), m, mCount, o.baseAddress, &outLength)
                }
            }
        }
        // A silent failure would leave 32 zero bytes, a MAC anyone can forge: trap instead.
        precondition(result != nil && outLength == 32, "OpenSSL HMAC failed")
        return out
    }

    /// PBKDF2-HMAC-SHA256(password, salt, iterations, keyLength bytes).
    /// `iterations` and `keyLength` must be in 1...Int32.max (callers validate user input first).
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, keyLength: Int) -> [UInt8] {
        precondition(iterations > 0 && iterations <= Int(Int32.max), "PBKDF2 iterations out of range")
        precondition(keyLength > 0 && keyLength <= Int(Int32.max), "PBKDF2 key length out of range")
        var out = [UInt8](repeating: 0, count: keyLength)
        let ok = withNonNullBytes(password) { p, pCount in
            withNonNullBytes(salt) { s, sCount in
                out.withUnsafeMutableBufferPointer { o in
                    p.withMemoryRebound(to: CChar.self, capacity: max(pCount, 1)) { pc in
                        PKCS5_PBKDF2_HMAC(pc, Int32(pCount), s, Int32(sCount),
                                          Int32(iterations), EVP_sha256(), Int32(keyLength), o.baseAddress)
                    }
                }
            }
        }
        precondition(ok == 1, "OpenSSL PKCS5_PBKDF2_HMAC failed")
        return out
    }

    /// `count` bytes from OpenSSL's CSPRNG. Traps if the RNG fails: running without
    /// randomness would make nonces and session ids guessable.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max))
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return out
    }

    /// Fills `buffer` from OpenSSL's CSPRNG without allocating. Traps if the RNG fails.
    public static func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let ok = RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
    }

    /// A uniformly random id in [1, 2^53] (WAMP global-scope ids).
    public static func randomID() -> UInt64 {
        var raw: UInt64 = 0
        let ok = withUnsafeMutableBytes(of: &raw) { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        // The low 53 bits are uniform over [0, 2^53 - 1]; shifting by one gives [1, 2^53] without rejection.
        return (raw & ((1 << 53) - 1)) + 1
    }

    /// Ed25519 (RFC 8032) check of a 64-byte `signature` over `message` under a raw 32-byte
    /// `publicKey`, through OpenSSL's EVP one-shot verify. False for a malformed key or signature.
    public static func ed25519Verify(publicKey: [UInt8], message: [UInt8], signature: [UInt8]) -> Bool {
        guard publicKey.count == 32, signature.count == 64 else { return false }
        let key = publicKey.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
        }
        guard let key else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        // Ed25519 hashes internally: no digest is named, and the message goes in one call.
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        let result = withNonNullBytes(signature) { s, sCount in
            withNonNullBytes(message) { m, mCount in EVP_DigestVerify(context, s, sCount, m, mCount) }
        }
        return result == 1
    }

    /// Compares in time that depends only on the lengths, not on where the bytes differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 }
        }
    }

    /// Calls `body` with a pointer that is never nil: an empty Swift array may hand out a nil base
    /// address, and OpenSSL's treatment of (NULL, 0) differs between functions and versions.
    private static func withNonNullBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        if bytes.isEmpty {
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body($0, 0) }
        }
        return bytes.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}
