// Ticket authentication (SPEC §4): CHALLENGE `[4, "ticket", {}]`, AUTHENTICATE carries the ticket,
// which is run through PBKDF2 with the user's stored salt and parameters and compared in constant
// time with the stored derived key (the ticket itself is never stored). An unknown authid, or a
// user without a ticket, is checked the same way against a decoy PBKDF2 shape drawn from the ticket
// users (UserDatabase+Decoy.swift) and a random key, so it fails at the same cost.

import WireCodec

/// The stored (or decoy) PBKDF2 parameters a ticket is checked against.
struct TicketCheck: Sendable {
    var salt: String
    var iterations: Int
    var keyLength: Int
    var expectedKey: [UInt8]
    /// False for a decoy: `verify` never accepts it.
    var knownUser: Bool
}

public enum TicketAuthenticator {
    /// The same text for a wrong ticket and an unknown authid.
    public static let failureMessage = "ticket is invalid (wrong ticket or unknown authid)"

    /// The ticket challenge for `authid` (a decoy check when it has no ticket in `database`).
    static func challenge(authid: String, database: UserDatabase) -> AuthChallenge {
        let user = database.lookup(authid).flatMap { $0.ticket == nil ? nil : $0 }
        let check: TicketCheck
        if let user, let ticket = user.ticket {
            check = TicketCheck(salt: ticket.salt, iterations: ticket.iterations, keyLength: ticket.keyLength,
                                expectedKey: ticket.derivedKey, knownUser: true)
        } else {
            let decoy = database.ticketDecoy(for: authid)
            let shape = decoy.profile.salted ?? .init(iterations: 1000, keyLength: 32)
            check = TicketCheck(salt: decoy.salt ?? "", iterations: shape.iterations, keyLength: shape.keyLength,
                                expectedKey: Crypto.randomBytes(shape.keyLength), knownUser: false)
        }
        return AuthChallenge(method: "ticket", authid: authid, authrole: user?.role ?? "",
                             extra: .object([]), throttleKey: authid, failureMessage: failureMessage,
                             check: .ticket(check))
    }

    /// PBKDF2 over the offered ticket, compared in constant time; false for a decoy.
    static func verify(ticket: String, check: TicketCheck) -> Bool {
        let derived = Crypto.pbkdf2SHA256(password: Array(ticket.utf8), salt: Array(check.salt.utf8),
                                          iterations: check.iterations, keyLength: check.keyLength)
        return Crypto.constantTimeEqual(derived, check.expectedKey) && check.knownUser
    }

    /// The stored form of `ticket` with a fresh random salt (`fastbroker user add --ticket-stdin`).
    public static func credential(ticket: String, iterations: Int, keyLength: Int = 32) -> TicketCredential {
        let salt = Base64.encode(Crypto.randomBytes(UserDatabase.saltBytes))
        let key = Crypto.pbkdf2SHA256(password: Array(ticket.utf8), salt: Array(salt.utf8),
                                      iterations: iterations, keyLength: keyLength)
        return TicketCredential(salt: salt, iterations: iterations, keyLength: keyLength, derivedKey: key)
    }
}
