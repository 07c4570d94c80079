// Consumer groups without a socket (EmbeddedBroker, one loop: the group's home and its members
// talk through the loop's own inbox, as across loops): joins and their refusals, round-robin for
// shared groups, and re-dispatch — a member that leaves or dies hands its unwritten events to
// the next member, and an event a member cannot queue goes to the next one, each exactly once.

import BrokerConfig
import BrokerLoop
@testable import FastBroker
import XCTest

final class ConsumerGroupTests: XCTestCase {
    /// The args[0] strings of the EVENTs among `replies`.
    private func eventArgs(_ replies: [[Any]]) -> [String] {
        replies.filter { $0.first as? Int == 36 }.compactMap { ($0.count > 4 ? $0[4] as? [String] : nil)?.first }
    }

    /// Lets `client` read everything again and returns all it was sent meanwhile (reading makes
    /// room, which lets a write the broker had queued move on).
    private func resumeReading(_ client: EmbeddedClient) -> [[Any]] {
        client.transport.socketBufferBytes = .max
        var output: [UInt8] = []
        var idleRounds = 0
        while idleRounds < 2 {   // a read may only move the queued write into the socket buffer
            client.broker.run()
            let read = client.transport.readOutput()
            idleRounds = read.isEmpty ? idleRounds + 1 : 0
            output += read
        }
        return EmbeddedClient.messages(in: output)
    }

    private func publish(_ publisher: EmbeddedClient, _ values: [String], topic: String = "com.g") {
        for value in values { publisher.sendFrame(#"[16,1,{},"\#(topic)",["\#(value)"]]"#) }
        publisher.broker.run()
    }

    /// Two members `a` and `b` (joined in that order) of shared group "w" on com.g, and a publisher.
    private func sharedGroupOfTwo() throws -> (a: EmbeddedClient, b: EmbeddedClient, publisher: EmbeddedClient) {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        XCTAssertNotEqual(clients[0].subscribe("com.g", options: #"{"type":"shared","group":"w"}"#), 0)
        XCTAssertNotEqual(clients[1].subscribe("com.g", options: #"{"type":"shared","group":"w"}"#), 0)
        return (clients[0], clients[1], clients[2])
    }

    func testSharedGroupRoundRobinsOverItsMembers() throws {
        let (a, b, publisher) = try sharedGroupOfTwo()
        publish(publisher, ["1", "2", "3", "4"])
        XCTAssertEqual(eventArgs(a.replies()), ["1", "3"])
        XCTAssertEqual(eventArgs(b.replies()), ["2", "4"])
    }

    /// A group event keeps the publication's disclosure and eligibility lists (PublicationCopy
    /// boxes them only when present): the excluded member is passed over, the next gets the
    /// EVENT naming the publisher, and the next plain publication carries no publisher.
    func testGroupEventKeepsDisclosureAndEligibility() throws {
        let (a, b, publisher) = try sharedGroupOfTwo()
        publisher.sendFrame(#"[16,1,{"disclose_me":true,"exclude":[\#(a.session.id)]},"com.g",["x"]]"#)
        publisher.broker.run()
        XCTAssertEqual(eventArgs(a.replies()), [], "a is excluded, though its turn came first")
        let events = b.replies().filter { $0.first as? Int == 36 }
        XCTAssertEqual(events.count, 1)
        let details = events.first.flatMap { $0.count > 3 ? $0[3] as? [String: Any] : nil }
        XCTAssertEqual(details?["publisher"] as? UInt64, publisher.session.id, "disclosure as published: \(events)")
        XCTAssertEqual(events.first.flatMap { $0.count > 4 ? ($0[4] as? [String])?.first : nil }, "x")
        publish(publisher, ["y"])
        let next = a.replies().filter { $0.first as? Int == 36 }
        XCTAssertEqual(eventArgs(next), ["y"], "round-robin goes on with a")
        XCTAssertNil(next.first.flatMap { $0.count > 3 ? $0[3] as? [String: Any] : nil }?["publisher"], "no disclosure asked: none")
    }

    func testJoinRefusalsNameTheGroup() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        _ = clients[0].subscribe("com.g", options: #"{"type":"exclusive","group":"x"}"#)
        var reply = clients[1].exchange(#"[32,5,{"type":"exclusive","group":"x"},"com.g"]"#)
        assertError(reply, 32, 5, #"exclusive group "x" on com.g is held by another session"#,
                    "fastbroker.error.exclusive_subscription_taken")
        reply = clients[2].exchange(#"[32,6,{"type":"shared","group":"x"},"com.g"]"#)
        assertError(reply, 32, 6, #"group "x" on com.g is exclusive, not shared"#, "fastbroker.error.subscription_type_mismatch")
        XCTAssertEqual(clients[0].subscribe("com.g", options: #"{"type":"exclusive","group":"x"}"#, request: 7),
                       clients[0].session.memberships.keys.first, "the holder subscribing again keeps its subscription")
    }

    /// Failover: the active member unsubscribes with events still in its outbound queue; they
    /// go to the next member, in order, and nothing reaches both.
    func testEventsUnwrittenWhenAMemberLeavesGoToTheNextMember() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        let (active, standby, publisher) = (clients[0], clients[1], clients[2])
        let activeID = active.subscribe("com.g", options: #"{"type":"failover","group":"f"}"#)
        _ = standby.subscribe("com.g", options: #"{"type":"failover","group":"f"}"#)
        active.transport.socketBufferBytes = 0   // the active member's client stops reading
        publish(publisher, ["e1", "e2", "e3"])
        XCTAssertEqual(eventArgs(standby.replies()), [], "the standby gets nothing while the active member is there")
        active.exchange("[34,9,\(activeID)]")
        broker.run()
        let redispatched = eventArgs(standby.replies())
        let written = eventArgs(resumeReading(active))
        XCTAssertFalse(redispatched.isEmpty, "events the active member had not written went to the standby")
        XCTAssertEqual(written + redispatched, ["e1", "e2", "e3"], "each event once, in order")
        XCTAssertEqual(broker.metrics.groupEventsRedispatched.current, redispatched.count)
        publish(publisher, ["e4"])
        XCTAssertEqual(eventArgs(standby.replies()), ["e4"], "the standby is now active")
    }

    /// The active member's connection dies: what it had not handed to the kernel goes to the
    /// next member.
    func testEventsOfADeadMemberGoToTheNextMember() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        let (active, standby, publisher) = (clients[0], clients[1], clients[2])
        _ = active.subscribe("com.g", options: #"{"type":"failover","group":"f"}"#)
        _ = standby.subscribe("com.g", options: #"{"type":"failover","group":"f"}"#)
        active.transport.socketBufferBytes = 0
        publish(publisher, ["e1", "e2"])
        active.transport.clientCloses(error: UVError(-104, "read"))   // ECONNRESET
        XCTAssertTrue(broker.run(until: { active.isClosed }))
        broker.run()
        XCTAssertEqual(eventArgs(standby.replies()), ["e1", "e2"], "nothing reached the dead member's kernel buffer")
        publish(publisher, ["e3"])
        XCTAssertEqual(eventArgs(standby.replies()), ["e3"])
    }

    /// The only member of a shared group dies with events it never handed to the kernel: they
    /// come home to a group with no member left, and are counted as dropped (choosing among
    /// zero members must not divide by zero); the broker goes on serving.
    func testEventsOfTheLastDeadMemberOfASharedGroupAreDropped() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        let (only, later, publisher) = (clients[0], clients[1], clients[2])
        _ = only.subscribe("com.g", options: #"{"type":"shared","group":"s"}"#)
        only.transport.socketBufferBytes = 0
        publish(publisher, ["e1", "e2"])
        let droppedBefore = broker.metrics.groupEventsDropped.current
        only.transport.clientCloses(error: UVError(-104, "read"))   // ECONNRESET
        XCTAssertTrue(broker.run(until: { only.isClosed }))
        broker.run()
        XCTAssertEqual(broker.metrics.groupEventsDropped.current - droppedBefore, 2, "both unwritten events dropped, once each")
        _ = later.subscribe("com.g", options: #"{"type":"shared","group":"s"}"#)
        publish(publisher, ["e3"])
        XCTAssertEqual(eventArgs(later.replies()), ["e3"])
    }

    /// An event the chosen member cannot queue (its queue is full under `slow_consumer: drop`)
    /// goes to the next member instead of being lost.
    func testEventAMemberCannotQueueGoesToTheNextMember() throws {
        var limits = LimitsConfig()
        limits.maxSessionOutboundBytes = 4096
        limits.slowConsumer = .drop
        let broker = try EmbeddedBroker(limits: limits)
        let clients = try broker.joinedClients(3)
        let (full, other, publisher) = (clients[0], clients[1], clients[2])
        _ = full.subscribe("com.g", options: #"{"type":"failover","group":"f"}"#)
        _ = other.subscribe("com.g", options: #"{"type":"failover","group":"f"}"#)
        full.transport.socketBufferBytes = 0
        let values = (0..<20).map { "\($0)-" + String(repeating: "x", count: 500) }
        publish(publisher, values)
        let toOther = eventArgs(other.replies())
        let toFull = eventArgs(resumeReading(full))
        XCTAssertFalse(toOther.isEmpty, "the full member's refusals went to the other member")
        XCTAssertEqual(Set(toFull + toOther), Set(values), "every event delivered")
        XCTAssertEqual(toFull.count + toOther.count, values.count, "none twice")
        XCTAssertEqual(broker.metrics.groupEventsDropped.current, 0)
    }
}
