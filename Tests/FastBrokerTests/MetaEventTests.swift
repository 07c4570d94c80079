// Meta events (SPEC §5, Core/MetaEvents.swift) on an EmbeddedBroker: the exact args of each
// event, their order (on_create before on_subscribe, on_unsubscribe before on_delete, a closing
// session's unsubscribes before its on_leave, also when the teardown is sliced), nothing for
// wamp.* subscriptions or identical re-subscribes (checked against a sentinel that follows),
// no PUBLISH to wamp.*, permissions, and the realm-wide "anyone listening" mask.

import BrokerConfig
@testable import FastBroker
import Foundation
import XCTest

final class MetaEventTests: XCTestCase {
    /// The meta events in `replies`, as (topic, args); fails on any other message.
    private func metaEvents(_ replies: [[Any]], file: StaticString = #filePath, line: UInt = #line) -> [(topic: String, args: [Any])] {
        replies.compactMap { message in
            guard message.count == 5, message[0] as? Int == 36, let details = message[3] as? [String: Any],
                  let topic = details["topic"] as? String, let args = message[4] as? [Any] else {
                XCTFail("expected a meta EVENT from a pattern subscription, got \(message)", file: file, line: line)
                return nil
            }
            XCTAssertEqual(details.count, 1, "no publisher is disclosed: \(details)", file: file, line: line)
            return (topic, args)
        }
    }

    /// A joined client subscribed to every meta topic (prefix "wamp."), its reply read.
    private func watcher(_ broker: EmbeddedBroker) throws -> EmbeddedClient {
        let watcher = try broker.joinedClients(1)[0]
        _ = watcher.subscribe("wamp.", options: #"{"match":"prefix"}"#)
        return watcher
    }

    func testJoinAnnouncesTheSessionDetailsWithItsTransport() throws {
        let broker = try EmbeddedBroker()
        let watcher = try broker.joinedClients(1)[0]
        let subscription = watcher.subscribe("wamp.session.on_join")
        let client = try broker.connect()
        let session = client.joinAnonymously()
        let replies = watcher.replies()
        XCTAssertEqual(replies.count, 1, "\(replies)")
        let event = replies[0]
        XCTAssertEqual(event[0] as? Int, 36)
        XCTAssertEqual(event[1] as? UInt64, subscription)
        XCTAssertEqual((event[3] as? [String: Any])?.count, 0, "exact subscription, no publisher: empty details")
        let details = try XCTUnwrap((event[4] as? [Any])?.first as? [String: Any])
        XCTAssertEqual((event[4] as? [Any])?.count, 1)
        XCTAssertEqual(details["session"] as? UInt64, session)
        XCTAssertEqual(details["authid"] as? String, client.session.identity.authid)
        XCTAssertEqual(details["authrole"] as? String, "anonymous")
        XCTAssertEqual(details["authmethod"] as? String, "anonymous")
        XCTAssertEqual(details["authprovider"] as? String, "static")
        let transport = try XCTUnwrap(details["transport"] as? [String: Any])
        XCTAssertEqual(transport["type"] as? String, "rawsocket")
        XCTAssertEqual(transport["protocol"] as? String, "wamp.2.json")
        XCTAssertEqual(transport["tls"] as? Bool, false)
        XCTAssertEqual(details.count, 6, "\(details)")
    }

    func testWelcomeAnnouncesTheMetaAPIs() throws {
        let broker = try EmbeddedBroker()
        let welcome = try XCTUnwrap(try broker.connect().joinRealm())
        XCTAssertTrue(welcome.contains(#""session_meta_api":true"#), welcome)
        XCTAssertTrue(welcome.contains(#""subscription_meta_api":true"#), welcome)
    }

    func testSubscriptionLifecycleInOrderWithExactArgs() throws {
        let broker = try EmbeddedBroker()
        let watcher = try watcher(broker)
        let (a, b) = (try broker.connect(), try broker.connect())
        let (sessionA, sessionB) = (a.joinAnonymously(), b.joinAnonymously())
        _ = watcher.replies()   // the two on_join

        let id = a.subscribe("com.example.", options: #"{"match":"prefix"}"#)
        var events = metaEvents(watcher.replies())
        XCTAssertEqual(events.map(\.topic), ["wamp.subscription.on_create", "wamp.subscription.on_subscribe"])
        guard events.count == 2, events[0].args.count == 2 else { return XCTFail("\(events)") }
        XCTAssertEqual(events[0].args[0] as? UInt64, sessionA)
        let created = try XCTUnwrap(events[0].args[1] as? [String: Any])
        XCTAssertEqual(created["id"] as? UInt64, id)
        XCTAssertEqual(created["uri"] as? String, "com.example.")
        XCTAssertEqual(created["match"] as? String, "prefix")
        let stamp = try XCTUnwrap(created["created"] as? String)
        XCTAssertNotNil(stamp.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression), stamp)
        let parsed = try XCTUnwrap(ISO8601DateFormatter.withMilliseconds.date(from: stamp))
        XCTAssertLessThan(abs(parsed.timeIntervalSinceNow), 60, "created is now, in UTC: \(stamp)")
        XCTAssertEqual(created.count, 4, "\(created)")
        XCTAssertEqual(events[1].args as? [UInt64], [sessionA, id])

        // A second session joins the subscription: on_subscribe only.
        XCTAssertEqual(b.subscribe("com.example.", options: #"{"match":"prefix"}"#), id)
        events = metaEvents(watcher.replies())
        XCTAssertEqual(events.map(\.topic), ["wamp.subscription.on_subscribe"])
        guard events.count == 1 else { return XCTFail("\(events)") }
        XCTAssertEqual(events[0].args as? [UInt64], [sessionB, id])

        // The first leaves: on_unsubscribe only; the last: on_unsubscribe, then on_delete.
        XCTAssertEqual(a.exchange(#"[34,7,\#(id)]"#).first?.first as? Int, 35)
        events = metaEvents(watcher.replies())
        XCTAssertEqual(events.map(\.topic), ["wamp.subscription.on_unsubscribe"])
        guard events.count == 1 else { return XCTFail("\(events)") }
        XCTAssertEqual(events[0].args as? [UInt64], [sessionA, id])
        XCTAssertEqual(b.exchange(#"[34,8,\#(id)]"#).first?.first as? Int, 35)
        events = metaEvents(watcher.replies())
        XCTAssertEqual(events.map(\.topic), ["wamp.subscription.on_unsubscribe", "wamp.subscription.on_delete"])
        guard events.count == 2 else { return XCTFail("\(events)") }
        XCTAssertEqual(events[0].args as? [UInt64], [sessionB, id])
        XCTAssertEqual(events[1].args as? [UInt64], [sessionB, id])
    }

    func testIdenticalResubscribeAndWampTopicsAnnounceNothing() throws {
        let broker = try EmbeddedBroker()
        let watcher = try watcher(broker)
        let client = try broker.connect()
        let session = client.joinAnonymously()
        _ = watcher.replies()
        let id = client.subscribe("com.example.topic", request: 1)
        _ = watcher.replies()
        XCTAssertEqual(client.subscribe("com.example.topic", request: 2), id, "same subscription")
        let meta = client.subscribe("wamp.session.on_leave", request: 3)
        XCTAssertEqual(client.exchange(#"[34,4,\#(meta)]"#).first?.first as? Int, 35)
        // The sentinel: the first meta event after all that is its on_create.
        let sentinel = client.subscribe("com.example.sentinel", request: 5)
        let events = metaEvents(watcher.replies())
        XCTAssertEqual(events.map(\.topic), ["wamp.subscription.on_create", "wamp.subscription.on_subscribe"])
        guard events.count == 2, events[0].args.count == 2 else { return XCTFail("\(events)") }
        XCTAssertEqual((events[0].args[1] as? [String: Any])?["uri"] as? String, "com.example.sentinel")
        XCTAssertEqual(events[1].args as? [UInt64], [session, sentinel])
    }

    func testClosingSessionUnsubscribesEachThenLeaves() throws {
        let broker = try EmbeddedBroker()
        let watcher = try watcher(broker)
        let (stays, leaves) = (try broker.connect(), try broker.connect())
        stays.joinAnonymously()
        let session = leaves.joinAnonymously()
        let shared = stays.subscribe("com.example.shared")
        XCTAssertEqual(leaves.subscribe("com.example.shared"), shared)
        let own = leaves.subscribe("com.example.own", request: 2)
        _ = watcher.replies()
        let authid = leaves.session.identity.authid

        leaves.exchange(#"[6,{},"wamp.close.close_realm"]"#)
        let events = metaEvents(watcher.replies())
        let lines = events.map { "\($0.topic) \($0.args.map { "\($0)" }.joined(separator: ","))" }
        XCTAssertEqual(lines.count, 4, "\(lines)")
        XCTAssertEqual(lines.last, "wamp.session.on_leave \(session),\(authid),anonymous")
        let rest = lines.dropLast()
        // Subscriptions are left in no particular order; each on_delete follows its on_unsubscribe.
        let unsubscribeShared = "wamp.subscription.on_unsubscribe \(session),\(shared)"
        let unsubscribeOwn = "wamp.subscription.on_unsubscribe \(session),\(own)"
        let deleteOwn = "wamp.subscription.on_delete \(session),\(own)"
        XCTAssertEqual(Set(rest), [unsubscribeShared, unsubscribeOwn, deleteOwn])
        XCTAssertLessThan(rest.firstIndex(of: unsubscribeOwn) ?? .max, rest.firstIndex(of: deleteOwn) ?? -1)
    }

    func testSlicedTeardownAnnouncesEverySubscriptionThenTheLeaveLast() throws {
        let count = 2_000   // many batches: left over later loop turns, a time-boxed slice each
        var limits = LimitsConfig()
        limits.maxSubscriptionsPerSession = count
        let broker = try EmbeddedBroker(limits: limits)
        let watcher = try watcher(broker)
        let leaves = try broker.connect()
        let session = leaves.joinAnonymously()
        _ = watcher.replies()
        var frames: [UInt8] = []
        for i in 0..<count { frames += EmbeddedClient.frame(Array(#"[32,\#(i + 1),{},"com.example.t\#(i)"]"#.utf8)) }
        leaves.transport.clientSends(frames)
        var (subscribed, announced) = (0, 0)
        XCTAssertTrue(broker.run(until: {
            subscribed += EmbeddedClient.messages(in: leaves.transport.readOutput()).count
            announced += metaEvents(EmbeddedClient.messages(in: watcher.transport.readOutput())).count
            return subscribed == count && announced == 2 * count
        }), "\(subscribed) SUBSCRIBED, \(announced) meta events")

        // The close leaves nothing at once, and the first slice (its meta events included) stops
        // at its time bound: a listener makes the teardown no burst.
        let router = broker.server.realms["realm1"]!.routers[0]
        leaves.connection.closeNow()
        XCTAssertEqual(router.departingCount, count)
        XCTAssertTrue(broker.run(until: { router.departingCount < count }))
        XCTAssertGreaterThan(router.departingCount, 0, "one loop turn did not leave all \(count) subscriptions")
        leaves.connection.closeNow()
        var events: [(topic: String, args: [Any])] = []
        XCTAssertTrue(broker.run(until: {
            events += metaEvents(watcher.replies())
            return events.last?.topic == "wamp.session.on_leave"
        }), "on_leave after \(events.count) events")
        XCTAssertEqual(events.count, 2 * count + 1)
        XCTAssertEqual(events.filter { $0.topic == "wamp.subscription.on_unsubscribe" }.count, count)
        XCTAssertEqual(events.filter { $0.topic == "wamp.subscription.on_delete" }.count, count)
        XCTAssertEqual(events.last?.args.first as? UInt64, session)
        XCTAssertTrue(events.allSatisfy { $0.args.first as? UInt64 == session }, "every event names the leaving session")
        XCTAssertEqual(broker.server.realms["realm1"]!.routers[0].departingCount, 0)
    }

    func testClientsMayNotPublishToWampTopics() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.joinedClients(1)[0]
        assertError(client.exchange(#"[16,9,{"acknowledge":true},"wamp.session.on_join",[1]]"#), 16, 9,
                    "only the broker publishes to wamp.* topics (meta events), not to wamp.session.on_join", "wamp.error.not_authorized")
    }

    func testSubscribingToMetaTopicsNeedsPermission() throws {
        let broker = try EmbeddedBroker(permissions: [Permission(uri: "com.", match: .prefix, publish: true, subscribe: true)])
        let client = try broker.joinedClients(1)[0]
        assertError(client.exchange(#"[32,3,{},"wamp.session.on_join"]"#), 32, 3,
                    "role anonymous may not subscribe to wamp.session.on_join", "wamp.error.not_authorized")
    }

    /// Joins and subscribes build no meta event unless a subscription somewhere in the realm
    /// matches the meta topic: the realm-wide mask follows patterns exactly.
    func testListenedMaskFollowsMatchingSubscriptions() throws {
        let broker = try EmbeddedBroker()
        let registry = broker.server.realms["realm1"]!.subscriptionIDs
        let client = try broker.joinedClients(1)[0]
        XCTAssertFalse(MetaTopic.allCases.contains { registry.isListened($0) })
        _ = client.subscribe("com.", options: #"{"match":"prefix"}"#, request: 1)
        XCTAssertFalse(MetaTopic.allCases.contains { registry.isListened($0) }, "a pattern that no meta topic matches")
        let wildcard = client.subscribe("wamp..on_join", options: #"{"match":"wildcard"}"#, request: 2)
        XCTAssertEqual(MetaTopic.allCases.filter { registry.isListened($0) }, [.sessionJoin])
        // Subscribing to "" is announced to itself (after SUBSCRIBED): on_create, on_subscribe.
        let replies = client.exchange(#"[32,3,{"match":"prefix"},""]"#)
        XCTAssertEqual(replies.map { $0[0] as? Int }, [33, 36, 36])
        let everything = try XCTUnwrap(replies.first?[2] as? UInt64)
        XCTAssertEqual(MetaTopic.allCases.filter { registry.isListened($0) }, MetaTopic.allCases)
        client.exchange(#"[34,4,\#(everything)]"#)
        XCTAssertEqual(MetaTopic.allCases.filter { registry.isListened($0) }, [.sessionJoin])
        client.exchange(#"[34,5,\#(wildcard)]"#)
        XCTAssertFalse(MetaTopic.allCases.contains { registry.isListened($0) })
    }
}

private extension ISO8601DateFormatter {
    static var withMilliseconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
