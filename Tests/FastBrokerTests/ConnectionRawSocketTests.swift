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
        XCTAssertTrue(client.connection.session.isEstablished)
    }
}
