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
