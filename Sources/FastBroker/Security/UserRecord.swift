// One entry of the user database (SPEC §3): who the user is, which role it gets, and the
// credentials each authentication method checks — a WAMP-CRA secret or key, a ticket's PBKDF2
// key, Ed25519 public keys. A record holds any subset; a method uses only its own kind. Salted
// forms hold only derived keys, never the password or ticket.

/// How a user's WAMP-CRA key is stored.
public enum UserCredential: Sendable, Equatable {
    /// The shared secret in clear; its UTF-8 bytes are the HMAC key.
    case plain(secret: String)
    /// PBKDF2 parameters and `derivedKey`, the base64 text of the PBKDF2 output; that text's
    /// UTF-8 bytes are the HMAC key (Autobahn's `derive_key`).
    case salted(salt: String, iterations: Int, keyLength: Int, derivedKey: String)

    public var isSalted: Bool {
        if case .salted = self { return true }
        return false
    }
}

/// A ticket, stored as PBKDF2-HMAC-SHA256(ticket's UTF-8, salt's UTF-8, iterations, keyLength).
public struct TicketCredential: Sendable, Equatable {
    public var salt: String
    public var iterations: Int
    public var keyLength: Int
    /// The raw PBKDF2 output (the file holds its standard padded base64).
    public var derivedKey: [UInt8]
    // Made only in this module (the memberwise init): from a file, or from a ticket by
    // TicketAuthenticator.credential(ticket:iterations:keyLength:).
}

public struct UserRecord: Sendable, Equatable {
    public var authid: String
    public var role: String
    /// WAMP-CRA; nil = this user cannot use wampcra.
    public var credential: UserCredential?
    /// Ticket; nil = this user cannot use ticket.
    public var ticket: TicketCredential?
    /// Raw 32-byte Ed25519 public keys (cryptosign); empty = this user cannot use cryptosign.
    public var cryptosignKeys: [[UInt8]]

    public init(authid: String, role: String, credential: UserCredential? = nil, ticket: TicketCredential? = nil,
                cryptosignKeys: [[UInt8]] = []) {
        self.authid = authid
        self.role = role
        self.credential = credential
        self.ticket = ticket
        self.cryptosignKeys = cryptosignKeys
    }
}
