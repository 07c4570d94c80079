// `fastbroker user add` (SPEC §2, §3): adds or replaces one user in the userdb file, in the
// salted form with a fresh random salt, so the password itself is never stored.

import WireCodec

extension UserDatabase {
    /// Bytes of random salt per user (as Bondy does); stored as base64 text, which is what the
    /// client receives and feeds to PBKDF2 as UTF-8.
    public static let saltBytes = 16
    /// PBKDF2 output length written by `addUser` (the WAMP-CRA default).
    public static let addUserKeyLength = 32

    /// `fastbroker user add`: creates the file if missing, replaces an existing authid (keeping its
    /// position) and keeps every other user as it was. Random 16-byte salt stored as base64 text,
    /// keylen 32, PBKDF2-HMAC-SHA256; never writes the password; writes atomically (temporary file
    /// + rename) with mode 0600. A file that does not parse is left untouched and its error thrown.
    public static func addUser(path: String, authid: String, role: String, password: String, iterations: Int)
        throws(UserDatabaseError)
    {
        func invalid(_ reason: String) -> UserDatabaseError {
            UserDatabaseError(file: path, jsonPath: nil, reason: reason)
        }
        guard !authid.isEmpty else { throw invalid("authid must not be empty") }
        guard !role.isEmpty else { throw invalid("role must not be empty") }
        guard !password.isEmpty else { throw invalid("password must not be empty") }
        guard iterations > 0 && iterations <= Int(Int32.max) else {
            throw invalid("iterations must be a positive integer at most \(Int32.max)")
        }

        var records: [UserRecord]
        switch try UserDatabaseFile.load(path) {
        case .missing: records = []
        case .contents(let bytes): records = try parse(bytes, fileName: path)
        }

        let salt = Base64.encode(Crypto.randomBytes(saltBytes))
        let derivedKey = WampCRA.deriveKey(password: password, salt: salt, iterations: iterations,
                                           keyLength: addUserKeyLength)
        let record = UserRecord(authid: authid, role: role,
                                credential: .salted(salt: salt, iterations: iterations,
                                                    keyLength: addUserKeyLength, derivedKey: derivedKey))
        if let i = records.firstIndex(where: { $0.authid == authid }) {
            records[i] = record
        } else {
            records.append(record)
        }
        try UserDatabaseFile.writeAtomically(path, render(records))
    }
}
