// WAMP-CRA (WAMP-NOTES §5, SPEC §4): challenge construction, key derivation and signature
// checks, byte-compatible with Autobahn's `derive_key` and `compute_wcs`. An unknown authid gets a
// decoy challenge shaped like a real one (UserDatabase+Decoy.swift), so a client cannot probe
// which users exist.

import BrokerSerialization
import Foundation
import WireCodec

public enum WampCRA {
    /// Random bytes in each challenge's nonce (the spec asks for at least 16).
    public static let nonceBytes = 24

    /// Salted: key = base64(PBKDF2-HMAC-SHA256(password, salt's UTF-8 bytes, iterations, keylen)),
    /// as text — Autobahn's `derive_key`. `iterations` and `keyLength` must be positive.
    public static func deriveKey(password: String, salt: String, iterations: Int, keyLength: Int) -> String {
        Base64.encode(Crypto.pbkdf2SHA256(password: Array(password.utf8), salt: Array(salt.utf8),
                                                iterations: iterations, keyLength: keyLength))
    }

    /// The HMAC key for a stored credential: the secret's UTF-8 bytes (plain) or the derived key's
    /// base64 text as UTF-8 bytes (salted; the raw PBKDF2 output is not the key).
    public static func signingKey(for credential: UserCredential) -> [UInt8] {
        switch credential {
        case .plain(let secret): return Array(secret.utf8)
        case .salted(_, _, _, let derivedKey): return Array(derivedKey.utf8)
        }
    }

    /// base64(HMAC-SHA256(key, challenge's UTF-8 bytes)) — Autobahn's `compute_wcs`.
    public static func signature(key: [UInt8], challenge: String) -> String {
        Base64.encode(Crypto.hmacSHA256(key: key, message: Array(challenge.utf8)))
    }

    /// Builds the challenge for a HELLO with `authid`; `user` is `database.lookup(authid)` and
    /// `session` the id the WELCOME will carry. For an unknown authid (user nil) it returns a decoy:
    /// the role and salting of a real user's challenge, drawn for that authid in proportion to the
    /// database's users, a salt shaped like `user add`'s, all stable across attempts and restarts,
    /// and a random key so no signature can match.
    public static func makeChallenge(authid: String, session: UInt64, user: UserRecord?, database: UserDatabase,
                                     now: Date = Date()) -> WampCRAChallenge {
        let authrole: String
        let key: [UInt8]
        var salt: String?
        var iterations: Int?
        var keyLength: Int?
        // A user without a WAMP-CRA credential is, to WAMP-CRA, unknown: it gets a decoy too.
        let user = user?.credential == nil ? nil : user
        if let user, let credential = user.credential {
            authrole = user.role
            key = signingKey(for: credential)
            if case .salted(let s, let i, let k, _) = credential {
                (salt, iterations, keyLength) = (s, i, k)
            }
        } else {
            let decoy = database.decoy(for: authid)
            authrole = decoy.profile.role
            key = Crypto.randomBytes(32)
            if let shape = decoy.profile.salted {
                (salt, iterations, keyLength) = (decoy.salt, shape.iterations, shape.keyLength)
            }
        }
        let text = challengeText(nonce: Base64.encode(Crypto.randomBytes(nonceBytes)), authid: authid,
                                 timestamp: ISO8601Timestamp.format(now), authrole: authrole, session: session)
        return WampCRAChallenge(challenge: text, salt: salt, iterations: iterations, keyLength: keyLength,
                                expectedSignatureKey: key, authrole: authrole, knownUser: user != nil,
                                authid: authid, session: session)
    }

    /// Checks the client's base64 signature in constant time. Always false for a decoy.
    public static func verify(signature: String, challenge: WampCRAChallenge) -> Bool {
        let expected = Crypto.hmacSHA256(key: challenge.expectedSignatureKey, message: Array(challenge.challenge.utf8))
        // A malformed signature still goes through the comparison, so it costs the same time.
        let given = Base64.decode(signature) ?? []
        let matches = Crypto.constantTimeEqual(expected, given)
        return matches && challenge.knownUser
    }

    /// The challenge object, keys in the order SPEC §4 lists them.
    static func challengeText(nonce: String, authid: String, timestamp: String, authrole: String,
                              session: UInt64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(192 + authid.utf8.count + authrole.utf8.count)
        out += Array("{\"nonce\":".utf8)
        JSONWriter.appendString(nonce, to: &out)
        out += Array(",\"authprovider\":\"userdb\",\"authid\":".utf8)
        JSONWriter.appendString(authid, to: &out)
        out += Array(",\"timestamp\":".utf8)
        JSONWriter.appendString(timestamp, to: &out)
        out += Array(",\"authrole\":".utf8)
        JSONWriter.appendString(authrole, to: &out)
        out += Array(",\"authmethod\":\"wampcra\",\"session\":\(session)}".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
