// Which authentication a HELLO leads to (SPEC §4): the client's authmethods in its order, each
// method only where the realm offers it and the HELLO carries what it needs; malformed details;
// userdbs shared between methods; the anonymous authid rule's "user of any userdb".

import BrokerSerialization
import XCTest
@testable import BrokerSecurity

final class RealmAuthenticatorTests: XCTestCase {
    private var dir: TemporaryDirectory!
    private var authenticator: RealmAuthenticator!
    private let kate = CryptosignTests.vectors[0].publicKey

    override func setUpWithError() throws {
        dir = try TemporaryDirectory()
        let users = try dir.write("users.json", """
            [{"authid": "alice", "role": "user", "secret": "a"},
             \(TicketTests.record)]
            """)
        let keys = try dir.write("keys.json", #"[{"authid": "kate", "role": "user", "cryptosign": ["\#(kate)"]}]"#)
        authenticator = try RealmAuthenticator(realmName: "r", allowsAnonymous: true, wampcraUserDB: users,
                                               ticketUserDB: users, cryptosignUserDB: keys)
    }

    /// The decision for HELLO.Details `json`, summarised as text.
    private func decide(_ json: String) -> String {
        Array(json.utf8).withUnsafeBytes { buffer in
            let span = try! JSONScanner.scanValue(buffer).get()
            switch authenticator.decide(hello: JSONObjectView(buffer: buffer, span: span), session: 7) {
            case .anonymous(let authid): return "anonymous \(authid ?? "-")"
            case .challenge(let c): return "\(c.method) \(c.authid) \(c.authrole)"
            case .refuse(let message): return "refuse \(message)"
            case .malformed(let message): return "malformed \(message)"
            }
        }
    }

    func testClientsOrderAndWhatEachMethodNeeds() {
        let pubkey = #""authextra": {"pubkey": "\#(kate)"}"#
        XCTAssertEqual(decide("{}"), "anonymous -")
        XCTAssertEqual(decide(#"{"authmethods": [], "authid": "x"}"#), "anonymous x")
        XCTAssertEqual(decide(#"{"authmethods": ["ticket", "wampcra"], "authid": "tom"}"#), "ticket tom device")
        XCTAssertEqual(decide(#"{"authmethods": ["wampcra", "ticket"], "authid": "alice"}"#), "wampcra alice user")
        XCTAssertEqual(decide(#"{"authmethods": ["ticket", "cryptosign"], \#(pubkey)}"#), "cryptosign kate user")
        XCTAssertEqual(decide(#"{"authmethods": ["cryptosign", "ticket"], "authid": "tom"}"#), "ticket tom device")
        XCTAssertEqual(decide(#"{"authmethods": ["cryptosign", "anonymous"]}"#), "anonymous -")
        XCTAssertEqual(decide(#"{"authmethods": ["scram", "cryptosign"], "authid": "kate", \#(pubkey)}"#), "cryptosign kate user")
        // Unknown users still get a challenge (placeholders for who they would be).
        XCTAssertEqual(decide(#"{"authmethods": ["ticket"], "authid": "nobody"}"#), "ticket nobody ")
        XCTAssertEqual(decide(#"{"authmethods": ["cryptosign"], "authid": "alice", \#(pubkey)}"#), "cryptosign alice ")
    }

    func testRefusalsAndMalformedDetails() {
        XCTAssertEqual(decide(#"{"authmethods": ["ticket", "cryptosign"]}"#),
                       "refuse realm r does not accept authentication by ticket, cryptosign with what this HELLO carries; "
                        + "it offers anonymous, wampcra (needs authid), ticket (needs authid), cryptosign (needs authextra.pubkey)")
        XCTAssertEqual(decide(#"{"authmethods": ["cryptosign"], "authextra": {"pubkey": "\#(kate)", "channel_binding": "tls-unique"}}"#),
                       "refuse cryptosign with TLS channel binding (authextra.channel_binding) is not offered yet; "
                        + "connect without channel_binding")
        XCTAssertEqual(decide(#"{"authmethods": ["cryptosign"], "authextra": {"pubkey": "\#(kate)", "channel_binding": null}}"#),
                       "cryptosign kate user")
        XCTAssertEqual(decide(#"{"authmethods": "ticket"}"#), "malformed HELLO.Details.authmethods must be a list of strings")
        XCTAssertEqual(decide(#"{"authid": 5}"#), "malformed HELLO.Details.authid must be a string")
        XCTAssertEqual(decide(#"{"authextra": []}"#), "malformed HELLO.Details.authextra must be a dict")
        XCTAssertEqual(decide(#"{"authextra": {"pubkey": null}}"#), "malformed HELLO.Details.authextra.pubkey must be a string")
    }

    func testUserdbsAreSharedAndAllCountAsUsers() {
        XCTAssertEqual(authenticator.databases.count, 2, "wampcra and ticket name one file: one instance")
        XCTAssertTrue(authenticator.wampcra === authenticator.ticket)
        for authid in ["alice", "tom", "kate"] { XCTAssertTrue(authenticator.knowsUser(authid), authid) }
        XCTAssertFalse(authenticator.knowsUser("nobody"))
    }
}
