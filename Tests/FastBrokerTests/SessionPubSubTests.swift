// SUBSCRIBE, UNSUBSCRIBE and PUBLISH on an established session without a socket
// (EmbeddedBroker): every refusal with its exact ERROR (request type, request id, URI, message),
// the malformed messages that abort, and the acknowledgements of what succeeds.

import BrokerConfig
@testable import FastBroker
import XCTest

final class SessionPubSubTests: XCTestCase {
    /// Anonymous may do anything but touch "org." topics.
    private let permissions = [Permission(uri: "org.", match: .prefix, publish: false, subscribe: false),
                               Permission(uri: "", match: .prefix, publish: true, subscribe: true)]

    private func broker(_ configure: (inout LimitsConfig) -> Void = { _ in }) throws -> EmbeddedBroker {
        var limits = LimitsConfig()
        limits.maxURIBytes = 32
        configure(&limits)
        return try EmbeddedBroker(limits: limits, permissions: permissions)
    }

    // MARK: - SUBSCRIBE

    func testSubscribeRefusalsNameTheProblem() throws {
        let broker = try broker()
        let client = try broker.connect()
        client.joinAnonymously()
        let long = String(repeating: "a", count: 33)
        let cases: [(String, String, String)] = [
            (#"{"match":"regex"}"#, "com.t", #"options.match must be "exact", "prefix" or "wildcard""#),
            (#"{"type":"queue"}"#, "com.t", #"options.type must be "exclusive", "shared" or "failover""#),
            (#"{"group":"g"}"#, "com.t", "options.group needs options.type (exclusive, shared or failover)"),
            (#"{"filter":"k >"}"#, "com.t", "invalid filter: "),
        ]
        for (i, (options, topic, message)) in cases.enumerated() {
            let reply = client.exchange(#"[32,\#(i + 1),\#(options),"\#(topic)"]"#)
            let text = ((reply.first?[3] as? [String: Any])?["message"] as? String) ?? ""
            // The filter compiler's own text follows the prefix; the prefix says which option.
            assertError(reply, 32, i + 1, message.hasSuffix(": ") ? text : message, "wamp.error.invalid_argument")
            XCTAssertTrue(text.hasPrefix(message), text)
        }
        assertError(client.exchange(#"[32,10,{},"\#(long)"]"#), 32, 10,
                    "URI of 33 bytes is longer than limits.max_uri_bytes (32)", "wamp.error.invalid_uri")
        assertError(client.exchange(#"[32,11,{},"com..t"]"#), 32, 11,
                    #"invalid topic URI "com..t" for match exact"#, "wamp.error.invalid_uri")
        assertError(client.exchange(#"[32,12,{"match":"wildcard"},"com.#"]"#), 32, 12,
                    #"invalid topic URI "com.#" for match wildcard"#, "wamp.error.invalid_uri")
        assertError(client.exchange(#"[32,13,{},"org.x"]"#), 32, 13,
                    "role anonymous may not subscribe to org.x", "wamp.error.not_authorized")
        assertError(client.exchange(#"[32,14,{"match":"prefix"},"org."]"#), 32, 14,
                    #"role anonymous may not subscribe to any topic matching prefix pattern "org.""#, "wamp.error.not_authorized")
        XCTAssertTrue(client.session.isEstablished, "refusals do not end the session")
        XCTAssertTrue(client.session.subscriptions.isEmpty)
    }

    func testSubscriptionLimitCountsDistinctSubscriptionsOnly() throws {
        let broker = try broker { $0.maxSubscriptionsPerSession = 1 }
        let client = try broker.connect()
        client.joinAnonymously()
        let id = client.subscribe("com.a", request: 1)
        XCTAssertEqual(client.subscribe("com.a", request: 2), id, "the same SUBSCRIBE again returns the same subscription")
        assertError(client.exchange(#"[32,3,{},"com.b"]"#), 32, 3,
                    "this session already holds 1 subscriptions (max_subscriptions_per_session)", "fastbroker.error.limit_exceeded")
        assertError(client.exchange(#"[32,4,{"type":"shared","group":"g"},"com.b"]"#), 32, 4,
                    "this session already holds 1 subscriptions (max_subscriptions_per_session)", "fastbroker.error.limit_exceeded")
        XCTAssertEqual(broker.metrics.limitRefusals[.maxSubscriptionsPerSession].current, 2)
    }

    func testMalformedSubscribeAndUnsubscribeAbort() throws {
        let broker = try broker()
        try broker.assertEachAbortsEstablishedSession([
            (#"[32,1,{}]"#, "SUBSCRIBE must be [32, Request|id, Options|dict, Topic|uri]"),
            (#"[32,0,{},"com.t"]"#, "SUBSCRIBE must be [32, Request|id, Options|dict, Topic|uri]"),
            (#"[32,1,[],"com.t"]"#, "SUBSCRIBE must be [32, Request|id, Options|dict, Topic|uri]"),
            (#"[34,1]"#, "UNSUBSCRIBE must be [34, Request|id, SUBSCRIBED.Subscription|id]"),
            (#"[34,1,"sub"]"#, "UNSUBSCRIBE must be [34, Request|id, SUBSCRIBED.Subscription|id]"),
        ])
    }

    // MARK: - UNSUBSCRIBE

    func testUnsubscribeEndsDeliveryAndAnUnknownIdIsRefused() throws {
        let broker = try broker()
        let subscriber = try broker.connect(), publisher = try broker.connect()
        subscriber.joinAnonymously()
        publisher.joinAnonymously()
        let id = subscriber.subscribe("com.t")
        let unsubscribed = subscriber.exchange("[34,2,\(id)]")
        XCTAssertEqual(unsubscribed.count, 1)
        XCTAssertEqual(unsubscribed.first as? [Int], [35, 2])
        assertError(subscriber.exchange("[34,3,\(id)]"), 34, 3, "no subscription \(id) on this session", "wamp.error.no_such_subscription")
        publisher.exchange(#"[16,1,{"acknowledge":true},"com.t",["gone"]]"#)
        XCTAssertEqual(subscriber.replies().count, 0, "no EVENT after UNSUBSCRIBED (the PUBLISHED above shows it was routed)")
    }

    // MARK: - PUBLISH

    func testPublishRefusalsAreAnsweredOnlyWhenAcknowledged() throws {
        let broker = try broker { $0.maxListOptionEntries = 2 }
        let client = try broker.connect()
        client.joinAnonymously()
        let long = String(repeating: "a", count: 33)
        let cases: [(String, String, String, String)] = [
            (#"{"acknowledge":true,"exclude_me":1}"#, "com.t", "options.exclude_me must be a bool", "wamp.error.invalid_argument"),
            (#"{"acknowledge":true,"eligible":["x"]}"#, "com.t", "options.eligible must be a list of session ids", "wamp.error.invalid_argument"),
            (#"{"acknowledge":true,"exclude":[1,2,3]}"#, "com.t",
             "options.exclude has more than 2 entries (limits.max_list_option_entries)", "fastbroker.error.limit_exceeded"),
            (#"{"acknowledge":true}"#, long, "URI of 33 bytes is longer than limits.max_uri_bytes (32)", "wamp.error.invalid_uri"),
            (#"{"acknowledge":true}"#, "com..t", #"invalid topic URI "com..t""#, "wamp.error.invalid_uri"),
            (#"{"acknowledge":true}"#, "org.x", "role anonymous may not publish to org.x", "wamp.error.not_authorized"),
        ]
        for (i, (options, topic, message, uri)) in cases.enumerated() {
            assertError(client.exchange(#"[16,\#(i + 1),\#(options),"\#(topic)"]"#), 16, i + 1, message, uri)
        }
        // Unacknowledged refusals are silent: the acknowledged publish after them gets the only reply.
        client.sendFrame(#"[16,20,{},"org.x"]"#)
        client.sendFrame(#"[16,21,{"exclude_me":1},"com.t"]"#)
        let reply = client.exchange(#"[16,22,{"acknowledge":true},"com.t"]"#)
        XCTAssertEqual(reply.count, 1)
        XCTAssertEqual(reply.first?[0] as? Int, 17)
        XCTAssertEqual(reply.first?[1] as? Int, 22)
        XCTAssertEqual(broker.metrics.publicationsRefused.current, cases.count + 2)
        XCTAssertEqual(broker.metrics.limitRefusals[.maxListOptionEntries].current, 1)
    }

    func testMalformedPublishAborts() throws {
        let broker = try broker()
        try broker.assertEachAbortsEstablishedSession([
            (#"[16,1,{}]"#, "PUBLISH must be [16, Request|id, Options|dict, Topic|uri, Arguments|list?, ArgumentsKw|dict?]"),
            (#"[16,1,{},"com.t",[],{},1]"#, "PUBLISH must be [16, Request|id, Options|dict, Topic|uri, Arguments|list?, ArgumentsKw|dict?]"),
            (#"[16,1,{},"com.t",{}]"#, "PUBLISH.Arguments must be a list"),
            (#"[16,1,{},"com.t",[],[]]"#, "PUBLISH.ArgumentsKw must be a dict"),
        ])
    }

    func testPublishedCarriesThePublicationIdTheEventHas() throws {
        let broker = try broker()
        let subscriber = try broker.connect(), publisher = try broker.connect()
        subscriber.joinAnonymously()
        let publisherID = publisher.joinAnonymously()
        let subscription = subscriber.subscribe("com.t")
        let published = publisher.exchange(#"[16,7,{"acknowledge":true,"disclose_me":true},"com.t",[1,"two"],{"k":3}]"#)
        XCTAssertEqual(published.count, 1)
        XCTAssertEqual(published.first?[0] as? Int, 17)
        XCTAssertEqual(published.first?[1] as? Int, 7)
        let publication = try XCTUnwrap(published.first?[2] as? UInt64)
        let events = subscriber.replies()
        XCTAssertEqual(events.count, 1)
        let event = try XCTUnwrap(events.first)
        XCTAssertEqual(event[0] as? Int, 36)
        XCTAssertEqual(event[1] as? UInt64, subscription)
        XCTAssertEqual(event[2] as? UInt64, publication)
        XCTAssertEqual((event[3] as? [String: Any])?["publisher"] as? UInt64, publisherID)
        XCTAssertEqual(event[4] as? [AnyHashable], [1, "two"])
        XCTAssertEqual(event[5] as? [String: Int], ["k": 3])
        XCTAssertEqual(broker.metrics.eventsDelivered.current, 1)
    }
}
