// What the broker keeps between sending a WAMP-CRA CHALLENGE and checking the AUTHENTICATE:
// the exact challenge text the client signs, the salting parameters to send with it, and the
// key the signature must verify under.

public struct WampCRAChallenge: Sendable {
    /// The JSON text the client signs; sent as CHALLENGE.Extra.challenge.
    public var challenge: String
    /// Sent as CHALLENGE.Extra.salt / iterations / keylen; all nil for an unsalted user.
    public var salt: String?
    public var iterations: Int?
    public var keyLength: Int?
    /// The HMAC key the signature is checked with (random for an unknown authid).
    public var expectedSignatureKey: [UInt8]
    /// The role the WELCOME will carry (also inside `challenge`).
    public var authrole: String
    /// False for the decoy challenge given to an authid not in the database: `verify` never
    /// accepts it.
    public var knownUser: Bool
    /// The authid and session id the challenge was made for (also inside `challenge`).
    public var authid: String
    public var session: UInt64
}
