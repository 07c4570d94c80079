// The router's fan-out without a socket (EmbeddedBroker): one EVENT per subscription shared by
// its subscribers, publisher exclusion and black/whitelists, per-topic permission checks, the
// filter memo shared by subscriptions, transcoding for a subscriber of the other format, and the
// cluster seam (PublicationForwarding), which gets the same one copy of a publication that a
// consumer group keeps.

import BrokerConfig
import BrokerSerialization
@testable import FastBroker
import Foundation
import XCTest

/// Stands in for the cluster link that will plug into the seam: remembers what it was handed.
private final class RecordingForwarder: PublicationForwarding {
    var topics: [String] = []
    var copies: [RemotePublication] = []

    func forward(_ publication: Publication, in realm: Realm, copy: () -> RemotePublication) {
        topics.append(String(decoding: publication.topic, as: UTF8.self))
        let first = copy()
        XCTAssertTrue(copy() === first, "one copy per publication, however often it is asked for")
        copies.append(first)
    }
}

final class RouterTests: XCTestCase {
    func testSubscribersOfOneSubscriptionGetTheSameEventBytes() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(4)
        let (a, b, pattern, publisher) = (clients[0], clients[1], clients[2], clients[3])
        let id = a.subscribe("com.t.x")
        XCTAssertEqual(b.subscribe("com.t.x"), id, "one subscription per topic on the realm")
        let prefixID = pattern.subscribe("com.t.", options: #"{"match":"prefix"}"#)
        publisher.sendFrame(#"[16,1,{},"com.t.x",["v"]]"#)
        let (eventA, eventB) = (a.readMessages(), b.readMessages())
        XCTAssertEqual(eventA.count, 1)
        XCTAssertEqual(eventA, eventB, "both subscribers are sent the one encoded EVENT")
        let prefixed = pattern.replies()
        XCTAssertEqual(prefixed.count, 1)
        XCTAssertEqual(prefixed.first?[1] as? UInt64, prefixID)
        XCTAssertEqual((prefixed.first?[3] as? [String: Any])?["topic"] as? String, "com.t.x", "a pattern subscriber learns the topic")
        XCTAssertEqual(broker.metrics.eventsDelivered.current, 3)
    }

    func testPublisherExclusionAndEligibility() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        let (publisher, a, b) = (clients[0], clients[1], clients[2])
        for client in clients { _ = client.subscribe("com.t") }
        let bID = b.session.id
        publisher.exchange(#"[16,1,{"acknowledge":true},"com.t",["default"]]"#)
        XCTAssertEqual(publisher.replies().count, 0, "the publisher is excluded by default")
        XCTAssertEqual(a.replies().count, 1)
        XCTAssertEqual(b.replies().count, 1)
        let ack = publisher.exchange(#"[16,2,{"acknowledge":true,"exclude_me":false,"exclude":[\#(bID)]},"com.t",["x"]]"#)
        XCTAssertEqual(ack.map { $0.first as? Int }, [36, 17], "exclude_me false: the publisher gets its EVENT, then PUBLISHED")
        XCTAssertEqual(a.replies().count, 1)
        XCTAssertEqual(b.replies().count, 0, "excluded by session id")
        publisher.exchange(#"[16,3,{"eligible":[\#(bID)]},"com.t",["y"]]"#)
        XCTAssertEqual(a.replies().count, 0)
        XCTAssertEqual(b.replies().count, 1, "only the eligible session")
    }

    /// A prefix subscription that reaches a denied topic is checked per delivered topic.
    func testPartlyPermittedPatternIsCheckedPerTopic() throws {
        let broker = try EmbeddedBroker(permissions: [Permission(uri: "or.secret", match: .prefix, publish: true, subscribe: false),
                                                      Permission(uri: "", match: .prefix, publish: true, subscribe: true)])
        let clients = try broker.joinedClients(2)
        let (subscriber, publisher) = (clients[0], clients[1])
        _ = subscriber.subscribe("or.", options: #"{"match":"prefix"}"#)
        publisher.sendFrame(#"[16,1,{},"or.secret.x",["hidden"]]"#)
        publisher.sendFrame(#"[16,2,{},"or.open",["shown"]]"#)
        let events = subscriber.replies()
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events.first?[4] as? [String], ["shown"])
    }

    /// Subscriptions sharing a filter program share its verdict per publication; each gets the
    /// EVENT exactly when the filter passes.
    func testFilteredSubscriptionsShareAVerdictPerPublication() throws {
        let broker = try EmbeddedBroker()
        let clients = try broker.joinedClients(3)
        let (exact, prefix, publisher) = (clients[0], clients[1], clients[2])
        let filter = #""filter":"k >= :v","filter_values":{":v":10}"#
        _ = exact.subscribe("com.f.a", options: "{\(filter)}")
        _ = prefix.subscribe("com.f.", options: #"{"match":"prefix",\#(filter)}"#)
        for k in [10, 9, 11] { publisher.sendFrame(#"[16,\#(k),{},"com.f.a",[],{"k":\#(k)}]"#) }
        XCTAssertEqual(exact.replies().map { ($0[5] as? [String: Int])?["k"] }, [10, 11])
        XCTAssertEqual(prefix.replies().map { ($0[5] as? [String: Int])?["k"] }, [10, 11])
    }

    /// A JSON publication reaches a MessagePack subscriber transcoded, and a JSON one verbatim.
    func testSubscriberOfTheOtherFormatGetsTheTranscodedPayload() throws {
        let broker = try EmbeddedBroker()
        let msgpack = try broker.connect()
        msgpack.rawSocketHandshake(serializer: 2)
        msgpack.send(EmbeddedClient.frame(Self.messagePack(#"[1,"realm1",{}]"#)))
        XCTAssertEqual(Self.json(msgpack.read()).first?.first as? Int, 2, "WELCOME")
        msgpack.send(EmbeddedClient.frame(Self.messagePack(#"[32,1,{},"com.t"]"#)))
        XCTAssertEqual(Self.json(msgpack.read()).first?.first as? Int, 33)
        let clients = try broker.joinedClients(2)
        let (jsonSubscriber, publisher) = (clients[0], clients[1])
        _ = jsonSubscriber.subscribe("com.t")
        publisher.sendFrame(#"[16,1,{},"com.t",[1.5,"é",{"a":[true,null]}],{"k":-3}]"#)
        let event = try XCTUnwrap(Self.json(msgpack.read()).first)
        XCTAssertEqual(event.count, 6)
        XCTAssertEqual(event[0] as? Int, 36)
        XCTAssertEqual((event[4] as? [Any])?.count, 3)
        XCTAssertEqual((event[4] as? [Any])?[1] as? String, "é")
        XCTAssertEqual(event[5] as? [String: Int], ["k": -3])
        XCTAssertTrue(jsonSubscriber.readMessages().first?.hasSuffix(#",[1.5,"é",{"a":[true,null]}],{"k":-3}]"#) ?? false,
                      "same format: the publication's bytes verbatim")
    }

    /// The cluster seam gets every publication a session made, once, with the one copy that a
    /// consumer group on the topic keeps too.
    func testClusterSeamSharesTheGroupsCopyOfThePublication() throws {
        let broker = try EmbeddedBroker()
        let forwarder = RecordingForwarder()
        let router = broker.server.realms[BytewiseString("realm1")]!.routers[0]
        router.clusterForwarding = forwarder
        let clients = try broker.joinedClients(2)
        let (member, publisher) = (clients[0], clients[1])
        XCTAssertNotEqual(member.subscribe("com.g", options: #"{"type":"shared","group":"g"}"#), 0)
        member.transport.socketBufferBytes = 0   // EVENTs stay in the outbound queue, where we look
        publisher.sendFrame(#"[16,1,{},"com.plain",["nobody"]]"#)
        publisher.sendFrame(#"[16,2,{},"com.g",["grouped"]]"#)
        XCTAssertEqual(forwarder.topics, ["com.plain", "com.g"])
        let membership = try XCTUnwrap(member.session.memberships.values.first)
        let queued = member.connection.takeBackGroupEvents(of: membership.member, connectionDying: false)
            + member.connection.takeBackGroupEvents(of: membership.member, connectionDying: true)
        XCTAssertEqual(queued.count, 1)
        XCTAssertTrue(queued.first?.event.publication === forwarder.copies.last, "the group and the seam share one copy")
    }

    // MARK: - MessagePack helpers

    static func messagePack(_ json: String) -> [UInt8] {
        var out: [UInt8] = []
        MessagePackWriter.appendValue(try! JSONScanner.parse(Array(json.utf8)).get(), to: &out)
        return out
    }

    /// RawSocket output of a MessagePack session, each message transcoded to JSON and parsed.
    static func json(_ output: [UInt8]) -> [[Any]] {
        var messages: [[Any]] = []
        var i = 0
        while i + 4 <= output.count {
            let n = Int(output[i + 1]) << 16 | Int(output[i + 2]) << 8 | Int(output[i + 3])
            let payload = Array(output[(i + 4)..<(i + 4 + n)])
            var text: [UInt8] = []
            XCTAssertTrue(payload.withUnsafeBytes { PayloadTranscoder.transcode($0, from: .msgpack, to: .json, into: &text) })
            messages.append((try? JSONSerialization.jsonObject(with: Data(text)) as? [Any]) ?? [])
            i += 4 + n
        }
        return messages
    }
}
