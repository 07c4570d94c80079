// Test support: WAMP over an EmbeddedClient (RawSocket, JSON). A client sends one message and
// gets back every message the broker wrote meanwhile, parsed, so a test can assert the exact
// reply: message code, error URI and the message text naming what was wrong.

@testable import FastBroker
import Foundation
import XCTest

extension EmbeddedClient {
    /// Sends `message` (JSON text) and returns the messages the broker wrote since the last read.
    @discardableResult
    func exchange(_ message: String) -> [[Any]] {
        sendFrame(message)
        return replies()
    }

    /// The messages the broker wrote since the last read, each parsed as a JSON array.
    func replies() -> [[Any]] {
        Self.messages(in: read())
    }

    /// The WAMP messages in RawSocket output of a JSON session, each parsed as a JSON array.
    static func messages(in output: [UInt8]) -> [[Any]] {
        guard let frames = frames(output) else {
            XCTFail("partial RawSocket frame in \(output.count) bytes")
            return []
        }
        return frames.filter { $0.type == 0 }.map { frame in
            guard let array = try? JSONSerialization.jsonObject(with: Data(frame.text.utf8)) as? [Any] else {
                XCTFail("not a JSON array: \(frame.text)")
                return []
            }
            return array
        }
    }

    /// RawSocket handshake and HELLO to realm1 (anonymous); fails the test unless WELCOMEd.
    /// Returns the session id.
    @discardableResult
    func joinAnonymously(file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        let welcome = joinRealm()
        guard let welcome, let reply = try? JSONSerialization.jsonObject(with: Data(welcome.utf8)) as? [Any],
              reply.first as? Int == 2, let id = reply[1] as? UInt64 else {
            XCTFail("expected a WELCOME, got \(welcome ?? "nothing")", file: file, line: line)
            return 0
        }
        return id
    }

    /// SUBSCRIBE with `options`; returns the subscription id from SUBSCRIBED (0 and a failure otherwise).
    func subscribe(_ topic: String, options: String = "{}", request: Int = 1, file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        let reply = exchange(#"[32,\#(request),\#(options),"\#(topic)"]"#)
        guard reply.count == 1, reply[0].count == 3, reply[0][0] as? Int == 33, reply[0][1] as? Int == request,
              let id = reply[0][2] as? UInt64 else {
            XCTFail("expected SUBSCRIBED for request \(request), got \(reply)", file: file, line: line)
            return 0
        }
        return id
    }
}

extension EmbeddedBroker {
    /// `count` new clients, each joined to realm1 anonymously.
    func joinedClients(_ count: Int) throws -> [EmbeddedClient] {
        try (0..<count).map { _ in
            let client = try connect()
            client.joinAnonymously()
            return client
        }
    }

    /// Each message, sent by a new established session, ends it with a protocol-violation
    /// ABORT whose message is the paired text.
    func assertEachAbortsEstablishedSession(_ cases: [(message: String, problem: String)],
                                            file: StaticString = #filePath, line: UInt = #line) throws {
        for (message, problem) in cases {
            let client = try joinedClients(1)[0]
            assertAbort(client.exchange(message), problem, "wamp.error.protocol_violation", file: file, line: line)
            XCTAssertTrue(run(until: { client.isClosed }), message, file: file, line: line)
        }
    }
}

/// Asserts `replies` is exactly one ABORT with `reason` whose details.message is `message`.
func assertAbort(_ replies: [[Any]], _ message: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
    guard replies.count == 1, replies[0].count == 3, replies[0][0] as? Int == 3 else {
        return XCTFail("expected one ABORT, got \(replies)", file: file, line: line)
    }
    XCTAssertEqual((replies[0][1] as? [String: Any])?["message"] as? String, message, file: file, line: line)
    XCTAssertEqual(replies[0][2] as? String, reason, file: file, line: line)
}

/// Asserts `replies` is exactly one ERROR for (`requestType`, `request`) with `uri`, carrying
/// `message` in details.message and as its one argument.
func assertError(_ replies: [[Any]], _ requestType: Int, _ request: Int, _ message: String, _ uri: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard replies.count == 1, replies[0].count == 6, replies[0][0] as? Int == 8 else {
        return XCTFail("expected one ERROR, got \(replies)", file: file, line: line)
    }
    let error = replies[0]
    XCTAssertEqual(error[1] as? Int, requestType, "request type", file: file, line: line)
    XCTAssertEqual(error[2] as? Int, request, "request id", file: file, line: line)
    XCTAssertEqual((error[3] as? [String: Any])?["message"] as? String, message, file: file, line: line)
    XCTAssertEqual(error[4] as? String, uri, file: file, line: line)
    XCTAssertEqual(error[5] as? [String], [message], file: file, line: line)
}
