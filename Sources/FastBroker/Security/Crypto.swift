// Crypto primitives over the OpenSSL shim (COpenSSL): the only file in the broker that calls
// OpenSSL for hashing, MACs, key derivation, base64 and randomness. Callers see plain [UInt8].
// None of these sit on the publish hot path; they serve handshakes and authentication.

import COpenSSL

public enum Crypto {
    /// HMAC-SHA256(key, message), 32 bytes.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var outLength: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count,
                             o.baseAddress, &outLength)
                }
            }
        }
        return out
    }

    /// PBKDF2-HMAC-SHA256(password, salt, iterations, keyLength bytes).
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, keyLength: Int) -> [UInt8] {
        precondition(iterations > 0 && keyLength > 0)
        var out = [UInt8](repeating: 0, count: keyLength)
        password.withUnsafeBufferPointer { p in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(p.count, 1)) { pc in
                        _ = PKCS5_PBKDF2_HMAC(pc, Int32(p.count), s.baseAddress, Int32(s.count),
                                              Int32(iterations), EVP_sha256(), Int32(keyLength), o.baseAddress)
                    }
                }
            }
        }
        return out
    }

    /// SHA-1 digest, 20 bytes (WebSocket Sec-WebSocket-Accept).
    public static func sha1(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in _ = SHA1(d.baseAddress, d.count, o.baseAddress) }
        }
        return out
    }

    /// Standard base64 with padding, no line breaks.
    public static func base64Encode(_ data: [UInt8]) -> String {
        if data.isEmpty { return "" }
        var out = [UInt8](repeating: 0, count: 4 * ((data.count + 2) / 3) + 1)
        let n = data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in EVP_EncodeBlock(o.baseAddress, d.baseAddress, Int32(d.count)) }
        }
        return String(decoding: out[0..<Int(n)], as: UTF8.self)
    }

    /// Decodes standard base64 (padding required, no whitespace); nil when malformed.
    public static func base64Decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        if input.isEmpty { return [] }
        guard input.count % 4 == 0 else { return nil }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var padding = 0
        for (i, c) in input.enumerated() {
            if c == UInt8(ascii: "=") {
                guard i >= input.count - 2 else { return nil }
                padding += 1
            } else if padding > 0 || !alphabet.contains(c) {
                return nil
            }
        }
        var out = [UInt8](repeating: 0, count: input.count / 4 * 3)
        let n = input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in EVP_DecodeBlock(o.baseAddress, i.baseAddress, Int32(i.count)) }
        }
        guard n >= 0 else { return nil }
        return Array(out[0..<(Int(n) - padding)])
    }

    /// `count` bytes from OpenSSL's CSPRNG. Traps if the RNG fails: running without
    /// randomness would make nonces and session ids guessable.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return out
    }

    /// A uniformly random id in [1, 2^53] (WAMP global-scope ids).
    public static func randomID() -> UInt64 {
        while true {
            var raw: UInt64 = 0
            let ok = withUnsafeMutableBytes(of: &raw) { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
            precondition(ok == 1, "OpenSSL RAND_bytes failed")
            let id = raw & ((1 << 53) - 1)   // [0, 2^53 - 1]
            return id + 1                     // [1, 2^53], uniform
        }
    }

    /// Compares in time that depends only on the lengths, not on where the bytes differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 }
        }
    }
}
