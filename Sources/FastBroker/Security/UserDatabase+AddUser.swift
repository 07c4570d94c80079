// `fastbroker user add` (SPEC §2, §3): adds or updates one user in the userdb file. Passwords and
// tickets go in salted with a fresh random salt, so neither is ever stored; cryptosign public keys
// are stored as hex.

import BrokerSerialization
import WireCodec

extension UserDatabase {
    /// Bytes of random salt per user (as Bondy does); stored as base64 text, which is what the
    /// client receives and feeds to PBKDF2 as UTF-8.
    public static let saltBytes = 16
    /// PBKDF2 output length written by `addUser` (the WAMP-CRA default).
    public static let addUserKeyLength = 32

    /// `fastbroker user add`: creates the file if missing, adds the user or updates an existing
    /// authid in place (new role; the credential kinds given replace that kind, a public key is
    /// added to the user's keys, other kinds are kept) and keeps every other user as it was.
    /// Password and ticket are stored only as PBKDF2-HMAC-SHA256 keys under a random 16-byte salt
    /// (base64 text), keylen 32; writes atomically (temporary file + rename) with mode 0600. A file
    /// that does not parse is left untouched and its error thrown.
    public static func addUser(path: String, authid: String, role: String, password: String? = nil, ticket: String? = nil,
                               cryptosignKey: [UInt8]? = nil, iterations: Int) throws(UserDatabaseError) {
        func invalid(_ reason: String) -> UserDatabaseError {
            UserDatabaseError(file: path, jsonPath: nil, reason: reason)
        }
        guard !authid.isEmpty else { throw invalid("authid must not be empty") }
        guard !role.isEmpty else { throw invalid("role must not be empty") }
        guard password != nil || ticket != nil || cryptosignKey != nil else {
            throw invalid("give a credential: a password, a ticket or a cryptosign public key")
        }
        guard password?.isEmpty != true else { throw invalid("password must not be empty") }
        guard ticket?.isEmpty != true else { throw invalid("ticket must not be empty") }
        guard cryptosignKey.map({ $0.count == 32 }) ?? true else {
            throw invalid("a cryptosign public key is 32 bytes (64 hex digits)")
        }
        guard iterations > 0 && iterations <= Int(Int32.max) else {
            throw invalid("iterations must be a positive integer at most \(Int32.max)")
        }

        var records: [UserRecord]
        switch try UserDatabaseFile.load(path) {
        case .missing: records = []
        case .contents(let bytes): records = try parse(bytes, fileName: path)
        }
        if let key = cryptosignKey, let holder = records.first(where: { $0.authid != authid && $0.cryptosignKeys.contains(key) }) {
            throw invalid("public key \(Hex.encode(key)) already belongs to user \(JSONWriter.quoted(holder.authid))")
        }

        let index = records.firstIndex { $0.authid == authid }
        var record = index.map { records[$0] } ?? UserRecord(authid: authid, role: role)
        record.role = role
        if let password {
            let salt = Base64.encode(Crypto.randomBytes(saltBytes))
            let derivedKey = WampCRA.deriveKey(password: password, salt: salt, iterations: iterations,
                                               keyLength: addUserKeyLength)
            record.credential = .salted(salt: salt, iterations: iterations, keyLength: addUserKeyLength, derivedKey: derivedKey)
        }
        if let ticket {
            record.ticket = TicketAuthenticator.credential(ticket: ticket, iterations: iterations, keyLength: addUserKeyLength)
        }
        if let key = cryptosignKey, !record.cryptosignKeys.contains(key) {
            record.cryptosignKeys.append(key)
        }
        if let index {
            records[index] = record
        } else {
            records.append(record)
        }
        try UserDatabaseFile.writeAtomically(path, render(records))
    }
}
