// Opening a session without a socket (EmbeddedBroker): anonymous WELCOME, the unknown realm,
// WAMP-CRA challenge and verdicts, every protocol violation before and after WELCOME with its
// exact ABORT, and GOODBYE.

import BrokerConfig
import BrokerSecurity
@testable import FastBroker
import Foundation
import XCTest

final class SessionHandshakeTests: XCTestCase {
    func testAnonymousHelloIsWelcomedWithABrokerChosenAuthid() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.rawSocketHandshake()
        let reply = client.exchange(#"[1,"realm1",{"authid":"mallory","roles":{"subscriber":{}}}]"#)
        XCTAssertEqual(reply.count, 1)
        XCTAssertEqual(reply[0][0] as? Int, 2)
        XCTAssertEqual(reply[0][1] as? UInt64, client.session.id)
        let details = try XCTUnwrap(reply[0][2] as? [String: Any])
        XCTAssertEqual(details["authrole"] as? String, "anonymous")
        XCTAssertEqual(details["authmethod"] as? String, "anonymous")
        XCTAssertEqual(details["authprovider"] as? String, "static")
        let authid = try XCTUnwrap(details["authid"] as? String)
        XCTAssertNotEqual(authid, "mallory", "the realm does not let anonymous sessions keep their authid")
        XCTAssertNotNil(authid.wholeMatch(of: /[A-Z2-9]{4}(-[A-Z2-9]{4}){5}/), authid)
        let features = ((details["roles"] as? [String: Any])?["broker"] as? [String: Any])?["features"] as? [String: Bool]
        XCTAssertEqual(features?["pattern_based_subscription"], true)
        XCTAssertTrue(client.session.isEstablished)
        XCTAssertEqual(broker.metrics.sessionsOpened.current, 1)
    }

    func testUnknownRealmIsAbortedAndClosed() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.rawSocketHandshake()
        assertAbort(client.exchange(#"[1,"realm2",{}]"#), "The realm does not exist.", "wamp.error.no_such_realm")
        XCTAssertTrue(broker.run(until: { client.isClosed }))
    }

    func testRealmWithoutTheOfferedMethodIsNotAuthorized() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.rawSocketHandshake()
        assertAbort(client.exchange(#"[1,"realm1",{"authmethods":["ticket","wampcra"]}]"#),
                    "realm realm1 does not accept authentication by ticket, wampcra with what this HELLO carries; it offers anonymous",
                    "wamp.error.not_authorized")
        XCTAssertTrue(broker.run(until: { client.isClosed }))
    }

    /// Each malformed or misplaced message ends the session with an ABORT naming the problem.
    func testProtocolViolationsAreAbortedWithAMessageNamingThem() throws {
        let beforeWelcome: [(String, String)] = [
            (#"["hello"]"#, "a WAMP message must be an array starting with an integer message type"),
            (#"[32,1,{},"com.t"]"#, "SUBSCRIBE before WELCOME: the first message must be HELLO"),
            (#"[1,"realm1"]"#, "HELLO must be [1, Realm|uri, Details|dict]"),
            (#"[1,5,{}]"#, "HELLO must be [1, Realm|uri, Details|dict]"),
            (#"[1,"realm1",{"authmethods":"anonymous"}]"#, "HELLO.Details.authmethods must be a list of strings"),
            (#"[1,"realm1",{"authmethods":["anonymous",1]}]"#, "HELLO.Details.authmethods must be a list of strings"),
            (#"[1,"realm1",{"authid":7}]"#, "HELLO.Details.authid must be a string"),
        ]
        let broker = try EmbeddedBroker()
        for (message, problem) in beforeWelcome {
            let client = try broker.connect()
            client.rawSocketHandshake()
            assertAbort(client.exchange(message), problem, "wamp.error.protocol_violation")
            XCTAssertTrue(broker.run(until: { client.isClosed }), message)
        }
        let afterWelcome: [(String, String)] = [
            (#"[1,"realm1",{}]"#, "HELLO on an established session"),
            (#"[36,1,2,{}]"#, "EVENT is not a message a client sends to a broker"),
            (#"[48,1,{},"com.proc"]"#, "CALL is not a message a client sends to a broker"),
            (#"[6,{}]"#, "GOODBYE must be [6, Details|dict, Reason|uri]"),
            (#"[{}]"#, "a WAMP message must be an array starting with an integer message type"),
        ]
        try broker.assertEachAbortsEstablishedSession(afterWelcome)
        XCTAssertEqual(broker.metrics.protocolViolations.current, beforeWelcome.count + afterWelcome.count)
    }

    func testGoodbyeIsAnsweredAndCloses() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.joinAnonymously()
        let reply = client.exchange(#"[6,{},"wamp.close.close_realm"]"#)
        XCTAssertEqual(reply.count, 1)
        XCTAssertEqual(reply.first?[0] as? Int, 6)
        XCTAssertEqual(reply.first?[2] as? String, "wamp.close.goodbye_and_out")
        XCTAssertTrue(broker.run(until: { client.isClosed }))
        XCTAssertEqual(broker.metrics.sessionsClosed.current, 1)
    }

    // MARK: - WAMP-CRA

    private func craBroker() throws -> (EmbeddedBroker, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("session-cra-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let userdb = directory.appendingPathComponent("users.json")
        try Data(#"[{"authid":"alice","role":"user","secret":"alice-secret"}]"#.utf8).write(to: userdb)
        let realm = RealmConfig(name: "realm1", wampcraUserDB: userdb.path, anonymousRole: "anonymous",
                                roles: [RoleConfig(name: "user", permissions: []), RoleConfig(name: "anonymous", permissions: [])])
        return (try EmbeddedBroker(realm: realm), directory)
    }

    /// HELLO for wampcra; returns the CHALLENGE's challenge string.
    private func challenge(_ client: EmbeddedClient, authid: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        client.rawSocketHandshake()
        let reply = client.exchange(#"[1,"realm1",{"authmethods":["wampcra"],"authid":"\#(authid)"}]"#)
        guard reply.count == 1, reply[0].count == 3, reply[0][0] as? Int == 4, reply[0][1] as? String == "wampcra",
              let challenge = (reply[0][2] as? [String: Any])?["challenge"] as? String else {
            XCTFail("expected a wampcra CHALLENGE, got \(reply)", file: file, line: line)
            return nil
        }
        return challenge
    }

    func testWampCRAChallengeThenAuthenticateIsWelcomed() throws {
        let (broker, directory) = try craBroker()
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = try broker.connect()
        let text = try XCTUnwrap(challenge(client, authid: "alice"))
        let challenge = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(challenge["authid"] as? String, "alice")
        XCTAssertEqual(challenge["authmethod"] as? String, "wampcra")
        XCTAssertEqual(challenge["session"] as? UInt64, client.session.id, "the challenge names the session WELCOME will carry")
        let signature = WampCRA.signature(key: Array("alice-secret".utf8), challenge: text)
        let reply = client.exchange(#"[5,"\#(signature)",{}]"#)
        XCTAssertTrue(broker.run(until: { client.session.isEstablished }))
        let welcome = reply.isEmpty ? client.replies() : reply
        XCTAssertEqual(welcome.count, 1)
        XCTAssertEqual(welcome.first?[0] as? Int, 2)
        let details = try XCTUnwrap(welcome.first?[2] as? [String: Any])
        XCTAssertEqual(details["authid"] as? String, "alice")
        XCTAssertEqual(details["authrole"] as? String, "user")
        XCTAssertEqual(details["authmethod"] as? String, "wampcra")
        XCTAssertEqual(details["authprovider"] as? String, "userdb")
    }

    func testWrongSignatureAndUnknownAuthidGetTheSameAbort() throws {
        let (broker, directory) = try craBroker()
        defer { try? FileManager.default.removeItem(at: directory) }
        for authid in ["alice", "nobody"] {
            let client = try broker.connect(peer: "10.0.0.\(authid.count):5000")
            let text = try XCTUnwrap(challenge(client, authid: authid))
            let signature = WampCRA.signature(key: Array("wrong".utf8), challenge: text)
            var replies = client.exchange(#"[5,"\#(signature)",{}]"#)
            XCTAssertTrue(broker.run(until: { client.isClosed }), authid)   // the throttle may hold the verdict back
            replies += client.replies()
            assertAbort(replies, "WAMP-CRA signature is invalid (wrong secret or unknown authid)", "wamp.error.not_authorized")
        }
    }

    func testWampCRAProtocolErrors() throws {
        let (broker, directory) = try craBroker()
        defer { try? FileManager.default.removeItem(at: directory) }
        let noAuthid = try broker.connect()
        noAuthid.rawSocketHandshake()
        assertAbort(noAuthid.exchange(#"[1,"realm1",{"authmethods":["wampcra"]}]"#),
                    "realm realm1 does not accept authentication by wampcra with what this HELLO carries; it offers anonymous, wampcra (needs authid)",
                    "wamp.error.not_authorized")
        let wrongMessage = try broker.connect()
        _ = try XCTUnwrap(challenge(wrongMessage, authid: "alice"))
        assertAbort(wrongMessage.exchange(#"[16,1,{},"com.t"]"#), "PUBLISH while authenticating: expected AUTHENTICATE",
                    "wamp.error.protocol_violation")
        let malformed = try broker.connect()
        _ = try XCTUnwrap(challenge(malformed, authid: "alice"))
        assertAbort(malformed.exchange(#"[5,"sig"]"#), "AUTHENTICATE must be [5, Signature|string, Extra|dict]",
                    "wamp.error.protocol_violation")
    }
}
