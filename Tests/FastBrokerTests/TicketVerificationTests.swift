// Ticket checks off the loop thread (Session+Handshake.swift, Loop/LoopWork.swift): the PBKDF2
// runs on libuv's thread pool while the session waits in `.verifying`; a session closed meanwhile
// finds the result inert; at most Session.maxPendingAuthentications checks are in flight per loop,
// beyond which AUTHENTICATE is refused with `limit_exceeded` for every authid alike. The pool is
// held with gate items on the same LoopWork, so what is in flight never depends on timing.

import BrokerConfig
import BrokerLoop
import BrokerSecurity
@testable import FastBroker
import Foundation
import Synchronization
import XCTest

final class TicketVerificationTests: XCTestCase {
    private static let ticket = "tom-ticket-7Hq2"
    private static let failed = "ticket is invalid (wrong ticket or unknown authid)"
    private var directory: URL!

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func ticketBroker() throws -> EmbeddedBroker {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ticket-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let userdb = directory.appendingPathComponent("users.json").path
        try UserDatabase.addUser(path: userdb, authid: "tom", role: "device", ticket: Self.ticket, iterations: 1000)
        let realm = RealmConfig(name: "realm1", anonymousRole: "anonymous",
                                roles: [RoleConfig(name: "device", permissions: []), RoleConfig(name: "anonymous", permissions: [])],
                                ticketUserDB: userdb)
        return try EmbeddedBroker(realm: realm)
    }

    /// Sends HELLO(ticket) and checks the CHALLENGE, then AUTHENTICATE with `ticket`.
    private func authenticate(_ client: EmbeddedClient, authid: String, ticket: String,
                              file: StaticString = #filePath, line: UInt = #line) -> [[Any]] {
        client.rawSocketHandshake()
        let challenge = client.exchange(#"[1,"realm1",{"authmethods":["ticket"],"authid":"\#(authid)"}]"#)
        XCTAssertEqual(challenge.count, 1, file: file, line: line)
        XCTAssertEqual(challenge.first?[0] as? Int, 4, "expected CHALLENGE, got \(challenge)", file: file, line: line)
        return client.exchange(#"[5,"\#(ticket)",{}]"#)
    }

    /// Gate items that hold `count` places of the loop's LoopWork (and, beyond the pool's
    /// threads, queue ahead of anything submitted later) until `open` is called. Tests also open
    /// it on the way out, so a failed test does not leave pool threads blocked for the next.
    private final class PoolGate: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private let count: Int
        private let opened = Mutex(false)

        init(_ work: LoopWork, count: Int) {
            self.count = count
            for _ in 0..<count {
                let semaphore = self.semaphore
                XCTAssertTrue(work.submit({ semaphore.wait() }) { _ in })
            }
        }

        func open() {
            guard !opened.withLock({ was in defer { was = true }; return was }) else { return }
            for _ in 0..<count { semaphore.signal() }
        }
    }

    private func isVerifying(_ session: Session) -> Bool {
        if case .verifying = session.state { true } else { false }
    }

    /// tom's right ticket, checked behind 16 gate items (more than the pool's 4 threads), so the
    /// check cannot finish before the gate opens: the session is `.verifying` until then.
    private func heldCheck(_ broker: EmbeddedBroker, file: StaticString = #filePath, line: UInt = #line) throws
        -> (EmbeddedClient, PoolGate) {
        let gate = PoolGate(broker.context.authVerifications, count: 16)
        let client = try broker.connect()
        XCTAssertEqual(authenticate(client, authid: "tom", ticket: Self.ticket).count, 0, "nothing before the check ends",
                       file: file, line: line)
        XCTAssertTrue(isVerifying(client.session), file: file, line: line)
        return (client, gate)
    }

    func testTicketIsCheckedOnThePoolThenWelcomed() throws {
        let broker = try ticketBroker()
        let work = broker.context.authVerifications
        let (client, gate) = try heldCheck(broker)
        defer { gate.open() }
        XCTAssertEqual(work.inFlight, 17)
        // The loop keeps serving other sessions meanwhile; input to the waiting session is ignored.
        let other = try broker.connect(peer: "10.0.0.2:5000")
        XCTAssertEqual(other.joinRealm().map { $0.hasPrefix("[2,") }, true)
        XCTAssertEqual(client.exchange(#"[32,1,{},"com.example.x"]"#).count, 0)
        XCTAssertTrue(isVerifying(client.session))

        gate.open()
        XCTAssertTrue(broker.run(until: { client.session.isEstablished }))
        broker.run()   // the flush that writes the WELCOME
        let replies = client.replies()
        guard replies.count == 1 else { return XCTFail("expected one WELCOME, got \(replies)") }
        XCTAssertEqual(replies[0][0] as? Int, 2, "expected WELCOME, got \(replies)")
        let details = try XCTUnwrap(replies[0][2] as? [String: Any])
        XCTAssertEqual(details["authid"] as? String, "tom")
        XCTAssertEqual(details["authrole"] as? String, "device")
        XCTAssertEqual(details["authmethod"] as? String, "ticket")
        XCTAssertTrue(broker.run(until: { work.inFlight == 0 }))
    }

    func testWrongTicketAndUnknownAuthidFailAlikeThroughThePool() throws {
        let broker = try ticketBroker()
        for (i, authid, ticket) in [(1, "tom", "wrong"), (2, "nobody", Self.ticket)] {
            let client = try broker.connect(peer: "10.0.0.\(i):5000")
            var replies = authenticate(client, authid: authid, ticket: ticket)
            XCTAssertTrue(broker.run(until: { client.isClosed }), authid)   // the pool, then the throttle's delay
            replies += client.replies()
            assertAbort(replies, Self.failed, "wamp.error.not_authorized")
        }
        XCTAssertEqual(broker.context.authVerifications.inFlight, 0)
    }

    func testSessionClosedWhileVerifyingFindsTheResultInert() throws {
        let broker = try ticketBroker()
        let work = broker.context.authVerifications
        let (client, gate) = try heldCheck(broker)
        defer { gate.open() }
        client.transport.clientCloses()
        XCTAssertTrue(broker.run(until: { client.isClosed }))
        guard case .closed = client.session.state else { return XCTFail("session not closed: \(client.session.state)") }

        gate.open()
        XCTAssertTrue(broker.run(until: { work.inFlight == 0 }))
        broker.run()
        guard case .closed = client.session.state else { return XCTFail("the late verdict reopened the session") }
        XCTAssertEqual(broker.metrics.sessionsOpened.current, 0)
        XCTAssertEqual(broker.log.lines(containing: "opened").count, 0, broker.log.lines.joined(separator: "\n"))
    }

    func testChecksBeyondTheLimitAreRefusedAlikeForEveryAuthid() throws {
        let broker = try ticketBroker()
        let work = broker.context.authVerifications
        XCTAssertEqual(work.capacity, Session.maxPendingAuthentications)
        let gate = PoolGate(work, count: Session.maxPendingAuthentications)
        defer { gate.open() }
        let limit = "\(Session.maxPendingAuthentications) authentications are already being verified on this broker "
            + "thread (the pending-authentication limit); try again later"
        for (i, authid, ticket) in [(1, "tom", Self.ticket), (2, "tom", "wrong"), (3, "nobody", "x")] {
            let client = try broker.connect(peer: "10.0.0.\(i):5000")
            assertAbort(authenticate(client, authid: authid, ticket: ticket), limit, "fastbroker.error.limit_exceeded")
            XCTAssertTrue(broker.run(until: { client.isClosed }), authid)
        }
        XCTAssertEqual(broker.metrics.limitRefusals[.pendingAuthentications].current, 3)
        XCTAssertEqual(work.inFlight, Session.maxPendingAuthentications, "a refusal queues nothing")

        // Once the checks drain, the next attempt is checked again.
        gate.open()
        XCTAssertTrue(broker.run(until: { work.inFlight == 0 }))
        let client = try broker.connect(peer: "10.0.0.9:5000")
        _ = authenticate(client, authid: "tom", ticket: Self.ticket)
        XCTAssertTrue(broker.run(until: { client.session.isEstablished }))
    }
}
