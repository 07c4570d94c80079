// The connection caps' bookkeeping (Core/ConnectionAdmission.swift) and the frame/idle clock of
// the timeout sweep (Core/ConnectionTimeouts.swift), without sockets: the interop and adversarial
// tests drive the same code over the wire.

import BrokerConfig
@testable import FastBroker
import XCTest

final class ConnectionLimitsTests: XCTestCase {
    private func admission(total: Int, perIP: Int) -> ConnectionAdmission {
        var limits = LimitsConfig()
        limits.maxConnections = total
        limits.maxConnectionsPerIP = perIP
        return ConnectionAdmission(limits: limits)
    }

    private func ticket(_ result: Result<AdmissionTicket, ConnectionLimit>) -> AdmissionTicket? {
        if case .success(let ticket) = result { return ticket }
        return nil
    }

    func testPerAddressCapAndTableShrinksToEmpty() {
        let caps = admission(total: 100, perIP: 2)
        let a1 = ticket(caps.admit(address: "10.0.0.1")), a2 = ticket(caps.admit(address: "10.0.0.1"))
        XCTAssertNotNil(a1); XCTAssertNotNil(a2)
        XCTAssertEqual(caps.admit(address: "10.0.0.1").failureLimit, .maxConnectionsPerIP)
        let b = ticket(caps.admit(address: "10.0.0.2"))
        XCTAssertNotNil(b, "another address has its own count")
        XCTAssertEqual(caps.admittedCount, 3)
        a1?.release()
        a1?.release()   // idempotent: one ticket gives back one place
        XCTAssertEqual(caps.admittedCount, 2)
        XCTAssertNotNil(ticket(caps.admit(address: "10.0.0.1"))?.releasing())
        a2?.release(); b?.release()
        XCTAssertEqual(caps.admittedCount, 0)
        XCTAssertEqual(caps.addressCount, 0, "entries at zero are removed")
    }

    func testTotalCapAcrossAddressesAndRefusalsTakeNoPlace() {
        let caps = admission(total: 3, perIP: 10)
        let held = (0..<3).compactMap { ticket(caps.admit(address: "10.0.0.\($0)")) }
        XCTAssertEqual(held.count, 3)
        for i in 0..<50 { XCTAssertEqual(caps.admit(address: "10.1.0.\(i)").failureLimit, .maxConnections) }
        XCTAssertEqual(caps.admittedCount, 3)
        XCTAssertEqual(caps.addressCount, 3, "refused addresses leave no entry")
        held[0].release()
        XCTAssertNotNil(ticket(caps.admit(address: "10.1.0.1")))
    }

    func testTicketFreedWithoutReleaseGivesItsPlaceBack() {
        let caps = admission(total: 1, perIP: 1)
        do { _ = ticket(caps.admit(address: "::1")) }
        XCTAssertEqual(caps.admittedCount, 0)
        XCTAssertEqual(caps.addressCount, 0)
    }

    func testPeerAddressWithoutPort() {
        XCTAssertEqual(ConnectionAdmission.address(ofPeer: "127.0.0.1:54321"), "127.0.0.1")
        XCTAssertEqual(ConnectionAdmission.address(ofPeer: "[::1]:8080"), "::1")
        XCTAssertEqual(ConnectionAdmission.address(ofPeer: "[fe80::1:2]:1"), "fe80::1:2")
    }

    func testRefusalReplies() {
        let caps = admission(total: 7, perIP: 5)
        XCTAssertEqual(RefusedConnection.reply(transport: .rawsocket, limit: .maxConnections, admission: caps), [0x7F, 0x40, 0, 0])
        XCTAssertEqual(RefusedConnection.reply(transport: .rawsocket, limit: .maxConnectionsPerIP, admission: caps), [0x7F, 0x40, 0, 0])
        let http = String(decoding: RefusedConnection.reply(transport: .websocket, limit: .maxConnectionsPerIP, admission: caps), as: UTF8.self)
        XCTAssertTrue(http.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), http)
        XCTAssertTrue(http.contains("max_connections_per_ip (5)"), http)
    }

    // MARK: - InputClock

    func testPartialFrameClockRestartsOnlyWhenAFrameCompletes() {
        var clock = InputClock()
        clock.noteRead(at: 0)
        clock.noteFraming(bufferedBefore: 10, bufferedAfter: 10, at: 100)   // a partial frame starts
        XCTAssertEqual(clock.partialFrameSince, 100)
        clock.noteFraming(bufferedBefore: 20, bufferedAfter: 20, at: 300)   // more of it, still partial
        XCTAssertEqual(clock.partialFrameSince, 100)
        XCTAssertEqual(clock.check(at: 599, frameTimeoutMs: 500, idleTimeoutMs: 0, canPing: true), .fine)
        XCTAssertEqual(clock.check(at: 600, frameTimeoutMs: 500, idleTimeoutMs: 0, canPing: true), .frameTimedOut)
        clock.noteFraming(bufferedBefore: 30, bufferedAfter: 5, at: 650)    // completed, the next began
        XCTAssertEqual(clock.partialFrameSince, 650)
        clock.noteFraming(bufferedBefore: 5, bufferedAfter: 0, at: 700)     // nothing left over
        XCTAssertNil(clock.partialFrameSince)
        XCTAssertEqual(clock.check(at: 10_000, frameTimeoutMs: 500, idleTimeoutMs: 0, canPing: true), .fine)
    }

    func testIdlePingThenCloseAndActivityResets() {
        var clock = InputClock()
        clock.noteRead(at: 1_000)
        XCTAssertEqual(clock.check(at: 1_499, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: true), .fine)
        XCTAssertEqual(clock.check(at: 1_500, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: true), .ping)
        XCTAssertEqual(clock.check(at: 1_700, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: true), .fine, "one PING per silence")
        XCTAssertEqual(clock.check(at: 2_000, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: true), .idleTimedOut)
        clock.noteRead(at: 1_900)   // a PONG (any byte) ends the silence
        XCTAssertEqual(clock.check(at: 2_000, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: true), .fine)
        XCTAssertEqual(clock.check(at: 2_400, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: true), .ping)
        XCTAssertEqual(clock.check(at: 9_000, frameTimeoutMs: 30_000, idleTimeoutMs: 0, canPing: true), .fine, "0 = off")
        var handshaking = InputClock()
        XCTAssertEqual(handshaking.check(at: 9_000, frameTimeoutMs: 30_000, idleTimeoutMs: 500, canPing: false), .fine)
    }

    func testPausedReadingRestartsBothClocks() {
        var clock = InputClock()
        clock.noteRead(at: 0)
        clock.noteFraming(bufferedBefore: 4, bufferedAfter: 4, at: 0)
        clock.restart(at: 1_000)
        XCTAssertEqual(clock.check(at: 1_400, frameTimeoutMs: 500, idleTimeoutMs: 500, canPing: true), .fine)
        XCTAssertEqual(clock.check(at: 1_500, frameTimeoutMs: 500, idleTimeoutMs: 500, canPing: true), .frameTimedOut)
    }

    func testSweepInterval() {
        XCTAssertEqual(ConnectionTimeouts.interval(frameTimeoutMs: 30_000, idleTimeoutMs: 300_000), 1_000)
        XCTAssertEqual(ConnectionTimeouts.interval(frameTimeoutMs: 600, idleTimeoutMs: 0), 150)
        XCTAssertEqual(ConnectionTimeouts.interval(frameTimeoutMs: 30_000, idleTimeoutMs: 400), 100)
        XCTAssertEqual(ConnectionTimeouts.interval(frameTimeoutMs: 1, idleTimeoutMs: 0), 5)
    }
}

private extension Result where Failure == ConnectionLimit {
    var failureLimit: ConnectionLimit? {
        if case .failure(let limit) = self { return limit }
        return nil
    }
}

private extension AdmissionTicket {
    /// Releases at once (for a check that only needs the admission to succeed).
    func releasing() -> AdmissionTicket {
        release()
        return self
    }
}
