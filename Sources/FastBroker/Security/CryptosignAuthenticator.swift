// Cryptosign authentication (SPEC §4): the HELLO names an Ed25519 public key (authextra.pubkey,
// hex); the broker finds the user holding it (a HELLO authid must be that user's), sends 32 CSPRNG
// bytes as hex in CHALLENGE.Extra.challenge, and checks the AUTHENTICATE signature over those
// bytes with OpenSSL (Crypto.ed25519Verify). Autobahn answers hex(signature ‖ challenge), 96
// bytes; a bare 64-byte signature is accepted too. An unknown or malformed key, or an authid that
// does not own the key, gets a real-looking challenge and a check that runs the same
// verification and always fails.

import BrokerSerialization

/// What an AUTHENTICATE is checked against.
struct CryptosignCheck: Sendable {
    var publicKey: [UInt8]
    var challenge: [UInt8]
    /// False when the key has no owner (or not the HELLO's authid): `verify` never accepts it.
    var knownUser: Bool
}

public enum CryptosignAuthenticator {
    public static let challengeBytes = 32
    /// The same text for a bad signature, an unknown key and an authid that does not own the key.
    public static let failureMessage = "cryptosign signature is invalid (wrong key, unknown public key, or authid not its owner)"

    /// Verified in place of a key nobody owns, so that such a check costs a real verification:
    /// RFC 8032's test 1 public key (a valid curve point; acceptance is gated on `knownUser`).
    static let decoyPublicKey = Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")!

    /// The challenge for a HELLO with `pubkey` (hex as sent) and optional `authid`.
    static func challenge(pubkey: String, authid: String?, database: UserDatabase) -> AuthChallenge {
        let key = pubkey.utf8.count == 64 ? Hex.decode(pubkey) : nil
        var owner = key.flatMap { database.lookup(publicKey: $0) }
        if let authid, let found = owner, Array(found.authid.utf8) != Array(authid.utf8) { owner = nil }
        let challenge = Crypto.randomBytes(challengeBytes)
        let check = CryptosignCheck(publicKey: owner == nil ? decoyPublicKey : key!, challenge: challenge,
                                    knownUser: owner != nil)
        let extra = JSONValue.object([("challenge", .string(Hex.encode(challenge))), ("channel_binding", .null)])
        return AuthChallenge(method: "cryptosign", authid: owner?.authid ?? authid ?? "", authrole: owner?.role ?? "",
                             extra: extra, throttleKey: authid ?? "cryptosign:" + pubkey.lowercased(),
                             failureMessage: failureMessage, check: .cryptosign(check))
    }

    /// Accepts hex (either case) of signature ‖ challenge (96 bytes; the challenge must be ours)
    /// or of the bare 64-byte signature.
    static func verify(signature text: String, check: CryptosignCheck) -> Bool {
        guard let bytes = Hex.decode(text) else { return false }
        let signature: [UInt8]
        switch bytes.count {
        case 64:
            signature = bytes
        case 96:
            guard Array(bytes[64...]) == check.challenge else { return false }
            signature = Array(bytes[..<64])
        default:
            return false
        }
        let valid = Crypto.ed25519Verify(publicKey: check.publicKey, message: check.challenge, signature: signature)
        return valid && check.knownUser
    }
}
