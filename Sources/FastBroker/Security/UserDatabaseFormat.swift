// The userdb file format (SPEC §3): a JSON array of records, each with "authid", "role" and any
// non-empty subset of the credential kinds:
//   "secret"                                        (WAMP-CRA, plain)
//   "salt", "iterations", "keylen", "derived_key"   (WAMP-CRA, salted)
//   "ticket": {"salt", "iterations", "keylen", "derived_key"}
//   "cryptosign": ["<64 hex digits: Ed25519 public key>", ...]
// Reading is strict (unknown keys, mixed forms, duplicate authids, a public key held twice and
// malformed values are errors naming the JSON path) because a typo in a credential file should
// fail loudly at load, not surface later as a user who cannot log in. Writing produces one record
// per line. The text is read by the shared JSONTreeReader, which refuses duplicate keys.

import BrokerSerialization

import WireCodec

extension UserDatabase {
    /// Largest accepted `keylen`: far beyond any real use, small enough that a typo cannot make
    /// `user add` allocate gigabytes.
    public static let maxKeyLength = 1024

    /// Parses a userdb document. `fileName` only labels the errors.
    public static func parse(_ bytes: [UInt8], fileName: String) throws(UserDatabaseError) -> [UserRecord] {
        let root: JSONTreeValue
        do {
            root = try JSONTreeReader.read(bytes).value
        } catch {
            let (line, column) = error.lineAndColumn(in: bytes)
            throw UserDatabaseError(file: fileName, jsonPath: error.path, reason: "line \(line), column \(column): \(error.message)")
        }
        let top = JSONPath()
        guard case .array(let items) = root else {
            throw UserDatabaseError(file: fileName, jsonPath: top.description,
                                    reason: "expected an array of user records, found \(root.kindName)")
        }
        var records: [UserRecord] = []
        var firstIndex: [[UInt8]: Int] = [:]   // authids compare by bytes, as in lookups
        var keyHolder: [[UInt8]: String] = [:]   // public key → the JSON path that holds it
        for (i, item) in items.enumerated() {
            let path = top.index(i)
            let record = try parseRecord(item.value, path: path, fileName: fileName)
            if let first = firstIndex[Array(record.authid.utf8)] {
                throw UserDatabaseError(file: fileName, jsonPath: path.key("authid").description,
                                        reason: "duplicate authid \(JSONWriter.quoted(record.authid)) "
                                            + "(first defined at \(top.index(first)))")
            }
            firstIndex[Array(record.authid.utf8)] = i
            for (k, key) in record.cryptosignKeys.enumerated() {
                let keyPath = path.key("cryptosign").index(k)
                if let holder = keyHolder[key] {
                    throw UserDatabaseError(file: fileName, jsonPath: keyPath.description,
                                            reason: "public key already held at \(holder) (one key belongs to one user)")
                }
                keyHolder[key] = keyPath.description
            }
            records.append(record)
        }
        return records
    }

    private static func parseRecord(_ item: JSONTreeValue, path: JSONPath, fileName: String) throws(UserDatabaseError) -> UserRecord {
        func fail(_ p: JSONPath, _ reason: String) -> UserDatabaseError {
            UserDatabaseError(file: fileName, jsonPath: p.description, reason: reason)
        }
        guard case .object(let members) = item else {
            throw fail(path, "expected an object (a user record), found \(item.kindName)")
        }
        var authid: String?, role: String?, secret: String?
        var salted = SaltedFields()
        var ticket: TicketCredential?
        var cryptosignKeys: [[UInt8]]?
        for member in members {
            let key = member.key, value = member.node.value
            let p = path.key(key)
            switch key {
            case "authid": authid = try nonEmptyString(value, p, fail)
            case "role": role = try nonEmptyString(value, p, fail)
            case "secret": secret = try nonEmptyString(value, p, fail)
            case "salt", "iterations", "keylen", "derived_key": try salted.read(key, value, p, fail)
            case "ticket": ticket = try parseTicket(value, p, fail)
            case "cryptosign": cryptosignKeys = try parsePublicKeys(value, p, fail)
            default:
                throw fail(p, "unknown key (a user record has authid, role, and credentials: secret, or salt, "
                    + "iterations, keylen, derived_key (wampcra); ticket; cryptosign)")
            }
        }
        guard let authid else { throw fail(path, "missing \"authid\"") }
        guard let role else { throw fail(path, "missing \"role\"") }

        var credential: UserCredential?
        if let secret {
            if let extra = salted.firstPresent {
                throw fail(path.key(extra), "a record has either \"secret\" or the salted fields, not both")
            }
            credential = .plain(secret: secret)
        } else if salted.firstPresent != nil {
            credential = try salted.credential(path, fail)
        }
        if credential == nil && ticket == nil && cryptosignKeys == nil {
            throw fail(path, "missing credential: \"secret\", or salt, iterations, keylen and derived_key (wampcra); "
                + "\"ticket\"; or \"cryptosign\"")
        }
        return UserRecord(authid: authid, role: role, credential: credential, ticket: ticket,
                          cryptosignKeys: cryptosignKeys ?? [])
    }

    /// The four PBKDF2 fields, shared by the salted WAMP-CRA form and the ticket object.
    private struct SaltedFields {
        var salt: String?, derivedKey: String?, iterations: Int?, keyLength: Int?

        mutating func read(_ key: String, _ value: JSONTreeValue, _ p: JSONPath,
                           _ fail: (JSONPath, String) -> UserDatabaseError) throws(UserDatabaseError) {
            switch key {
            case "salt": salt = try UserDatabase.nonEmptyString(value, p, fail)
            case "derived_key": derivedKey = try UserDatabase.nonEmptyString(value, p, fail)
            case "iterations": iterations = try UserDatabase.positiveInteger(value, max: Int(Int32.max), p, fail)
            default: keyLength = try UserDatabase.positiveInteger(value, max: UserDatabase.maxKeyLength, p, fail)
            }
        }

        var firstPresent: String? {
            [("salt", salt != nil), ("iterations", iterations != nil), ("keylen", keyLength != nil),
             ("derived_key", derivedKey != nil)].first { $0.1 }?.0
        }

        /// All four present, and derived_key the base64 of keylen bytes.
        func derived(_ path: JSONPath, what: String, _ fail: (JSONPath, String) -> UserDatabaseError)
            throws(UserDatabaseError) -> (salt: String, iterations: Int, keyLength: Int, text: String, raw: [UInt8])
        {
            let fields: [(String, Bool)] = [("salt", salt != nil), ("iterations", iterations != nil),
                                            ("keylen", keyLength != nil), ("derived_key", derivedKey != nil)]
            guard let salt, let iterations, let keyLength, let derivedKey else {
                let missing = fields.first { !$0.1 }!.0
                throw fail(path, "missing \"\(missing)\" (\(what) needs salt, iterations, keylen and derived_key)")
            }
            guard let raw = Base64.decode(derivedKey), raw.count == keyLength else {
                throw fail(path.key("derived_key"), "expected the base64 text of keylen (\(keyLength)) bytes")
            }
            return (salt, iterations, keyLength, derivedKey, raw)
        }

        func credential(_ path: JSONPath, _ fail: (JSONPath, String) -> UserDatabaseError) throws(UserDatabaseError) -> UserCredential {
            let d = try derived(path, what: "a salted record", fail)
            return .salted(salt: d.salt, iterations: d.iterations, keyLength: d.keyLength, derivedKey: d.text)
        }
    }

    private static func parseTicket(
        _ value: JSONTreeValue, _ path: JSONPath, _ fail: (JSONPath, String) -> UserDatabaseError
    ) throws(UserDatabaseError) -> TicketCredential {
        guard case .object(let members) = value else {
            throw fail(path, "expected an object {salt, iterations, keylen, derived_key} (never the ticket in clear), "
                + "found \(value.kindName)")
        }
        var fields = SaltedFields()
        for member in members {
            let p = path.key(member.key)
            guard ["salt", "iterations", "keylen", "derived_key"].contains(member.key) else {
                throw fail(p, "unknown key (a ticket has salt, iterations, keylen, derived_key)")
            }
            try fields.read(member.key, member.node.value, p, fail)
        }
        let d = try fields.derived(path, what: "a ticket", fail)
        return TicketCredential(salt: d.salt, iterations: d.iterations, keyLength: d.keyLength, derivedKey: d.raw)
    }

    private static func parsePublicKeys(
        _ value: JSONTreeValue, _ path: JSONPath, _ fail: (JSONPath, String) -> UserDatabaseError
    ) throws(UserDatabaseError) -> [[UInt8]] {
        guard case .array(let items) = value, !items.isEmpty else {
            throw fail(path, "expected a non-empty array of Ed25519 public keys (64 hex digits each)")
        }
        var keys: [[UInt8]] = []
        for (i, item) in items.enumerated() {
            guard case .string(let text) = item.value, text.utf8.count == 64, let key = Hex.decode(text) else {
                throw fail(path.index(i), "expected an Ed25519 public key: 64 hex digits")
            }
            keys.append(key)
        }
        return keys
    }

    private static func nonEmptyString(
        _ value: JSONTreeValue, _ path: JSONPath, _ fail: (JSONPath, String) -> UserDatabaseError
    ) throws(UserDatabaseError) -> String {
        guard case .string(let s) = value else { throw fail(path, "expected a non-empty string, found \(value.kindName)") }
        guard !s.isEmpty else { throw fail(path, "expected a non-empty string") }
        return s
    }

    private static func positiveInteger(
        _ value: JSONTreeValue, max: Int, _ path: JSONPath, _ fail: (JSONPath, String) -> UserDatabaseError
    ) throws(UserDatabaseError) -> Int {
        // Only plain digit strings: 1000.0, 1e3 and -5 are refused rather than guessed at.
        guard case .number(let text, _) = value, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let n = Int(text), n > 0
        else { throw fail(path, "expected a positive integer") }
        guard n <= max else { throw fail(path, "expected a positive integer at most \(max)") }
        return n
    }

    /// The file text for `records`: a JSON array, one record per line, in the given order.
    static func render(_ records: [UserRecord]) -> [UInt8] {
        if records.isEmpty { return Array("[]\n".utf8) }
        var out: [UInt8] = Array("[\n".utf8)
        for (i, record) in records.enumerated() {
            var fields: [(String, String)] = [
                ("authid", JSONWriter.quoted(record.authid)), ("role", JSONWriter.quoted(record.role)),
            ]
            switch record.credential {
            case .plain(let secret)?:
                fields.append(("secret", JSONWriter.quoted(secret)))
            case .salted(let salt, let iterations, let keyLength, let derivedKey)?:
                fields += [
                    ("salt", JSONWriter.quoted(salt)), ("iterations", String(iterations)),
                    ("keylen", String(keyLength)), ("derived_key", JSONWriter.quoted(derivedKey)),
                ]
            case nil:
                break
            }
            if let ticket = record.ticket {
                fields.append(("ticket", "{\"salt\": \(JSONWriter.quoted(ticket.salt)), \"iterations\": \(ticket.iterations), "
                    + "\"keylen\": \(ticket.keyLength), \"derived_key\": \(JSONWriter.quoted(Base64.encode(ticket.derivedKey)))}"))
            }
            if !record.cryptosignKeys.isEmpty {
                fields.append(("cryptosign", "[" + record.cryptosignKeys.map { "\"\(Hex.encode($0))\"" }.joined(separator: ", ") + "]"))
            }
            out += Array("  {".utf8)
            out += Array(fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ").utf8)
            out += Array((i + 1 < records.count ? "},\n" : "}\n").utf8)
        }
        out += Array("]\n".utf8)
        return out
    }
}
