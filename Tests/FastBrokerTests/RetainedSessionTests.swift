// Event retention through sessions on an EmbeddedBroker (SPEC §5): PUBLISH `retain` and
// SUBSCRIBE `get_retained`, with the exact messages a client sees — the retained EVENT right
// after SUBSCRIBED with `"retained": true`, its publication id equal to the PUBLISHED one, and
// before any later live event; patterns, filters, exclude/eligible lists (but not exclude_me),
// clearing, the byte limit and its refusal, and option errors naming the option.

import BrokerConfig
@testable import FastBroker
import XCTest

final class RetainedSessionTests: XCTestCase {
    private func publish(_ client: EmbeddedClient, _ request: Int, _ options: String, _ topic: String, _ payload: String = "",
                         file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        let reply = client.exchange(#"[16,\#(request),\#(options),"\#(topic)"\#(payload)]"#)
        guard reply.count == 1, reply[0].first as? Int == 17, reply[0][1] as? Int == request, let id = reply[0][2] as? UInt64 else {
            XCTFail("expected PUBLISHED, got \(reply)", file: file, line: line)
            return 0
        }
        return id
    }

    private func details(_ event: [Any]) -> [String: Any] { event.count > 3 ? (event[3] as? [String: Any]) ?? [:] : [:] }

    func testRetainedEventFollowsSubscribedAndPrecedesLiveEvents() throws {
        let broker = try EmbeddedBroker()
        let (publisher, subscriber) = try { let c = try broker.joinedClients(2); return (c[0], c[1]) }()
        let retainedID = publish(publisher, 1, #"{"retain":true,"acknowledge":true}"#, "com.a", #",[1,"x"],{"k":2}"#)
        XCTAssertTrue(broker.server.realms.values.first!.retainedEvents.byteCount > 0)

        let reply = subscriber.exchange(#"[32,5,{"get_retained":true},"com.a"]"#)
        XCTAssertEqual(reply.count, 2, "SUBSCRIBED then the retained EVENT: \(reply)")
        XCTAssertEqual(reply.first?.first as? Int, 33)
        let subscription = reply[0][2] as! UInt64
        let event = reply[1]
        XCTAssertEqual(event[0] as? Int, 36)
        XCTAssertEqual(event[1] as? UInt64, subscription)
        XCTAssertEqual(event[2] as? UInt64, retainedID, "the publication id as published")
        XCTAssertEqual(details(event) as NSDictionary, ["retained": true] as NSDictionary)
        XCTAssertEqual(event[4] as? NSArray, [1, "x"] as NSArray)
        XCTAssertEqual(event[5] as? NSDictionary, ["k": 2] as NSDictionary)

        // A live event afterwards comes after it, without "retained".
        let liveID = publish(publisher, 2, #"{"acknowledge":true}"#, "com.a", ",[2]")
        let live = subscriber.replies()
        XCTAssertEqual(live.count, 1)
        XCTAssertEqual(live[0][2] as? UInt64, liveID)
        XCTAssertEqual(details(live[0]).count, 0)

        // Only get_retained asks for them; an identical re-subscribe gets them again.
        XCTAssertEqual(try broker.joinedClients(1)[0].exchange(#"[32,6,{},"com.a"]"#).count, 1)
        let again = subscriber.exchange(#"[32,7,{"get_retained":true},"com.a"]"#)
        XCTAssertEqual(again.count, 2)
        XCTAssertEqual(again[0][2] as? UInt64, subscription)
        XCTAssertEqual(again[1][2] as? UInt64, retainedID, "the retained event is the last retained PUBLISH, not the live one")
    }

    func testPatternsFiltersAndListsApplyButExcludeMeDoesNot() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        let (publisher, alice, bob) = (clients[0], clients[1], clients[2])
        let bobID = bob.session.id
        let a = publish(publisher, 1, #"{"retain":true,"acknowledge":true}"#, "com.x.a", #",[],{"n":1}"#)
        let b = publish(publisher, 2, #"{"retain":true,"acknowledge":true}"#, "com.y.a", #",[],{"n":5}"#)
        _ = publish(publisher, 3, #"{"retain":true,"acknowledge":true}"#, "com.x.b", #",[],{"n":9}"#)
        let onlyBob = publish(publisher, 4, #"{"retain":true,"acknowledge":true,"eligible":[\#(bobID)],"disclose_me":true}"#, "com.z.a", ",[0]")

        func retainedIDs(_ reply: [[Any]]) -> [UInt64] { reply.dropFirst().compactMap { $0[2] as? UInt64 }.sorted() }
        let wildcard = alice.exchange(#"[32,1,{"get_retained":true,"match":"wildcard"},"com..a"]"#)
        XCTAssertEqual(retainedIDs(wildcard), [a, b].sorted(), "eligible excludes alice from com.z.a")
        for event in wildcard.dropFirst() {
            XCTAssertEqual(details(event)["retained"] as? Bool, true)
            XCTAssertNotNil(details(event)["topic"] as? String, "pattern subscriptions name the topic")
        }
        let filtered = alice.exchange(#"[32,2,{"get_retained":true,"match":"prefix","filter":"n > :v","filter_values":{":v":3}},"com."]"#)
        XCTAssertEqual(retainedIDs(filtered).count, 2, "n 5 and n 9 pass, n 1 does not; \(filtered)")

        let bobs = bob.exchange(#"[32,1,{"get_retained":true},"com.z.a"]"#)
        XCTAssertEqual(retainedIDs(bobs), [onlyBob])
        XCTAssertEqual(details(bobs[1])["publisher"] as? UInt64, publisher.session.id, "disclosure as published")

        // The publisher itself gets its own retained event: exclude_me does not apply.
        XCTAssertEqual(retainedIDs(publisher.exchange(#"[32,9,{"get_retained":true},"com.x.a"]"#)), [a])
    }

    func testPatternSubscriberGetsNoRetainedEventOnATopicItsRoleMayNotSubscribeTo() throws {
        let permissions = [Permission(uri: "com.secret.", match: .prefix, publish: true, subscribe: false),
                           Permission(uri: "", match: .prefix, publish: true, subscribe: true)]
        let broker = try EmbeddedBroker(permissions: permissions)
        let clients = try broker.joinedClients(2)
        _ = publish(clients[0], 1, #"{"retain":true,"acknowledge":true}"#, "com.secret.key", ",[1]")
        let open = publish(clients[0], 2, #"{"retain":true,"acknowledge":true}"#, "com.open.key", ",[2]")
        let reply = clients[1].exchange(#"[32,1,{"get_retained":true,"match":"wildcard"},"com..key"]"#)
        XCTAssertEqual(reply.count, 2, "SUBSCRIBED and only the permitted topic's event: \(reply)")
        XCTAssertEqual(reply.last?[2] as? UInt64, open)
        XCTAssertEqual(details(reply.last ?? [])["topic"] as? String, "com.open.key")
    }

    func testEmptyRetainedPublishClearsTheTopic() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(2)
        _ = publish(clients[0], 1, #"{"retain":true,"acknowledge":true}"#, "com.a", ",[1]")
        _ = publish(clients[0], 2, #"{"retain":true,"acknowledge":true}"#, "com.a", ",[],{}")
        XCTAssertEqual(clients[1].exchange(#"[32,1,{"get_retained":true},"com.a"]"#).count, 1, "only SUBSCRIBED")
        XCTAssertEqual(broker.server.realms.values.first!.retainedEvents.byteCount, 0)
    }

    func testRetainedEventLargerThanTheLimitIsRefusedNamingIt() throws {
        var limits = LimitsConfig()
        limits.maxRetainedBytes = 300
        let broker = try EmbeddedBroker(limits: limits)
        let clients = try broker.joinedClients(2)
        _ = clients[1].subscribe("com.a")
        let big = String(repeating: "x", count: 300)
        let reply = clients[0].exchange(#"[16,1,{"retain":true,"acknowledge":true},"com.a",["\#(big)"]]"#)
        let charge = 5 + big.utf8.count + 4 + RetainedEvent.overheadBytes
        assertError(reply, 16, 1, "retained event of \(charge) bytes is larger than limits.max_retained_bytes (300)",
                    "fastbroker.error.limit_exceeded")
        XCTAssertEqual(clients[1].replies().count, 0, "a refused PUBLISH is not delivered either")
        XCTAssertEqual(broker.metrics.limitRefusals[.maxRetainedBytes].current, 1)
        // Within the limit, older topics make room.
        _ = publish(clients[0], 2, #"{"retain":true,"acknowledge":true}"#, "com.b", ",[1]")
        _ = publish(clients[0], 3, #"{"retain":true,"acknowledge":true}"#, "com.c", ",[1]")
        XCTAssertEqual(broker.metrics.retainedEvictions.current, 1)
        XCTAssertLessThanOrEqual(broker.server.realms.values.first!.retainedEvents.byteCount, 300)
        let metrics = broker.server.metricsText()
        XCTAssertTrue(metrics.contains("fastbroker_retained_bytes{realm=\"realm1\"} \(broker.server.realms.values.first!.retainedEvents.byteCount)"), metrics)
    }

    func testRetainedEventsBeyondTheOutboundRoomStopAtTheFirstDrop() throws {
        var limits = LimitsConfig()
        limits.maxSessionOutboundBytes = 65_536   // events fill the queue up to 32 KiB
        limits.slowConsumer = .drop
        let broker = try EmbeddedBroker(limits: limits)
        let publisher = try broker.joinedClients(1)[0]
        let blob = String(repeating: "x", count: 1000)
        for i in 0..<100 { _ = publish(publisher, i + 1, #"{"retain":true,"acknowledge":true}"#, "com.t\(i)", #",["\#(blob)"]"#) }
        let subscriber = try broker.connect(socketBufferBytes: 4096)   // reads nothing meanwhile
        XCTAssertNotNil(subscriber.joinRealm())
        subscriber.sendFrame(#"[32,1,{"get_retained":true,"match":"prefix"},"com."]"#)
        XCTAssertEqual(broker.metrics.dropsSlowConsumer.current, 1, "the first event without room ends the batch")
        let received = EmbeddedClient.messages(in: subscriber.readAll())
        XCTAssertEqual(received.first?.first as? Int, 33)
        let events = received.filter { $0.first as? Int == 36 }
        XCTAssertGreaterThan(events.count, 20)
        XCTAssertLessThan(events.count, 100)
        XCTAssertTrue(subscriber.session.isEstablished, "slow_consumer drop keeps the session")
    }

    func testBadOptionsAreRefusedNamingTheOption() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.joinedClients(1)[0]
        assertError(client.exchange(#"[32,1,{"get_retained":1},"com.a"]"#), 32, 1, "options.get_retained must be a bool",
                    "wamp.error.invalid_argument")
        assertError(client.exchange(#"[16,2,{"retain":"yes","acknowledge":true},"com.a"]"#), 16, 2, "options.retain must be a bool",
                    "wamp.error.invalid_argument")
    }

    func testWelcomeAnnouncesEventRetention() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        let welcome = client.joinRealm() ?? ""
        XCTAssertTrue(welcome.contains(#""event_retention":true"#), welcome)
    }
}
