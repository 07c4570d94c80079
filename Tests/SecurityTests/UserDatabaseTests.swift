// The user database as the broker uses it: loading, lookups, roles, SIGHUP reload (which must keep
// the old table when the new file is broken), concurrent reads during reloads, and `user add`.

import Foundation
import XCTest
import WireCodec
@testable import BrokerSecurity

final class UserDatabaseTests: XCTestCase {
    func testLoadLookupAndRoles() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", WampCRATests.saltedAndPlainUsers))
        XCTAssertEqual(db.lookup("alice")?.credential, .plain(secret: "plain-secret"))
        XCTAssertEqual(db.lookup("bob")?.role, "admin")
        XCTAssertNil(db.lookup("carol"))
        XCTAssertNil(db.lookup("Alice"))
        XCTAssertEqual(db.roles, ["user", "admin"])
        XCTAssertEqual(db.count, 2)
    }

    /// Authids are identifiers compared by UTF-8 bytes: the other Unicode normalization of a
    /// user's authid is not that user (String == would say it is), and both may coexist.
    func testLookupComparesAuthidBytesNotCanonicalEquivalence() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", #"[{"authid": "caf\u00e9", "role": "user", "secret": "s1"}]"#))
        XCTAssertEqual(db.lookup("caf\u{e9}")?.role, "user")
        XCTAssertNil(db.lookup("cafe\u{301}"))
        let both = try UserDatabase(path: dir.write("both.json",
            #"[{"authid": "caf\u00e9", "role": "a", "secret": "s1"}, {"authid": "cafe\u0301", "role": "b", "secret": "s2"}]"#))
        XCTAssertEqual(both.lookup("caf\u{e9}")?.role, "a")
        XCTAssertEqual(both.lookup("cafe\u{301}")?.role, "b")
    }

    func testMissingFileIsAnError() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("absent.json")
        XCTAssertThrowsError(try UserDatabase(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): cannot open: No such file or directory")
        }
        XCTAssertThrowsError(try UserDatabase(path: dir.path)) { error in
            XCTAssertEqual("\(error)", "\(dir.path): not a regular file")
        }
    }

    func testReloadPicksUpChangesAndKeepsOldTableOnError() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("users.json", #"[{"authid": "alice", "role": "user", "secret": "one"}]"#)
        let db = try UserDatabase(path: path)
        XCTAssertEqual(db.lookup("alice")?.credential, .plain(secret: "one"))

        _ = try dir.write("users.json", #"[{"authid": "alice", "role": "ops", "secret": "two"}, {"authid": "bob", "role": "user", "secret": "b"}]"#)
        try db.reload()
        XCTAssertEqual(db.lookup("alice")?.credential, .plain(secret: "two"))
        XCTAssertEqual(db.lookup("bob")?.role, "user")
        XCTAssertEqual(db.roles, ["ops", "user"])

        _ = try dir.write("users.json", #"[{"authid": "alice", "role": "ops", "secret": "three"}, {"authid": "#)
        XCTAssertThrowsError(try db.reload()) { error in
            XCTAssertEqual((error as? UserDatabaseError)?.file, path)
            XCTAssertEqual((error as? UserDatabaseError)?.jsonPath, "$[1].authid")
        }
        XCTAssertEqual(db.lookup("alice")?.credential, .plain(secret: "two"), "a failed reload must keep the old table")
        XCTAssertEqual(db.lookup("bob")?.role, "user")

        try FileManager.default.removeItem(atPath: path)
        XCTAssertThrowsError(try db.reload())
        XCTAssertEqual(db.count, 2)
    }

    func testLookupsDuringReloadsSeeOneGenerationOrTheOther() throws {
        let dir = try TemporaryDirectory()
        let a = #"[{"authid": "u", "role": "a", "secret": "a"}]"#
        let b = #"[{"authid": "u", "role": "b", "secret": "b"}]"#
        let path = try dir.write("users.json", a)
        let db = try UserDatabase(path: path)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for i in 0..<200 {
                if worker == 0 {
                    _ = try? dir.write("users.json", i % 2 == 0 ? b : a)
                    try? db.reload()
                } else {
                    let record = db.lookup("u")
                    // role and secret come from the same generation
                    XCTAssertTrue(record?.role == "a" && record?.credential == .plain(secret: "a")
                        || record?.role == "b" && record?.credential == .plain(secret: "b"))
                }
            }
        }
    }

    func testAddUserCreatesFileSaltedWithMode0600() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("users.json")
        let password = "hunter2-Very-Secret"
        try UserDatabase.addUser(path: path, authid: "alice", role: "user", password: password, iterations: 1000)

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(text.contains(password), "the password must never be written")
        XCTAssertFalse(text.contains("secret"), "addUser writes the salted form only")
        // No temporary files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["users.json"])

        let record = try XCTUnwrap(try UserDatabase(path: path).lookup("alice"))
        guard case .salted(let salt, let iterations, let keyLength, let derivedKey) = record.credential else {
            return XCTFail("expected a salted record, got \(record.credential)")
        }
        XCTAssertEqual(Base64.decode(salt)?.count, 16)
        XCTAssertEqual(iterations, 1000)
        XCTAssertEqual(keyLength, 32)
        XCTAssertEqual(derivedKey, WampCRA.deriveKey(password: password, salt: salt, iterations: 1000, keyLength: 32))
        // The same password gets a fresh salt each time.
        try UserDatabase.addUser(path: path, authid: "bob", role: "user", password: password, iterations: 1000)
        let bob = try XCTUnwrap(try UserDatabase(path: path).lookup("bob"))
        XCTAssertNotEqual(bob.credential, record.credential)
    }

    func testAddUserReplacesExistingAndKeepsOthers() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("users.json", """
            [{"authid": "alice", "role": "user", "secret": "plain-secret"},
             {"authid": "bob", "role": "user", "salt": "salt123", "iterations": 100, "keylen": 16,
              "derived_key": "prq7+YkJ1/KlW1X0YczMHw=="},
             {"authid": "carol", "role": "ops", "secret": "c"}]
            """)
        try UserDatabase.addUser(path: path, authid: "bob", role: "admin", password: "new-pw", iterations: 2000)
        let records = try UserDatabase.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))), fileName: path)
        XCTAssertEqual(records.map(\.authid), ["alice", "bob", "carol"])
        XCTAssertEqual(records[0], UserRecord(authid: "alice", role: "user", credential: .plain(secret: "plain-secret")))
        XCTAssertEqual(records[2], UserRecord(authid: "carol", role: "ops", credential: .plain(secret: "c")))
        XCTAssertEqual(records[1].role, "admin")
        guard case .salted(let salt, 2000, 32, let derivedKey) = records[1].credential else {
            return XCTFail("bob not replaced: \(records[1])")
        }
        XCTAssertEqual(derivedKey, WampCRA.deriveKey(password: "new-pw", salt: salt, iterations: 2000, keyLength: 32))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testAddUserRefusesBadArgumentsAndBrokenFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("users.json")
        let bad: [(String, String, String, Int, String)] = [
            ("", "user", "pw", 1000, "authid must not be empty"),
            ("a", "", "pw", 1000, "role must not be empty"),
            ("a", "user", "", 1000, "password must not be empty"),
            ("a", "user", "pw", 0, "iterations must be a positive integer at most 2147483647"),
        ]
        for (authid, role, password, iterations, reason) in bad {
            XCTAssertThrowsError(try UserDatabase.addUser(path: path, authid: authid, role: role, password: password,
                                                          iterations: iterations)) { error in
                XCTAssertEqual("\(error)", "\(path): \(reason)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        let broken = #"[{"authid": "alice", "role": "user"}]"#
        _ = try dir.write("users.json", broken)
        XCTAssertThrowsError(try UserDatabase.addUser(path: path, authid: "bob", role: "user", password: "pw",
                                                      iterations: 10)) { error in
            XCTAssertEqual("\(error)", #"\#(path): $[0]: missing credential: "secret", or salt, iterations, keylen and derived_key "#
                + #"(wampcra); "ticket"; or "cryptosign""#)
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), broken, "a broken file is left untouched")

        let missingDirectory = dir.file("no/such/users.json")
        XCTAssertThrowsError(try UserDatabase.addUser(path: missingDirectory, authid: "a", role: "r", password: "p",
                                                      iterations: 1)) { error in
            XCTAssertTrue("\(error)".contains("cannot create: No such file or directory"), "\(error)")
        }
    }
}
