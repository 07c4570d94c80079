// The plain EVENT of a subscription's lone subscriber is written straight into its outbound
// queue (Connection.enqueuePlainEvent, from Router.deliverAlone). Its bytes on the wire must
// equal those of the shared path — the pooled encoding (WampEncoder.event) queued by
// enqueueEvent — in every format and transport phase, on both sides of WebSocket's 125/126
// length boundary, across coalescing chunk ends, and where the in-place path declines (past the
// coalescing limit). Also through the router: a lone subscriber and one of two get equal EVENTs.

import BrokerConfig
import BrokerSerialization
@testable import FastBroker
import XCTest

final class PlainEventInPlaceTests: XCTestCase {
    /// A client past the transport handshake (RawSocket hello or WebSocket upgrade) in `format`.
    private func client(_ broker: EmbeddedBroker, _ transport: TransportKind, _ format: WireFormat) throws -> EmbeddedClient {
        let client = try broker.connect(transport, serializers: SerializerKind.allCases)
        let reply: [UInt8]
        switch transport {
        case .rawsocket:
            reply = client.rawSocketHandshake(serializer: UInt8(format.rawValue + 1))
        case .websocket:
            let name = ["json", "msgpack", "cbor"][Int(format.rawValue)]
            client.send(ConnectionHTTPTests.upgradeRequest(protocols: "wamp.2.\(name)"))
            reply = client.readAll()
        }
        XCTAssertFalse(reply.isEmpty, "\(transport) \(format): the handshake reply")
        XCTAssertEqual(client.connection.format, format)
        return client
    }

    private func encode(_ value: JSONValue, _ format: WireFormat) -> [UInt8] {
        var out: [UInt8] = []
        WampEncoder.write(value, format, &out)
        return out
    }

    /// Queues EVENTs with args of 0…480 bytes (kwargs on every third, ids of varying width) on
    /// two connections without a flush between: in place on one (falling back to the shared
    /// path where it declines, as deliverAlone does), by the shared path on the other. Returns
    /// the in-place EVENTs' lengths.
    private func compare(_ transport: TransportKind, _ format: WireFormat,
                         file: StaticString = #filePath, line: UInt = #line) throws -> Set<Int> {
        let broker = try EmbeddedBroker()
        let inPlace = try client(broker, transport, format)
        let shared = try client(broker, transport, format)
        let pool = broker.context.bufferPool
        var inPlaceLengths = Set<Int>()
        var declined = 0
        for n in 0...480 {
            var args = n == 0 ? [] : encode(.array([.string(String(repeating: "é", count: n / 2) + String(repeating: "x", count: n % 2))]), format)
            var kwargs = n % 3 == 0 ? encode(.object([("k", .number(JSONNumber(UInt64(n))))]), format) : []
            let subscription = DecimalID(n % 2 == 0 ? 7 : 9_007_199_254_740_991)
            let id = UInt64(1) << UInt64(n % 53)
            var topic = Array("com.t".utf8)
            topic.withUnsafeMutableBytes { t in args.withUnsafeMutableBytes { a in kwargs.withUnsafeMutableBytes { k in
                let publication = Publication(id: id, topic: UnsafeRawBufferPointer(t), format: format, args: UnsafeRawBufferPointer(a),
                                              kwargs: UnsafeRawBufferPointer(k), excludedSession: 0, disclosedPublisher: nil, rules: nil)
                let payload = publication.payload
                var length = 0
                let queued = inPlace.connection.enqueuePlainEvent(maxBytes: WampEncoder.plainEventMaxBytes(payload, format: format)) {
                    length = WampEncoder.writePlainEvent(subscription: subscription, publication: id, payload: payload, format: format, to: $0)
                    return length
                }
                let message = WampEncoder.event(subscription: subscription, publication: publication, payload: payload,
                                                includeTopic: false, format: format, pool: pool)
                if let queued {
                    XCTAssertTrue(queued, file: file, line: line)
                    XCTAssertEqual(length, message.count, "n = \(n)", file: file, line: line)
                    inPlaceLengths.insert(length)
                } else {
                    declined += 1
                    XCTAssertTrue(inPlace.connection.enqueueEvent(message), file: file, line: line)
                }
                XCTAssertTrue(shared.connection.enqueueEvent(message), file: file, line: line)
                message.recycleIfUnused()
            } } }
        }
        broker.run()   // the flush
        let expected = shared.readAll()
        XCTAssertGreaterThan(expected.count, 8 * CoalescingChunks.chunkBytes, "many chunk ends crossed", file: file, line: line)
        let actual = inPlace.readAll()
        let common = min(actual.count, expected.count)
        let firstDifference = (0..<common).first { actual[$0] != expected[$0] } ?? common
        XCTAssertTrue(actual == expected, "\(transport) \(format): the in-place frames differ from byte \(firstDifference) "
                      + "(\(actual.count) bytes, \(expected.count) expected)", file: file, line: line)
        XCTAssertGreaterThan(declined, 0, "some EVENTs are past the coalescing limit", file: file, line: line)
        XCTAssertEqual(broker.metrics.outboundQueuedBytes.current, 0, "every queued byte counted and written", file: file, line: line)
        return inPlaceLengths
    }

    func testInPlaceFramesEqualTheSharedPathInEveryFormatAndTransport() throws {
        for transport in [TransportKind.rawsocket, .websocket] {
            for format in [WireFormat.json, .msgpack, .cbor] {
                let lengths = try compare(transport, format)
                XCTAssertTrue(lengths.contains { (121...125).contains($0) } && lengths.contains { (126...130).contains($0) }
                              && lengths.contains { $0 < 100 } && lengths.contains { $0 > 300 },
                              "\(transport) \(format): in-place EVENTs on both sides of the 125/126 boundary")
            }
        }
    }

    /// A lone subscriber that does not read, with small EVENTs (the in-place path): the queue
    /// fills to the soft bound (32 KiB of a 64 KiB budget) and the rest are dropped and counted,
    /// as on the shared path.
    func testALoneSlowSubscribersSmallEventsStopAtTheSoftBound() throws {
        var limits = LimitsConfig()
        limits.maxSessionOutboundBytes = 65_536
        limits.slowConsumer = .drop
        let broker = try EmbeddedBroker(limits: limits)
        let subscriber = try broker.connect(socketBufferBytes: 4096)
        XCTAssertNotNil(subscriber.joinRealm())
        subscriber.sendFrame(#"[32,1,{},"com.t"]"#)
        XCTAssertEqual(subscriber.readMessages().first?.hasPrefix("[33,1,"), true)
        let publisher = try broker.connect()
        XCTAssertNotNil(publisher.joinRealm())
        let count = 1000
        publisher.send((0..<count).flatMap { i in EmbeddedClient.frame(Array(#"[16,\#(i + 1),{},"com.t",[\#(i),"0123456789"]]"#.utf8)) })
        XCTAssertLessThanOrEqual(subscriber.connection.output.queue.queuedBytes, 32_768)
        let received = subscriber.readAll()
        // The queue was at the bound when the drops began; the client's 4 KiB buffer took some.
        XCTAssertGreaterThan(received.count, 32_768 - 100, "filled up to the bound")
        XCTAssertLessThanOrEqual(received.count, 32_768 + 4096)
        let frames = try XCTUnwrap(EmbeddedClient.frames(received))
        let indices = frames.map { frame in frame.text.split(separator: "[").last.flatMap { Int($0.prefix { $0 != "," }) } ?? -1 }
        XCTAssertEqual(indices, Array(0..<frames.count), "the first ones, in order")
        XCTAssertEqual(broker.metrics.dropsSlowConsumer.current, count - frames.count)
        XCTAssertGreaterThan(count - frames.count, 0)
        XCTAssertFalse(subscriber.isClosed, "drop keeps the subscriber")
    }

    /// Through the router: the lone subscriber of `com.alone` and one of the two subscribers of
    /// `com.pair` receive the same EVENT but for the subscription id.
    func testALoneSubscriberGetsTheSameEventAsASharedOne() throws {
        let broker = try EmbeddedBroker()
        var subscribers: [EmbeddedClient] = []
        for topic in ["com.alone", "com.pair", "com.pair"] {
            let client = try broker.connect()
            XCTAssertNotNil(client.joinRealm())
            client.sendFrame(#"[32,1,{},"\#(topic)"]"#)
            XCTAssertEqual(client.readMessages().first?.hasPrefix("[33,1,"), true)
            subscribers.append(client)
        }
        let publisher = try broker.connect()
        XCTAssertNotNil(publisher.joinRealm())
        publisher.sendFrame(#"[16,1,{},"com.alone",["é",1],{"k":[true,null]}]"#)
        publisher.sendFrame(#"[16,2,{},"com.pair",["é",1],{"k":[true,null]}]"#)
        let alone = try XCTUnwrap(subscribers[0].readMessages().first)
        let paired = try XCTUnwrap(subscribers[1].readMessages().first)
        XCTAssertEqual(subscribers[2].readMessages(), [paired])
        let tail = #",{},["é",1],{"k":[true,null]}]"#
        XCTAssertTrue(alone.hasPrefix("[36,") && alone.hasSuffix(tail), alone)
        XCTAssertTrue(paired.hasPrefix("[36,") && paired.hasSuffix(tail), paired)
        // [36, subscription, publication, ...]: the ids differ, not what follows them.
        XCTAssertEqual(alone.split(separator: ",", maxSplits: 3).last, paired.split(separator: ",", maxSplits: 3).last)
    }
}
