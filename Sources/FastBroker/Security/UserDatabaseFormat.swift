// The userdb file format (SPEC §3): a JSON array of records, each either
//   {"authid", "role", "secret"}                                        (plain)
//   {"authid", "role", "salt", "iterations", "keylen", "derived_key"}    (salted)
// Reading is strict (unknown keys, mixed forms, duplicate authids and malformed values are errors
// naming the JSON path) because a typo in a credential file should fail loudly at load, not
// surface later as a user who cannot log in. Writing produces one record per line. The text is read
// by the shared JSONTreeReader, which refuses duplicate keys.

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
        for (i, item) in items.enumerated() {
            let path = top.index(i)
            let record = try parseRecord(item.value, path: path, fileName: fileName)
            if let first = firstIndex[Array(record.authid.utf8)] {
                throw UserDatabaseError(file: fileName, jsonPath: path.key("authid").description,
                                        reason: "duplicate authid \(JSONWriter.quoted(record.authid)) "
                                            + "(first defined at \(top.index(first)))")
            }
            firstIndex[Array(record.authid.utf8)] = i
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
        var authid: String?, role: String?, secret: String?, salt: String?, derivedKey: String?
        var iterations: Int?, keyLength: Int?
        for member in members {
            let key = member.key, value = member.node.value
            let p = path.key(key)
            switch key {
            case "authid": authid = try nonEmptyString(value, p, fail)
            case "role": role = try nonEmptyString(value, p, fail)
            case "secret": secret = try nonEmptyString(value, p, fail)
            case "salt": salt = try nonEmptyString(value, p, fail)
            case "derived_key": derivedKey = try nonEmptyString(value, p, fail)
            case "iterations": iterations = try positiveInteger(value, max: Int(Int32.max), p, fail)
            case "keylen": keyLength = try positiveInteger(value, max: maxKeyLength, p, fail)
            default:
                throw fail(p, "unknown key (a user record has authid, role, and either secret "
                    + "or salt, iterations, keylen, derived_key)")
            }
        }
        guard let authid else { throw fail(path, "missing \"authid\"") }
        guard let role else { throw fail(path, "missing \"role\"") }

        let saltedFields: [(name: String, present: Bool)] = [
            ("salt", salt != nil), ("iterations", iterations != nil), ("keylen", keyLength != nil),
            ("derived_key", derivedKey != nil),
        ]
        if let secret {
            if let extra = saltedFields.first(where: { $0.present }) {
                throw fail(path.key(extra.name), "a record has either \"secret\" or the salted fields, not both")
            }
            return UserRecord(authid: authid, role: role, credential: .plain(secret: secret))
        }
        guard let salt, let iterations, let keyLength, let derivedKey else {
            if let missing = saltedFields.first(where: { !$0.present }), saltedFields.contains(where: { $0.present }) {
                throw fail(path, "missing \"\(missing.name)\" (a salted record needs salt, iterations, keylen and derived_key)")
            }
            throw fail(path, "missing credential: \"secret\", or salt, iterations, keylen and derived_key")
        }
        guard let raw = Base64.decode(derivedKey), raw.count == keyLength else {
            throw fail(path.key("derived_key"), "expected the base64 text of keylen (\(keyLength)) bytes")
        }
        return UserRecord(authid: authid, role: role,
                          credential: .salted(salt: salt, iterations: iterations, keyLength: keyLength, derivedKey: derivedKey))
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
            case .plain(let secret):
                fields.append(("secret", JSONWriter.quoted(secret)))
            case .salted(let salt, let iterations, let keyLength, let derivedKey):
                fields += [
                    ("salt", JSONWriter.quoted(salt)), ("iterations", String(iterations)),
                    ("keylen", String(keyLength)), ("derived_key", JSONWriter.quoted(derivedKey)),
                ]
            }
            out += Array("  {".utf8)
            out += Array(fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ").utf8)
            out += Array((i + 1 < records.count ? "},\n" : "}\n").utf8)
        }
        out += Array("]\n".utf8)
        return out
    }
}
