// WAMP-CRA: key derivation and signatures against vectors from Autobahn|Python and hashlib
// (expressions in the comments), the challenge text, verification and the decoy challenge for
// unknown authids.

import Foundation
import XCTest
import WireCodec
@testable import BrokerSecurity

final class WampCRATests: XCTestCase {
    // autobahn.wamp.auth.derive_key('secret1', 'salt123', 100, 16)  == the SPEC §4 / Crossbar vector
    // also base64.b64encode(hashlib.pbkdf2_hmac('sha256', b'secret1', b'salt123', 100, 16))
    func testDeriveKeySpecVector() {
        XCTAssertEqual(WampCRA.deriveKey(password: "secret1", salt: "salt123", iterations: 100, keyLength: 16),
                       "prq7+YkJ1/KlW1X0YczMHw==")
    }

    func testDeriveKeyMatchesAutobahn() {
        // autobahn.wamp.auth.derive_key('secret1', 'salt123', 1000, 32)
        XCTAssertEqual(WampCRA.deriveKey(password: "secret1", salt: "salt123", iterations: 1000, keyLength: 32),
                       "64xfzBvZhGDT7PB0bQwDeI8/WR1M9x6Cw5dt0yP9koc=")
        // autobahn.wamp.auth.derive_key('pässwörd', 'salt123', 1000, 32)  (password as UTF-8)
        XCTAssertEqual(WampCRA.deriveKey(password: "pässwörd", salt: "salt123", iterations: 1000, keyLength: 32),
                       "WtE/grYZUB4fEy9U6QI5JMHbIMM9gKRNzoN1rzKkOvE=")
    }

    /// The challenge text Autobahn signed for the vectors below, with an escaped quote and a
    /// non-ASCII character in the authid.
    static let fixedChallenge =
        #"{"nonce":"abc","authprovider":"userdb","authid":"peter \"q\" ü","timestamp":"2026-11-25T17:22:19.123Z","authrole":"user","authmethod":"wampcra","session":4711}"#

    func testChallengeTextIsByteExact() {
        let text = WampCRA.challengeText(nonce: "abc", authid: "peter \"q\" ü", timestamp: "2026-11-25T17:22:19.123Z",
                                         authrole: "user", session: 4711)
        XCTAssertEqual(text, Self.fixedChallenge)
    }

    func testSignatureMatchesAutobahnComputeWCS() {
        // compute_wcs(derive_key('secret1', 'salt123', 100, 16), fixedChallenge)
        let salted = WampCRA.signingKey(for: .salted(salt: "salt123", iterations: 100, keyLength: 16,
                                                     derivedKey: "prq7+YkJ1/KlW1X0YczMHw=="))
        XCTAssertEqual(salted, Array("prq7+YkJ1/KlW1X0YczMHw==".utf8))
        XCTAssertEqual(WampCRA.signature(key: salted, challenge: Self.fixedChallenge),
                       "8VgJgHAQib0UhJZJ8WEuOAXuSQex00vhcqovrMgHsWY=")
        // compute_wcs(b'plain-secret', fixedChallenge)
        let plain = WampCRA.signingKey(for: .plain(secret: "plain-secret"))
        XCTAssertEqual(WampCRA.signature(key: plain, challenge: Self.fixedChallenge),
                       "DgsklxnzRxlzIXM+ozNo4REsmAgSys+s+0B1mzbfI1U=")
    }

    func testChallengeObjectForSaltedUser() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", Self.saltedAndPlainUsers))
        let bob = try XCTUnwrap(db.lookup("bob"))
        let now = Date(timeIntervalSince1970: 1_795_627_339.123)
        let c = WampCRA.makeChallenge(authid: "bob", session: 9_007_199_254_740_992, user: bob, database: db, now: now)
        XCTAssertTrue(c.knownUser)
        XCTAssertEqual(c.salt, "salt123")
        XCTAssertEqual(c.iterations, 100)
        XCTAssertEqual(c.keyLength, 16)
        XCTAssertEqual(c.authrole, "admin")
        XCTAssertEqual(c.expectedSignatureKey, Array("prq7+YkJ1/KlW1X0YczMHw==".utf8))

        let object = try jsonObject(c.challenge)
        XCTAssertEqual(Set(object.keys), Self.challengeKeys)
        XCTAssertEqual(object["authid"] as? String, "bob")
        XCTAssertEqual(object["authrole"] as? String, "admin")
        XCTAssertEqual(object["authmethod"] as? String, "wampcra")
        XCTAssertEqual(object["authprovider"] as? String, "userdb")
        XCTAssertEqual((object["session"] as? NSNumber)?.uint64Value, 9_007_199_254_740_992)
        // 1795627339123 ms == datetime(2026,11,25,17,22,19,123000, tzinfo=utc) (Python)
        XCTAssertEqual(object["timestamp"] as? String, "2026-11-25T17:22:19.123Z")
        let nonce = try XCTUnwrap(Base64.decode(try XCTUnwrap(object["nonce"] as? String)))
        XCTAssertGreaterThanOrEqual(nonce.count, 16)
    }

    func testChallengeForPlainUserHasNoSaltFields() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", Self.saltedAndPlainUsers))
        let c = WampCRA.makeChallenge(authid: "alice", session: 1, user: db.lookup("alice"), database: db)
        XCTAssertNil(c.salt)
        XCTAssertNil(c.iterations)
        XCTAssertNil(c.keyLength)
        XCTAssertEqual(c.expectedSignatureKey, Array("plain-secret".utf8))
        let signature = WampCRA.signature(key: Array("plain-secret".utf8), challenge: c.challenge)
        XCTAssertTrue(WampCRA.verify(signature: signature, challenge: c))
    }

    func testChallengeEscapesAwkwardAuthids() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", "[]"))
        for authid in ["quote\"d", "back\\slash", "new\nline\u{1}\u{1f}", "ünïcødé 😀", "</script>"] {
            let c = WampCRA.makeChallenge(authid: authid, session: 42, user: nil, database: db)
            XCTAssertEqual(try jsonObject(c.challenge)["authid"] as? String, authid)
            XCTAssertFalse(c.challenge.utf8.contains { $0 < 0x20 }, "raw control character in \(c.challenge)")
        }
    }

    func testNoncesDiffer() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", Self.saltedAndPlainUsers))
        var nonces = Set<String>()
        for _ in 0..<50 {
            let c = WampCRA.makeChallenge(authid: "alice", session: 1, user: db.lookup("alice"), database: db)
            nonces.insert(try XCTUnwrap(try jsonObject(c.challenge)["nonce"] as? String))
        }
        XCTAssertEqual(nonces.count, 50)
    }

    func testTimestampFormatOfCurrentTime() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", "[]"))
        let c = WampCRA.makeChallenge(authid: "x", session: 1, user: nil, database: db)
        let stamp = try XCTUnwrap(try jsonObject(c.challenge)["timestamp"] as? String)
        let pattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#
        XCTAssertNotNil(stamp.range(of: pattern, options: .regularExpression), stamp)
    }

    func testVerifyAcceptsRightAndRefusesWrongSignatures() throws {
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", Self.saltedAndPlainUsers))
        let c = WampCRA.makeChallenge(authid: "bob", session: 77, user: db.lookup("bob"), database: db)
        let key = WampCRA.deriveKey(password: "secret1", salt: "salt123", iterations: 100, keyLength: 16)
        let right = WampCRA.signature(key: Array(key.utf8), challenge: c.challenge)
        XCTAssertTrue(WampCRA.verify(signature: right, challenge: c))

        let wrongPassword = WampCRA.deriveKey(password: "secret2", salt: "salt123", iterations: 100, keyLength: 16)
        XCTAssertFalse(WampCRA.verify(signature: WampCRA.signature(key: Array(wrongPassword.utf8), challenge: c.challenge),
                                      challenge: c))
        // The raw PBKDF2 bytes are not the key; signing with them must fail.
        let rawKey = Crypto.pbkdf2SHA256(password: Array("secret1".utf8), salt: Array("salt123".utf8), iterations: 100,
                                         keyLength: 16)
        XCTAssertFalse(WampCRA.verify(signature: WampCRA.signature(key: rawKey, challenge: c.challenge), challenge: c))
        // Signature over another challenge (replay).
        let other = WampCRA.makeChallenge(authid: "bob", session: 77, user: db.lookup("bob"), database: db)
        XCTAssertFalse(WampCRA.verify(signature: WampCRA.signature(key: Array(key.utf8), challenge: other.challenge),
                                      challenge: c))
        // One flipped bit, truncation, garbage, empty.
        var flipped = try XCTUnwrap(Base64.decode(right))
        flipped[31] ^= 1
        for bad in [Base64.encode(flipped), String(right.dropLast(4)), "not base64!", "", right + "AAAA"] {
            XCTAssertFalse(WampCRA.verify(signature: bad, challenge: c), bad)
        }
    }

    func testDecoyLooksLikeARealSaltedChallengeAndIsStable() throws {
        let dir = try TemporaryDirectory()
        // Mostly salted (2 of 3), usual parameters 1000/32, most common role "user".
        let addPath = dir.file("users.json")
        try UserDatabase.addUser(path: addPath, authid: "carol", role: "user", password: "pw-c", iterations: 1000)
        try UserDatabase.addUser(path: addPath, authid: "dave", role: "user", password: "pw-d", iterations: 1000)
        let db = try UserDatabase(path: addPath)
        let real = WampCRA.makeChallenge(authid: "carol", session: 5, user: db.lookup("carol"), database: db)
        let decoy1 = WampCRA.makeChallenge(authid: "mallory", session: 5, user: nil, database: db)
        let decoy2 = WampCRA.makeChallenge(authid: "mallory", session: 6, user: nil, database: db)
        let other = WampCRA.makeChallenge(authid: "trudy", session: 5, user: nil, database: db)

        XCTAssertFalse(decoy1.knownUser)
        XCTAssertEqual(Set(try jsonObject(decoy1.challenge).keys), Set(try jsonObject(real.challenge).keys))
        XCTAssertEqual(decoy1.iterations, real.iterations)
        XCTAssertEqual(decoy1.keyLength, real.keyLength)
        XCTAssertEqual(decoy1.authrole, "user")
        let realSalt = try XCTUnwrap(real.salt)
        let decoySalt = try XCTUnwrap(decoy1.salt)
        XCTAssertEqual(decoySalt.utf8.count, realSalt.utf8.count)
        XCTAssertEqual(Base64.decode(decoySalt)?.count, 16)
        XCTAssertEqual(decoy2.salt, decoySalt, "decoy salt must be stable for an authid")
        XCTAssertNotEqual(other.salt, decoySalt, "decoy salts must differ between authids")
        XCTAssertNotEqual(decoy1.expectedSignatureKey, decoy2.expectedSignatureKey)

        // Even a signature made with the decoy's own key is refused.
        XCTAssertFalse(WampCRA.verify(signature: WampCRA.signature(key: decoy1.expectedSignatureKey,
                                                                   challenge: decoy1.challenge),
                                      challenge: decoy1))
    }

    func testDecoyShapesFollowTheUsersDistribution() throws {
        let dir = try TemporaryDirectory()
        // Two plain "ops" users and one salted "admin" 100/16: a third of decoys should look like
        // the admin's challenge, and no decoy may mix the two (e.g. role ops with a salt).
        let db = try UserDatabase(path: dir.write("users.json", """
            [{"authid": "a", "role": "ops", "secret": "s1"},
             {"authid": "b", "role": "ops", "secret": "s2"},
             {"authid": "c", "role": "admin", "salt": "salt123", "iterations": 100, "keylen": 16,
              "derived_key": "prq7+YkJ1/KlW1X0YczMHw=="}]
            """))
        let n = 3000
        var plain = 0
        for i in 0..<n {
            let decoy = WampCRA.makeChallenge(authid: "nobody-\(i)", session: 1, user: nil, database: db)
            XCTAssertEqual(try jsonObject(decoy.challenge)["authrole"] as? String, decoy.authrole)
            if decoy.authrole == "ops" {
                plain += 1
                XCTAssertNil(decoy.salt)
                XCTAssertNil(decoy.iterations)
                XCTAssertNil(decoy.keyLength)
            } else {
                XCTAssertEqual(decoy.authrole, "admin")
                XCTAssertEqual(Base64.decode(try XCTUnwrap(decoy.salt))?.count, 16)
                XCTAssertEqual(decoy.iterations, 100)
                XCTAssertEqual(decoy.keyLength, 16)
            }
        }
        // Expected 2/3 (σ ≈ 0.009): far outside these bounds only if the weighting is wrong.
        XCTAssertEqual(Double(plain) / Double(n), 2.0 / 3.0, accuracy: 0.06)
    }

    func testDecoyIsStableAcrossRestartsThroughItsKeyFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("users.json")
        try UserDatabase.addUser(path: path, authid: "carol", role: "user", password: "pw", iterations: 1000)
        let keyPath = UserDatabase.decoyKeyPath(forUserDB: path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyPath), "user add does not make the key")
        let first = WampCRA.makeChallenge(authid: "mallory", session: 1, user: nil, database: try UserDatabase(path: path))
        // Created 0600, 64 hex digits.
        var info = stat()
        XCTAssertEqual(stat(keyPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        let text = try String(contentsOfFile: keyPath, encoding: .utf8)
        XCTAssertEqual(text.count, 65)
        XCTAssertTrue(text.dropLast().allSatisfy(\.isHexDigit))
        // A second load (a restart) reads the same key: the same decoy salt.
        let again = WampCRA.makeChallenge(authid: "mallory", session: 2, user: nil, database: try UserDatabase(path: path))
        XCTAssertEqual(again.salt, try XCTUnwrap(first.salt))
        // A new key gives new decoys.
        try FileManager.default.removeItem(atPath: keyPath)
        let rekeyed = WampCRA.makeChallenge(authid: "mallory", session: 3, user: nil, database: try UserDatabase(path: path))
        XCTAssertNotEqual(rekeyed.salt, first.salt)
    }

    func testMalformedDecoyKeyFileIsAnErrorNamingIt() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("users.json", "[]")
        _ = try dir.write("users.json.decoy-key", "not hex\n")
        XCTAssertThrowsError(try UserDatabase(path: path)) { error in
            let e = error as? UserDatabaseError
            XCTAssertEqual(e?.file, dir.file("users.json.decoy-key"))
            XCTAssertEqual(e?.reason, "expected 64 hex digits (the WAMP-CRA decoy key); remove the file to have a new one made")
        }
    }

    func testUnwritableDirectoryForTheDecoyKeyIsAnErrorNamingIt() throws {
        guard geteuid() != 0 else { throw XCTSkip("root writes anywhere") }
        let dir = try TemporaryDirectory()
        let path = try dir.write("users.json", "[]")
        XCTAssertEqual(chmod(dir.path, 0o500), 0)
        defer { chmod(dir.path, 0o700) }
        XCTAssertThrowsError(try UserDatabase(path: path)) { error in
            let e = error as? UserDatabaseError
            XCTAssertEqual(e?.file, dir.file("users.json.decoy-key"))
            XCTAssertTrue(e?.reason.hasPrefix("cannot create the WAMP-CRA decoy key") ?? false, "\(String(describing: e))")
        }
    }

    func testAddingAUserMovesFewDecoys() {
        func users(_ n: Int) -> [UserRecord] {
            (0..<n).map { UserRecord(authid: "u\($0)", role: "r\($0 % 3)", credential: .plain(secret: "s")) }
        }
        let before = DecoyProfiles(records: users(12)), after = DecoyProfiles(records: users(13))
        var moved = 0
        for i in 0..<1000 {
            let draw = Crypto.hmacSHA256(key: [1], message: Array("a\(i)".utf8))[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if before.pick(draw) != after.pick(draw) { moved += 1 }
        }
        // A modulo draw would move about two thirds; the proportional one about a thirteenth.
        XCTAssertLessThan(moved, 200)
    }

    func testISO8601TimestampMatchesPython() {
        // (datetime(1970,1,1,tzinfo=timezone.utc) + timedelta(milliseconds=ms)).isoformat(timespec='milliseconds')
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000Z"), (1, "1970-01-01T00:00:00.001Z"), (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"), (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
            (1_795_627_339_123, "2026-11-25T17:22:19.123Z"), (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ]
        for (ms, text) in cases {
            XCTAssertEqual(ISO8601Timestamp.format(millisecondsSince1970: ms), text, "\(ms)")
        }
    }

    static let challengeKeys: Set<String> = ["nonce", "authprovider", "authid", "timestamp", "authrole", "authmethod",
                                             "session"]

    static let saltedAndPlainUsers = """
        [{"authid": "alice", "role": "user", "secret": "plain-secret"},
         {"authid": "bob", "role": "admin", "salt": "salt123", "iterations": 100, "keylen": 16,
          "derived_key": "prq7+YkJ1/KlW1X0YczMHw=="}]
        """
}

/// Parses challenge text with Foundation's JSON reader (independent of the broker's writer).
func jsonObject(_ text: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try XCTUnwrap(value as? [String: Any], "not an object: \(text)")
}
