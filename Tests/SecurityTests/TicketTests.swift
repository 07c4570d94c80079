// Ticket authentication (SPEC §4): the stored form (PBKDF2 only), the check, and that an unknown
// authid is checked at a real user's cost and always fails.

import Foundation
import XCTest
@testable import BrokerSecurity

final class TicketTests: XCTestCase {
    /// Python: base64(hashlib.pbkdf2_hmac("sha256", b"my-ticket", b"c2FsdA==", 1000, 32)).
    static let record = #"{"authid": "tom", "role": "device", "ticket": {"salt": "c2FsdA==", "iterations": 1000, "keylen": 32, "#
        + #""derived_key": "ZDxaPcfs3xCeFMCsREieIA1It/I4CyPkvAVikRk6VmQ="}}"#

    func testStoredTicketChecksAgainstPythonsPBKDF2() throws {
        let dir = try TemporaryDirectory()
        let database = try UserDatabase(path: try dir.write("users.json", "[\(Self.record)]"))
        let challenge = TicketAuthenticator.challenge(authid: "tom", database: database)
        XCTAssertEqual(challenge.method, "ticket")
        XCTAssertEqual(challenge.extra, .object([]))
        XCTAssertEqual([challenge.authid, challenge.authrole, challenge.throttleKey], ["tom", "device", "tom"])
        XCTAssertTrue(challenge.verify("my-ticket"))
        XCTAssertFalse(challenge.verify("my-ticket "))
        XCTAssertFalse(challenge.verify(""))
        XCTAssertFalse(challenge.verify("ZDxaPcfs3xCeFMCsREieIA1It/I4CyPkvAVikRk6VmQ="))   // the stored key is not the ticket
    }

    func testUnknownAuthidIsCheckedLikeARealTicketAndFails() throws {
        let dir = try TemporaryDirectory()
        let database = try UserDatabase(path: try dir.write("users.json", """
            [\(Self.record), {"authid": "wanda", "role": "user", "secret": "w"}]
            """))
        let real = TicketAuthenticator.challenge(authid: "tom", database: database)
        // An unknown authid and a user without a ticket: the same extra and message, a PBKDF2 of the
        // ticket users' shape (same cost), a salt stable per authid, and never a pass.
        for authid in ["nobody", "wanda"] {
            let decoy = TicketAuthenticator.challenge(authid: authid, database: database)
            XCTAssertEqual(decoy.extra, real.extra)
            XCTAssertEqual(decoy.failureMessage, real.failureMessage)
            XCTAssertEqual(decoy.failureMessage, "ticket is invalid (wrong ticket or unknown authid)")
            let repeated = TicketAuthenticator.challenge(authid: authid, database: database)
            guard case .ticket(let check) = decoy.check, case .ticket(let again) = repeated.check else {
                return XCTFail("not a ticket check")
            }
            XCTAssertEqual([check.iterations, check.keyLength], [1000, 32])
            XCTAssertFalse(check.knownUser)
            XCTAssertEqual(check.salt, again.salt)
            XCTAssertFalse(decoy.verify("my-ticket"))
            XCTAssertFalse(decoy.verify("w"))
        }
    }

    func testAddUserStoresOnlyTheDerivedTicketAndMergesCredentials() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("users.json")
        try UserDatabase.addUser(path: path, authid: "tom", role: "device", password: "pw", iterations: 500)
        try UserDatabase.addUser(path: path, authid: "tom", role: "device", ticket: "secret-ticket-123", iterations: 700)
        let keyA = Hex.decode(CryptosignTests.vectors[0].publicKey)!
        try UserDatabase.addUser(path: path, authid: "tom", role: "ops", cryptosignKey: keyA, iterations: 1)
        try UserDatabase.addUser(path: path, authid: "tom", role: "ops", cryptosignKey: keyA, iterations: 1)   // no duplicate

        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        XCTAssertFalse(text.contains("secret-ticket-123"), text)
        let records = try UserDatabase.parse(Array(text.utf8), fileName: path)
        XCTAssertEqual(records.count, 1)
        let tom = records[0]
        XCTAssertEqual(tom.role, "ops")
        XCTAssertTrue(tom.credential?.isSalted == true, "the password is kept when a ticket or key is added")
        let ticket = try XCTUnwrap(tom.ticket)
        XCTAssertEqual([ticket.iterations, ticket.keyLength], [700, 32])
        XCTAssertEqual(Base64Length.of(ticket.salt), UserDatabase.saltBytes)
        XCTAssertEqual(tom.cryptosignKeys, [keyA])
        let database = try UserDatabase(path: path)
        XCTAssertTrue(TicketAuthenticator.challenge(authid: "tom", database: database).verify("secret-ticket-123"))
        XCTAssertEqual(database.lookup(publicKey: keyA)?.authid, "tom")

        // One key, one owner.
        XCTAssertThrowsError(try UserDatabase.addUser(path: path, authid: "eve", role: "ops", cryptosignKey: keyA, iterations: 1)) {
            XCTAssertEqual("\($0)", "\(path): public key \(Hex.encode(keyA)) already belongs to user \"tom\"")
        }
        XCTAssertThrowsError(try UserDatabase.addUser(path: path, authid: "eve", role: "ops", iterations: 1)) {
            XCTAssertEqual("\($0)", "\(path): give a credential: a password, a ticket or a cryptosign public key")
        }
        XCTAssertThrowsError(try UserDatabase.addUser(path: path, authid: "eve", role: "ops", ticket: "", iterations: 1)) {
            XCTAssertEqual("\($0)", "\(path): ticket must not be empty")
        }
    }
}

/// Decoded length of base64 text (for the salt-size check).
private enum Base64Length {
    static func of(_ text: String) -> Int? { Data(base64Encoded: text)?.count }
}
