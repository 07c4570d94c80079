// Cryptosign (SPEC §4): Ed25519 through OpenSSL against RFC 8032 and the WAMP spec's test vectors,
// the accepted AUTHENTICATE forms, and who a public key authenticates as.

import BrokerSerialization
import XCTest
@testable import BrokerSecurity

final class CryptosignTests: XCTestCase {
    /// The WAMP spec's cryptosign test vectors without channel binding (wamp-proto,
    /// "Cryptosign-based Authentication", Test Vectors); the public keys are the private keys'.
    static let vectors: [(publicKey: String, challenge: String, signature: String)] = [
        ("1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d",
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
         "b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        ("6ed32739ff04a6074044ff0b0e3bfc7c856bc9d5f1d25efc57363bda0af3a8b0",
         "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
         "d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"),
        ("28e11f427b82b9a625ee7ac89a7d29326b505f2dc11dd88c1245f83b6da79a85",
         "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
         "7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"),
    ]

    func testRFC8032Vectors() {
        // RFC 8032 §7.1 tests 1 (empty message) and 2 (one byte).
        let key1 = Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")!
        let sig1 = Hex.decode("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")!
        XCTAssertTrue(Crypto.ed25519Verify(publicKey: key1, message: [], signature: sig1))
        let key2 = Hex.decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")!
        let sig2 = Hex.decode("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")!
        XCTAssertTrue(Crypto.ed25519Verify(publicKey: key2, message: [0x72], signature: sig2))
        XCTAssertFalse(Crypto.ed25519Verify(publicKey: key2, message: [0x73], signature: sig2))
        XCTAssertFalse(Crypto.ed25519Verify(publicKey: key1, message: [0x72], signature: sig2))
        XCTAssertFalse(Crypto.ed25519Verify(publicKey: Array(key2.dropLast()), message: [0x72], signature: sig2))
        XCTAssertFalse(Crypto.ed25519Verify(publicKey: key2, message: [0x72], signature: Array(sig2.dropLast())))
    }

    func testWAMPSpecVectorsInBothAcceptedForms() throws {
        for v in Self.vectors {
            let check = CryptosignCheck(publicKey: Hex.decode(v.publicKey)!, challenge: Hex.decode(v.challenge)!, knownUser: true)
            XCTAssertTrue(CryptosignAuthenticator.verify(signature: v.signature, check: check), "96-byte form")
            XCTAssertTrue(CryptosignAuthenticator.verify(signature: v.signature.uppercased(), check: check), "upper-case hex")
            let bare = String(v.signature.prefix(128))
            XCTAssertTrue(CryptosignAuthenticator.verify(signature: bare, check: check), "bare 64-byte signature")

            // One flipped bit in the signature; another challenge appended; odd lengths; not hex.
            var flipped = Hex.decode(v.signature)!
            flipped[5] ^= 0x01
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: Hex.encode(flipped), check: check))
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: bare + String(repeating: "00", count: 32), check: check))
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: String(v.signature.dropLast(2)), check: check))
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: bare + "00", check: check))
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: "zz" + String(bare.dropFirst(2)), check: check))
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: "", check: check))

            // A valid signature never passes a check for a key nobody owns.
            var unowned = check
            unowned.knownUser = false
            XCTAssertFalse(CryptosignAuthenticator.verify(signature: v.signature, check: unowned))
        }
    }

    func testChallengeFindsTheKeysOwnerOnly() throws {
        let dir = try TemporaryDirectory()
        let (keyA, keyB) = (Self.vectors[0].publicKey, Self.vectors[1].publicKey)
        let path = try dir.write("users.json", """
            [{"authid": "alice", "role": "user", "cryptosign": ["\(keyA)"]},
             {"authid": "bob", "role": "admin", "secret": "b", "cryptosign": ["\(keyB.uppercased())"]}]
            """)
        let database = try UserDatabase(path: path)

        func check(_ pubkey: String, _ authid: String?) throws -> (AuthChallenge, CryptosignCheck) {
            let challenge = CryptosignAuthenticator.challenge(pubkey: pubkey, authid: authid, database: database)
            guard case .cryptosign(let check) = challenge.check else { throw XCTSkip("not a cryptosign check") }
            XCTAssertEqual(challenge.method, "cryptosign")
            XCTAssertEqual(challenge.failureMessage, CryptosignAuthenticator.failureMessage)
            // CHALLENGE.Extra: 32 fresh bytes as 64 lower-case hex digits, and no channel binding.
            XCTAssertEqual(challenge.extra, .object([("challenge", .string(Hex.encode(check.challenge))), ("channel_binding", .null)]))
            XCTAssertEqual(check.challenge.count, 32)
            return (challenge, check)
        }

        let (alice, aliceCheck) = try check(keyA, nil)
        XCTAssertEqual([alice.authid, alice.authrole], ["alice", "user"])
        XCTAssertTrue(aliceCheck.knownUser)
        XCTAssertEqual(aliceCheck.publicKey, Hex.decode(keyA))
        XCTAssertEqual(alice.throttleKey, "cryptosign:" + keyA)

        let (bob, bobCheck) = try check(keyB.uppercased(), "bob")   // hex in either case
        XCTAssertEqual([bob.authid, bob.authrole], ["bob", "admin"])
        XCTAssertTrue(bobCheck.knownUser)
        XCTAssertEqual(bob.throttleKey, "bob")

        // Refused alike, with a real verification against a decoy key: an authid that does not own
        // the key, an unknown key, a malformed key.
        for (pubkey, authid) in [(keyA, "bob"), (Self.vectors[2].publicKey, nil), (String(keyA.dropLast()), nil),
                                 ("not hex at all", "alice")] {
            let (_, refused) = try check(pubkey, authid)
            XCTAssertFalse(refused.knownUser, "\(pubkey) \(authid ?? "-")")
            XCTAssertEqual(refused.publicKey, CryptosignAuthenticator.decoyPublicKey)
        }
        // Challenges are fresh.
        XCTAssertNotEqual(try check(keyA, nil).1.challenge, aliceCheck.challenge)
    }
}
