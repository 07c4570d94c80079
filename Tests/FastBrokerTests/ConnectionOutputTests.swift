// A connection's output without a socket (Connection+Output.swift, OutboundBudget.swift): the
// slow-consumer policy at the soft bound (disconnect vs drop), reading paused at the soft bound
// and resumed at the low-water mark, and replies never dropped. The client's kernel buffer is a
// simulated 4 KiB, so the queue fills exactly as the budget says.

import BrokerConfig
@testable import FastBroker
import XCTest

final class ConnectionOutputTests: XCTestCase {
    static let payload = String(repeating: "x", count: 1000)

    /// Outbound limit 64 KiB: soft bound 32 KiB, low water 16 KiB (max_message_bytes is larger
    /// than half, so half the budget is kept for replies).
    private func broker(_ policy: SlowConsumerPolicy) throws -> EmbeddedBroker {
        var limits = LimitsConfig()
        limits.maxSessionOutboundBytes = 65_536
        limits.slowConsumer = policy
        let broker = try EmbeddedBroker(limits: limits)
        XCTAssertEqual(broker.context.server.configuration.limits.maxSessionOutboundBytes, 65_536)
        let budget = OutboundBudget(limits: limits)
        XCTAssertEqual([budget.softBound, budget.lowWater], [32_768, 16_384])
        return broker
    }

    /// A subscriber to `com.t` that does not read, and a publisher.
    private func subscriberAndPublisher(_ broker: EmbeddedBroker) throws -> (EmbeddedClient, EmbeddedClient) {
        let subscriber = try broker.connect(socketBufferBytes: 4096)
        XCTAssertNotNil(subscriber.joinRealm())
        subscriber.sendFrame(#"[32,1,{},"com.t"]"#)
        XCTAssertEqual(subscriber.readMessages().first?.hasPrefix("[33,1,"), true)
        let publisher = try broker.connect()
        XCTAssertNotNil(publisher.joinRealm())
        return (subscriber, publisher)
    }

    /// `count` PUBLISHes in one read: every EVENT is queued before any flush.
    private func publish(_ publisher: EmbeddedClient, count: Int, from first: Int = 0) {
        let frames = (first..<(first + count)).flatMap { i in
            EmbeddedClient.frame(Array(#"[16,\#(i + 1),{},"com.t",[\#(i),"\#(Self.payload)"]]"#.utf8))
        }
        publisher.send(frames)
    }

    private func events(_ bytes: [UInt8]) throws -> [(frameBytes: Int, index: Int)] {
        try XCTUnwrap(EmbeddedClient.frames(bytes)).filter { $0.text.hasPrefix("[36,") }.map { frame in
            let index = frame.text.split(separator: "[").last.flatMap { Int($0.prefix { $0 != "," }) } ?? -1
            return (4 + frame.text.utf8.count, index)
        }
    }

    func testDisconnectPolicyAbortsAfterTheQueuedEventsNamingTheBound() throws {
        let broker = try broker(.disconnect)
        let (subscriber, publisher) = try subscriberAndPublisher(broker)
        publish(publisher, count: 60)
        XCTAssertEqual(broker.metrics.dropsSlowConsumer.current, 1, "the first event over the bound; later ones meet a closing session")
        XCTAssertEqual(broker.metrics.slowConsumerDisconnects.current, 1)
        let received = subscriber.readAll()
        broker.run()
        XCTAssertTrue(subscriber.isClosed)
        let frames = try XCTUnwrap(EmbeddedClient.frames(received))
        let events = try events(received)
        XCTAssertEqual(events.map(\.index), Array(0..<events.count), "the queued events, in order, before the ABORT")
        XCTAssertLessThanOrEqual(events.map(\.frameBytes).reduce(0, +), 32_768)
        XCTAssertEqual(frames.count, events.count + 1)
        XCTAssertEqual(frames.last?.text,
                       #"[3,{"message":"outbound queue over 32768 bytes of events (max_session_outbound_bytes 65536): the client reads too slowly"},"fastbroker.error.slow_consumer"]"#)
        XCTAssertFalse(publisher.isClosed, "the publisher is not punished")
    }

    func testDropPolicyDropsWhatDoesNotFitAndKeepsTheSubscriber() throws {
        let broker = try broker(.drop)
        let (subscriber, publisher) = try subscriberAndPublisher(broker)
        publish(publisher, count: 60)
        let events = try events(subscriber.readAll())
        let dropped = broker.metrics.dropsSlowConsumer.current
        XCTAssertEqual(events.count + dropped, 60)
        XCTAssertEqual(events.map(\.index), Array(0..<events.count), "the first ones fit; the rest are dropped")
        let queued = events.map(\.frameBytes).reduce(0, +)
        XCTAssertLessThanOrEqual(queued, 32_768)
        XCTAssertGreaterThan(queued + events.map(\.frameBytes).max()!, 32_768, "one more would not have fit")
        XCTAssertEqual(broker.metrics.slowConsumerDisconnects.current, 0)
        XCTAssertFalse(subscriber.isClosed)
        // Drained, the subscriber receives again.
        publish(publisher, count: 1, from: 100)
        XCTAssertEqual(try self.events(subscriber.readAll()).map(\.index), [100])
        XCTAssertEqual(broker.metrics.dropsSlowConsumer.current, dropped)
    }

    /// Events stop short of the soft bound; the client's own requests push the queue past it
    /// with their replies (which are never dropped), and then input stops: the requests still
    /// buffered wait until the client drained its queue to the low-water mark.
    func testInputPausesAtTheSoftBoundAndResumesAtLowWater() throws {
        let broker = try broker(.drop)
        let (subscriber, publisher) = try subscriberAndPublisher(broker)
        publish(publisher, count: 60)
        XCTAssertFalse(subscriber.connection.readPauses.contains(.outbound), "events alone stay under the soft bound")
        let requests = (0..<400).flatMap { i in EmbeddedClient.frame(Array(#"[32,\#(i + 10),{},"com.u\#(i)"]"#.utf8)) }
        subscriber.transport.clientSends(requests)
        XCTAssertTrue(subscriber.connection.readPauses.contains(.outbound))
        broker.run()
        // Read a little: still above the low-water mark, still paused.
        var received = subscriber.transport.readOutput(maxBytes: 8192)
        broker.run()
        XCTAssertTrue(subscriber.connection.readPauses.contains(.outbound))
        received += subscriber.readAll()
        XCTAssertFalse(subscriber.connection.readPauses.contains(.outbound))
        let replies = try XCTUnwrap(EmbeddedClient.frames(received)).filter { $0.text.hasPrefix("[33,") }
        XCTAssertEqual(replies.count, 400, "every request answered once reading resumed")
        XCTAssertEqual(replies.map { String($0.text.split(separator: ",")[1]) }, (10..<410).map { String($0) }, "in order")
    }

    func testEventLargerThanThePeerAcceptsIsDroppedAsOversize() throws {
        let broker = try EmbeddedBroker()
        let subscriber = try broker.connect()
        subscriber.rawSocketHandshake(lengthExponent: 1)   // 1024 bytes
        subscriber.sendFrame(#"[1,"realm1",{"roles":{"subscriber":{}}}]"#)
        subscriber.sendFrame(#"[32,1,{},"com.t"]"#)
        XCTAssertEqual(subscriber.readMessages().count, 2)
        let publisher = try broker.connect()
        XCTAssertNotNil(publisher.joinRealm())
        publisher.sendFrame(#"[16,1,{},"com.t",["\#(String(repeating: "y", count: 1100))"]]"#)
        publisher.sendFrame(#"[16,2,{},"com.t",["small"]]"#)
        let events = subscriber.readMessages()
        XCTAssertEqual(events.count, 1)
        XCTAssertTrue(events.first?.hasSuffix(#"{},["small"]]"#) ?? false, "\(events)")
        XCTAssertEqual(broker.metrics.dropsOversize.current, 1)
        XCTAssertFalse(subscriber.isClosed)
    }
}

/// The same policy for consumer-group EVENTs, which are never lost to it: under `disconnect`
/// the one over the bound is queued anyway, the session is aborted, and the leave carries every
/// event not yet written back to the group's home for the next member; under `drop` the event
/// goes back home instead of counting as a drop here.
final class ConnectionGroupOutputTests: XCTestCase {
    /// A failover group: `first` (4 KiB socket buffer, not reading) holds it, `second` waits.
    private func failoverGroup(_ policy: SlowConsumerPolicy) throws -> (EmbeddedBroker, first: EmbeddedClient, second: EmbeddedClient, publisher: EmbeddedClient) {
        var limits = LimitsConfig()
        limits.maxSessionOutboundBytes = 65_536
        limits.slowConsumer = policy
        let broker = try EmbeddedBroker(limits: limits)
        var members: [EmbeddedClient] = []
        for socketBuffer in [4096, Int.max] {
            let member = try broker.connect(socketBufferBytes: socketBuffer)
            XCTAssertNotNil(member.joinRealm())
            member.sendFrame(#"[32,1,{"type":"failover"},"com.t"]"#)
            let subscribed = member.readMessages()
            XCTAssertEqual(subscribed.first?.hasPrefix("[33,1,"), true, "\(subscribed)")
            members.append(member)
        }
        let publisher = try broker.connect()
        XCTAssertNotNil(publisher.joinRealm())
        return (broker, members[0], members[1], publisher)
    }

    /// `count` PUBLISHes to `topic` in one read.
    private func publish(_ publisher: EmbeddedClient, topic: String = "com.t", count: Int) {
        publisher.send((0..<count).flatMap { i in
            EmbeddedClient.frame(Array(#"[16,\#(i + 1),{},"\#(topic)",[\#(i),"\#(ConnectionOutputTests.payload)"]]"#.utf8))
        })
    }

    private func eventIndexes(_ bytes: [UInt8]) throws -> [Int] {
        try XCTUnwrap(EmbeddedClient.frames(bytes)).filter { $0.text.hasPrefix("[36,") }.map { frame in
            frame.text.split(separator: "[").last.flatMap { Int($0.prefix { $0 != "," }) } ?? -1
        }
    }

    /// The holder's queue is filled close to the soft bound by plain EVENTs; then ten group
    /// EVENTs: the holder takes what fits, queues the one over the bound and is aborted; what it
    /// refused and what it had not written reach the second member — each event exactly once.
    func testDisconnectAbortsTheHolderAndItsUnwrittenEventsGoToTheNextMember() throws {
        let (broker, first, second, publisher) = try failoverGroup(.disconnect)
        first.sendFrame(#"[32,2,{},"com.fill"]"#)
        let fillReply = try XCTUnwrap(first.readMessages().first)
        XCTAssertTrue(fillReply.hasPrefix("[33,2,"), fillReply)
        let fillSubscription = fillReply.dropFirst("[33,2,".count).prefix { $0 != "]" }
        publish(publisher, topic: "com.fill", count: 31)
        publish(publisher, count: 10)
        XCTAssertTrue(broker.run(until: { broker.metrics.slowConsumerDisconnects.current == 1 }))
        broker.run()
        let firstFrames = try XCTUnwrap(EmbeddedClient.frames(first.readAll()))
        broker.run()
        XCTAssertTrue(first.isClosed)
        XCTAssertEqual(firstFrames.last?.text.hasSuffix(#""fastbroker.error.slow_consumer"]"#), true, "\(firstFrames.last?.text ?? "")")
        let eventsAtFirst = firstFrames.filter { $0.text.hasPrefix("[36,") }
        XCTAssertGreaterThan(eventsAtFirst.count, 0)
        let groupEventsAtFirst = eventsAtFirst.filter { !$0.text.hasPrefix("[36,\(fillSubscription),") }.count
        XCTAssertEqual(groupEventsAtFirst, 0, "the holder wrote none of them before it was aborted")
        let atSecond = try eventIndexes(second.readAll())
        XCTAssertEqual(atSecond.sorted(), Array(0..<10), "each group event reached the next member once: \(atSecond)")
        XCTAssertEqual(broker.metrics.groupEventsDropped.current, 0)
        XCTAssertEqual(broker.metrics.dropsSlowConsumer.current, 0, "no plain EVENT was refused; a group event is not a shared drop")
        XCTAssertFalse(second.isClosed)
    }

    func testDropRefusesTheGroupEventWithoutDisconnecting() throws {
        let (broker, first, _, publisher) = try failoverGroup(.drop)
        publish(publisher, count: 60)
        broker.run()
        let events = try eventIndexes(first.readAll())
        XCTAssertGreaterThan(events.count, 0)
        XCTAssertEqual(broker.metrics.slowConsumerDisconnects.current, 0)
        XCTAssertEqual(broker.metrics.dropsSlowConsumer.current, 0, "refused here, not dropped here")
        XCTAssertFalse(first.isClosed)
    }
}
