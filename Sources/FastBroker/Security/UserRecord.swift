// One entry of the user database (SPEC §3): who the user is, which role it gets, and the
// credential WAMP-CRA signs with. A salted record holds only the PBKDF2-derived key, never the
// password.

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

public struct UserRecord: Sendable, Equatable {
    public var authid: String
    public var role: String
    public var credential: UserCredential

    public init(authid: String, role: String, credential: UserCredential) {
        self.authid = authid
        self.role = role
        self.credential = credential
    }
}
