// Connection over RawSocket without a socket (InMemoryTransport): the opening handshake and its
// refusals byte for byte, framing limits, and a session reached through the connection.

import BrokerConfig
@testable import FastBroker
import XCTest

final class ConnectionRawSocketTests: XCTestCase {
    func testHandshakeEchoesSerializerAndAnnouncesOurLimit() throws {
        var limits = LimitsConfig()
        limits.maxMessageBytes = 65_536   // 2^(9+7)
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        XCTAssertEqual(client.rawSocketHandshake(serializer: 1, lengthExponent: 15), [0x7F, 0x71, 0, 0])
        XCTAssertFalse(client.isClosed)
        XCTAssertEqual(client.connection.format, .json)
    }

    func testMessagePackHandshakeSelectsMessagePack() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(serializers: [.json, .msgpack])
        XCTAssertEqual(client.rawSocketHandshake(serializer: 2)[1] & 0x0F, 2)
        XCTAssertEqual(client.connection.format, .msgpack)
    }

    func testUnsupportedSerializerGetsErrorOneAndClose() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(serializers: [.json])
        XCTAssertEqual(client.rawSocketHandshake(serializer: 2), [0x7F, 0x10, 0, 0], "msgpack is not served here")
        broker.run()
        XCTAssertTrue(client.isClosed)
        let other = try broker.connect()
        XCTAssertEqual(other.rawSocketHandshake(serializer: 5), [0x7F, 0x10, 0, 0], "FlatBuffers is never served")
    }

    func testBadMagicClosesWithoutReply() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.send([0x16, 0x03, 0x01, 0x00])   // a TLS ClientHello on a plaintext port
        XCTAssertEqual(client.read(), [], "no RawSocket error code fits: the socket just closes")
        broker.run()
        XCTAssertTrue(client.isClosed)
    }

    func testReservedBitsInHelloGetErrorThree() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.send([0x7F, 0xF1, 0x00, 0x01])
        XCTAssertEqual(client.read(), [0x7F, 0x30, 0, 0])
        broker.run()
        XCTAssertTrue(client.isClosed)
    }

    func testHelloThroughTheConnectionGetsWelcome() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        let welcome = try XCTUnwrap(client.joinRealm())
        XCTAssertTrue(welcome.hasPrefix("[2,"), welcome)
        XCTAssertTrue(client.session.isEstablished)
    }

    func testFrameOverMaxMessageBytesIsAProtocolViolationNamingTheLimit() throws {
        var limits = LimitsConfig()
        limits.maxMessageBytes = 1024
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect()
        XCTAssertEqual(client.rawSocketHandshake(), [0x7F, 0x11, 0, 0], "1024 bytes = 2^(9+1)")
        client.send([0, 0, 0x07, 0xD0])   // a 2000-byte frame announced: refused from its prefix
        let messages = client.readMessages()
        XCTAssertEqual(messages.count, 1)
        XCTAssertTrue(messages[0].hasPrefix("[3,"), messages[0])
        XCTAssertTrue(messages[0].contains("RawSocket frame of 2000 bytes exceeds the limit of 1024 bytes"), messages[0])
        XCTAssertTrue(messages[0].hasSuffix(#""wamp.error.protocol_violation"]"#), messages[0])
        broker.run()
        XCTAssertTrue(client.isClosed)
        XCTAssertEqual(broker.metrics.protocolViolations.current, 1)
    }

    func testPingIsAnsweredWithPongEchoingThePayload() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.rawSocketHandshake()
        client.send(EmbeddedClient.frame(Array("are you there".utf8), type: 1))
        let frames = try XCTUnwrap(EmbeddedClient.frames(client.read()))
        XCTAssertEqual(frames.map(\.type), [2])
        XCTAssertEqual(frames.first?.text, "are you there")
    }

    func testPingLargerThanThePeerAcceptsGetsNoPong() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.rawSocketHandshake(lengthExponent: 0)   // the client accepts 512 bytes
        client.send(EmbeddedClient.frame(Array(repeating: 0x61, count: 600), type: 1))
        XCTAssertEqual(client.read(), [])
        XCTAssertEqual(broker.metrics.dropsOversize.current, 1)
        client.send(EmbeddedClient.frame(Array("small".utf8), type: 1))   // the connection still answers
        XCTAssertEqual(EmbeddedClient.frames(client.read())?.map(\.text), ["small"])
    }

    /// A reply larger than the client's announced limit is never sent: the session ends with a
    /// short ABORT naming both sizes.
    func testReplyLargerThanThePeerAcceptsAbortsTheSession() throws {
        let broker = try EmbeddedBroker(anonymousKeepsAuthid: true)   // the WELCOME echoes the long authid
        let client = try broker.connect()
        client.rawSocketHandshake(lengthExponent: 0)   // 512 bytes
        let longURI = "com." + String(repeating: "x", count: 600)
        client.sendFrame(#"[1,"realm1",{"roles":{"subscriber":{}},"authid":"\#(longURI)"}]"#)
        let messages = client.readMessages()
        XCTAssertEqual(messages.count, 1, "\(messages)")
        let abort = messages.first ?? ""
        XCTAssertTrue(abort.hasPrefix("[3,"), abort)
        XCTAssertTrue(abort.contains("bytes exceeds the limit of 512 bytes the client announced in its RawSocket hello"), abort)
        XCTAssertTrue(abort.hasSuffix(#""fastbroker.error.limit_exceeded"]"#), abort)
        broker.run()
        XCTAssertTrue(client.isClosed)
    }

    func testMalformedJSONIsAProtocolViolation() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect()
        client.rawSocketHandshake()
        client.sendFrame("[1,")
        let abort = client.readMessages().first ?? ""
        XCTAssertTrue(abort.contains("malformed JSON message"), abort)
        XCTAssertTrue(abort.hasSuffix(#""wamp.error.protocol_violation"]"#), abort)
    }
}
