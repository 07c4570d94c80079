// A connection's life without a socket (Connection.swift, Connection+Input.swift): handshake and
// frame timeouts, and the one way it ends — the session told once, whatever the cause, with
// what was queued still written after the peer's FIN.

import BrokerConfig
import BrokerLoop
@testable import FastBroker
import XCTest

final class ConnectionLifecycleTests: XCTestCase {
    // MARK: - Timeouts

    func testHandshakeTimeoutBeforeTheHelloJustCloses() throws {
        var limits = LimitsConfig()
        limits.handshakeTimeoutMs = 30
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        XCTAssertTrue(broker.run(until: { client.isClosed }), "closed by the handshake timer")
        XCTAssertEqual(client.read(), [])
        XCTAssertEqual(broker.metrics.handshakeTimeouts.current, 1)
    }

    func testHandshakeTimeoutAfterTheTransportHandshakeAborts() throws {
        var limits = LimitsConfig()
        limits.handshakeTimeoutMs = 30
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        client.rawSocketHandshake()
        XCTAssertTrue(broker.run(until: { client.isClosed }))
        XCTAssertEqual(client.readMessages(),
                       [#"[3,{"message":"handshake not completed within 30 ms"},"fastbroker.error.handshake_timeout"]"#])
    }

    func testEstablishedSessionHasNoHandshakeTimeout() throws {
        var limits = LimitsConfig()
        // Long enough for the join to finish first on a loaded machine (30 ms was not: the
        // timer fired during joinRealm's loop turns now and then).
        limits.handshakeTimeoutMs = 500
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        // A second client that never joins is the sentinel: once it timed out, so would the first.
        let sentinel = try broker.connect()
        XCTAssertTrue(broker.run(until: { sentinel.isClosed }))
        XCTAssertFalse(client.isClosed)
        XCTAssertEqual(client.read(), [])
    }

    func testPartialFrameOlderThanFrameTimeoutAbortsNamingTheLimit() throws {
        var limits = LimitsConfig()
        limits.frameTimeoutMs = 40
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        client.send([0, 0, 0, 100] + Array("[16,1,".utf8))   // 100 bytes announced, 6 sent
        XCTAssertTrue(broker.run(until: { client.isClosed }))
        XCTAssertEqual(client.readMessages(),
                       [#"[3,{"message":"frame not completed within 40 ms (frame_timeout_ms)"},"fastbroker.error.limit_exceeded"]"#])
        XCTAssertEqual(broker.metrics.limitRefusals[.frameTimeout].current, 1)
    }

    func testPartialHelloOlderThanFrameTimeoutCloses() throws {
        var limits = LimitsConfig()
        limits.frameTimeoutMs = 40
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        client.send([0x7F, 0xF1])
        XCTAssertTrue(broker.run(until: { client.isClosed }))
        XCTAssertEqual(client.read(), [])
        guard case .ended(let reason) = client.connection.link else { return XCTFail("the session was not told") }
        XCTAssertEqual(reason, "frame not completed within 40 ms (frame_timeout_ms)")
    }

    func testSilentSessionIsPingedThenAbortedNamingIdleTimeout() throws {
        var limits = LimitsConfig()
        limits.idleTimeoutMs = 40
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        var received: [UInt8] = []
        XCTAssertTrue(broker.run(until: {
            received += client.transport.readOutput()
            return client.isClosed
        }))
        received += client.transport.readOutput()
        let frames = try XCTUnwrap(EmbeddedClient.frames(received))
        XCTAssertEqual(frames.map(\.type), [1, 0], "a PING, then the ABORT")
        XCTAssertEqual(frames.first?.text, "")
        XCTAssertEqual(frames.last?.text,
                       #"[3,{"message":"no data received for 40 ms after a PING sent when idle for 40 ms (idle_timeout_ms)"},"fastbroker.error.limit_exceeded"]"#)
        XCTAssertEqual(broker.metrics.idlePings.current, 1)
        XCTAssertEqual(broker.metrics.limitRefusals[.idleTimeout].current, 1)
    }

    // MARK: - Ending

    /// The session hears of the end once, with the first cause; a later cause (the close, the
    /// close callback) does not reach it again.
    private func assertEndedOnce(_ client: EmbeddedClient, reason: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .ended(let told) = client.connection.link else {
            return XCTFail("the session was not told", file: file, line: line)
        }
        XCTAssertEqual(told, reason, file: file, line: line)
        XCTAssertEqual(client.connection.closeState, .closed, file: file, line: line)
        XCTAssertEqual(client.broker.log.lines(containing: "session \(client.session.id) closed").count, 1,
                       "\(client.broker.log.lines)", file: file, line: line)
        XCTAssertEqual(client.broker.metrics.sessionsClosed.current, 1, file: file, line: line)
        XCTAssertEqual(client.broker.metrics.connectionsClosed.current, 1, file: file, line: line)
        XCTAssertNil(client.broker.context.connections[ObjectIdentifier(client.connection)], file: file, line: line)
    }

    /// Once its transport has closed, nothing keeps a session or its connection alive (they hold
    /// each other until then, and the connection keeps an ended session until its close callback).
    private func assertFreed(after end: (EmbeddedClient) -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let broker = try EmbeddedBroker()
        weak var session: Session?
        weak var connection: Connection?
        do {
            let client = try broker.connect()
            XCTAssertNotNil(client.joinRealm(), file: file, line: line)
            client.sendFrame(#"[32,1,{},"com.example.topic"]"#)
            XCTAssertEqual(client.readMessages().count, 1, file: file, line: line)
            session = client.session
            connection = client.connection
            end(client)
            broker.run()
            XCTAssertTrue(client.isClosed, file: file, line: line)
        }
        broker.run()
        XCTAssertNil(session, "a closed session is still held", file: file, line: line)
        XCTAssertNil(connection, "a closed connection is still held", file: file, line: line)
    }

    func testAClosedSessionAndItsConnectionAreFreed() throws {
        try assertFreed(after: { $0.transport.clientCloses() })
        try assertFreed(after: { $0.sendFrame(#"[6,{},"wamp.close.close_realm"]"#) })   // GOODBYE: ended while receiving
        try assertFreed(after: { $0.sendFrame(#"[1,"realm1",{}]"#) })                    // HELLO again: a protocol violation
    }

    func testPeerFinEndsTheSessionOnceAndCloses() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        client.transport.clientCloses()
        broker.run()
        XCTAssertTrue(client.isClosed)
        assertEndedOnce(client, reason: "connection closed by peer")
        XCTAssertTrue(broker.log.lines(containing: "reason=connection closed by peer").count == 1, "\(broker.log.lines)")
    }

    func testReadErrorEndsTheSessionOnce() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        client.transport.clientCloses(error: UVError(-104, "read"))   // ECONNRESET
        broker.run()
        XCTAssertTrue(client.isClosed)
        assertEndedOnce(client, reason: "read error: \(UVError(-104, "read"))")
    }

    func testWriteErrorEndsTheSessionOnce() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        client.transport.failNextWrite = UVError(-32, "write")   // EPIPE
        client.sendFrame(#"[32,1,{},"com.example.topic"]"#)      // its SUBSCRIBED cannot be written
        XCTAssertTrue(client.isClosed)
        XCTAssertEqual(client.read(), [])
        assertEndedOnce(client, reason: "write error: \(UVError(-32, "write"))")
    }

    func testGoodbyeClosesOnceAfterTheReply() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        XCTAssertNotNil(client.joinRealm())
        client.sendFrame(#"[6,{},"wamp.close.close_realm"]"#)
        XCTAssertEqual(client.readMessages(), [#"[6,{},"wamp.close.goodbye_and_out"]"#])
        broker.run()
        XCTAssertTrue(client.isClosed)
        // The session finished itself; the connection's close still tells it (a no-op for it) once.
        assertEndedOnce(client, reason: "connection closed")
    }

    /// Half-close: requests sent with the FIN are answered, and everything queued is written
    /// before the close, however slowly the client reads.
    func testRepliesQueuedAtFinAreWrittenBeforeClosing() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(socketBufferBytes: 16)
        client.transport.clientSends([0x7F, 0xF1, 0, 0] + EmbeddedClient.frame(Array(#"[1,"realm1",{"roles":{"subscriber":{}}}]"#.utf8)))
        client.transport.clientCloses()
        broker.run()
        XCTAssertFalse(client.isClosed, "the WELCOME is still being written")
        var received: [UInt8] = []
        for _ in 0..<1000 where !client.isClosed {   // 7 bytes per turn: the write completes in pieces
            received += client.transport.readOutput(maxBytes: 7)
            broker.run(turns: 1)
        }
        XCTAssertTrue(client.isClosed)
        received += client.transport.readOutput()
        XCTAssertEqual(Array(received.prefix(4)), [0x7F, 0xB1, 0, 0], "our limit: 1 MiB = 2^(9+11)")
        let frames = try XCTUnwrap(EmbeddedClient.frames(Array(received.dropFirst(4))), "whole frames only")
        XCTAssertEqual(frames.count, 1)
        XCTAssertTrue(frames[0].text.hasPrefix("[2,"), frames[0].text)
        assertEndedOnce(client, reason: "connection closed by peer")
    }

    func testShutdownSaysGoodbyeToEstablishedAndClosesOthers() throws {
        let broker = try EmbeddedBroker()
        let joined = try broker.connect()
        XCTAssertNotNil(joined.joinRealm())
        let fresh = try broker.connect()
        joined.connection.shutdown()
        fresh.connection.shutdown()
        broker.run()
        XCTAssertEqual(joined.readMessages(), [#"[6,{"message":"Broker shutting down"},"wamp.close.system_shutdown"]"#])
        XCTAssertFalse(joined.isClosed, "it waits for the client's GOODBYE")
        XCTAssertTrue(fresh.isClosed)
        joined.sendFrame(#"[6,{},"wamp.close.goodbye_and_out"]"#)
        broker.run()
        XCTAssertTrue(joined.isClosed)
    }
}
