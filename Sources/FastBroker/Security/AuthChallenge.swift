// What the broker keeps between a CHALLENGE and the AUTHENTICATE, for every method (SPEC §4):
// the CHALLENGE.Extra to send, who the session becomes if the answer is right, and the check
// itself. An unknown user gets a challenge of the same shape whose check always fails, on the
// same code path and at the same cost, so the answer says nothing about who exists.

import BrokerSerialization

public struct AuthChallenge: Sendable {
    enum Check: Sendable {
        case wampcra(WampCRAChallenge)
        case ticket(TicketCheck)
        case cryptosign(CryptosignCheck)
    }

    /// "wampcra", "ticket" or "cryptosign": CHALLENGE.AuthMethod and WELCOME.authmethod.
    public let method: String
    /// The WELCOME's authid and authrole if the check passes (placeholders for an unknown user).
    public let authid: String
    public let authrole: String
    /// CHALLENGE.Extra.
    public let extra: JSONValue
    /// The name failures are counted under by the auth throttle: the authid, or for cryptosign
    /// without one, the public key as sent.
    public let throttleKey: String
    /// The ABORT message for a failed check: one text for every cause.
    public let failureMessage: String
    let check: Check

    /// Whether `verify` is too slow for a loop thread, so the session runs it on the thread pool
    /// (Loop/LoopWork.swift): a ticket's PBKDF2 takes milliseconds at the default 10,000
    /// iterations and grows with the userdb's count. WAMP-CRA's check is one HMAC (about a
    /// microsecond) and cryptosign's one Ed25519 verification (50–200 µs measured with `openssl
    /// speed` here, the order of accepting the connection): the thread hop would cost more.
    public var verifiesOffLoop: Bool {
        if case .ticket = check { true } else { false }
    }

    /// Whether AUTHENTICATE's Signature answers the challenge. Constant-time where a secret is
    /// compared; always false for an unknown user.
    public func verify(_ signature: String) -> Bool {
        switch check {
        case .wampcra(let challenge): WampCRA.verify(signature: signature, challenge: challenge)
        case .ticket(let check): TicketAuthenticator.verify(ticket: signature, check: check)
        case .cryptosign(let check): CryptosignAuthenticator.verify(signature: signature, check: check)
        }
    }
}

extension WampCRA {
    /// The WAMP-CRA challenge in the common form (see `makeChallenge`).
    static func authChallenge(authid: String, session: UInt64, database: UserDatabase) -> AuthChallenge {
        let c = makeChallenge(authid: authid, session: session, user: database.lookup(authid), database: database)
        var extra: [(key: String, value: JSONValue)] = [("challenge", .string(c.challenge))]
        if let salt = c.salt, let keyLength = c.keyLength, let iterations = c.iterations {
            extra += [("salt", .string(salt)), ("keylen", .number(JSONNumber(UInt64(keyLength)))),
                      ("iterations", .number(JSONNumber(UInt64(iterations))))]
        }
        return AuthChallenge(method: "wampcra", authid: authid, authrole: c.authrole, extra: .object(extra),
                             throttleKey: authid,
                             failureMessage: "WAMP-CRA signature is invalid (wrong secret or unknown authid)",
                             check: .wampcra(c))
    }
}
