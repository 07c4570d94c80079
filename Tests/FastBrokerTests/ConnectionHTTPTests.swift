// The HTTP side of a WebSocket listener without a socket (Connection+HTTP.swift): /metrics,
// 404/405/400/426 with bodies saying what was wrong, the upgrade and its subprotocol negotiation, and
// WebSocket framing rules once upgraded.

import BrokerConfig
import BrokerWire
@testable import FastBroker
import XCTest

final class ConnectionHTTPTests: XCTestCase {
    /// RFC 6455 §1.3's example key and its accept value.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func upgradeRequest(path: String = "/ws", protocols: String? = "wamp.2.json") -> String {
        "GET \(path) HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            + (protocols.map { "Sec-WebSocket-Protocol: \($0)\r\n" } ?? "") + "\r\n"
    }

    private func respond(to request: String, broker: EmbeddedBroker? = nil) throws -> (status: String, text: String, closed: Bool) {
        let broker = try broker ?? EmbeddedBroker()
        let client = try broker.connect(.websocket)
        client.send(request)
        let text = client.readText()
        broker.run()
        return (text.components(separatedBy: "\r\n").first ?? "", text, client.isClosed)
    }

    // MARK: - Plain HTTP

    func testMetricsAnswersGetAndHeadThenCloses() throws {
        for method in ["GET", "HEAD"] {
            let reply = try respond(to: "\(method) /metrics HTTP/1.1\r\nHost: broker\r\n\r\n")
            XCTAssertEqual(reply.status, "HTTP/1.1 200 OK")
            XCTAssertTrue(reply.text.contains("Content-Type: text/plain; version=0.0.4\r\n"), reply.text)
            XCTAssertTrue(reply.text.contains("fastbroker_"), reply.text)
            XCTAssertTrue(reply.closed)
        }
    }

    func testMetricsRefusesOtherMethods() throws {
        let reply = try respond(to: "POST /metrics HTTP/1.1\r\nHost: broker\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(reply.status, "HTTP/1.1 405 Method Not Allowed")
        XCTAssertTrue(reply.text.hasSuffix("\r\n\r\nuse GET\n"), reply.text)
        XCTAssertTrue(reply.closed)
    }

    func testMetricsOffMeansNotFound() throws {
        let reply = try respond(to: "GET /metrics HTTP/1.1\r\nHost: broker\r\n\r\n", broker: EmbeddedBroker(metrics: nil))
        XCTAssertEqual(reply.status, "HTTP/1.1 404 Not Found")
    }

    func testUnknownPathIsNotFoundNamingTheEndpoint() throws {
        let reply = try respond(to: Self.upgradeRequest(path: "/nope?x=1"))
        XCTAssertEqual(reply.status, "HTTP/1.1 404 Not Found")
        XCTAssertTrue(reply.text.hasSuffix("no WebSocket endpoint at /nope; WAMP is served at /ws\n"), reply.text)
        XCTAssertTrue(reply.closed)
    }

    func testMalformedRequestIsBadRequest() throws {
        let reply = try respond(to: "GARBAGE\r\n\r\n")
        XCTAssertEqual(reply.status, "HTTP/1.1 400 Bad Request")
        XCTAssertTrue(reply.closed)
    }

    func testUpgradeWithoutAKnownSubprotocolIsRefusedNamingBoth() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(.websocket, serializers: [.json])
        client.send(Self.upgradeRequest(protocols: "mqtt, wamp.2.xml"))
        let text = client.readText()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), text)
        XCTAssertTrue(text.hasSuffix("no supported WebSocket subprotocol offered (offered: mqtt, wamp.2.xml); supported: wamp.2.json\n"), text)
        broker.run()
        XCTAssertTrue(client.isClosed)
    }

    /// A refused upgrade gets the status its error names, with that error's headers: 405 and
    /// Allow for a method other than GET, 426 and the version for a request without Upgrade.
    func testRefusedUpgradeAnswersWithTheErrorsOwnStatusAndHeaders() throws {
        let post = try respond(to: "POST /ws HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(post.text, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: 43\r\nConnection: close\r\nAllow: GET\r\n\r\n"
            + "a WebSocket upgrade must use GET, not POST\n")
        XCTAssertTrue(post.closed)
        let plain = try respond(to: "GET /ws HTTP/1.1\r\nHost: broker\r\n\r\n")
        XCTAssertEqual(plain.text, "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: 71\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"
            + "this endpoint speaks WebSocket: the Upgrade header must be \"websocket\"\n")
        XCTAssertTrue(plain.closed)
    }

    // MARK: - Upgrade and WebSocket framing

    func testUpgradeChoosesTheFirstSupportedSubprotocolAndSpeaksIt() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(.websocket, serializers: [.json, .msgpack])
        client.send(Self.upgradeRequest(protocols: "wamp.2.cbor, wamp.2.msgpack, wamp.2.json"))
        let text = client.readText()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), text)
        XCTAssertTrue(text.contains("Sec-WebSocket-Accept: \(Self.accept)\r\n"), text)
        XCTAssertTrue(text.contains("Sec-WebSocket-Protocol: wamp.2.msgpack\r\n"), text)
        XCTAssertEqual(client.connection.format, .msgpack)
        XCTAssertTrue(client.connection.phase.isFramed)
    }

    func testHelloInATextFrameGetsWelcomeInATextFrame() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(.websocket)
        client.send(Self.upgradeRequest())
        XCTAssertTrue(client.readText().hasPrefix("HTTP/1.1 101 "))
        client.send(Self.maskedFrame(opcode: 1, #"[1,"realm1",{"roles":{"subscriber":{}}}]"#))
        let frames = try XCTUnwrap(Self.serverFrames(client.read()))
        XCTAssertEqual(frames.map(\.opcode), [1])
        XCTAssertTrue(frames.first?.text.hasPrefix("[2,") ?? false, "\(frames)")
        XCTAssertTrue(client.session.isEstablished)
    }

    func testBinaryFrameOnJSONIsAProtocolViolationThenClose() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(.websocket)
        client.send(Self.upgradeRequest())
        _ = client.read()
        client.send(Self.maskedFrame(opcode: 2, #"[1,"realm1",{}]"#))
        let frames = try XCTUnwrap(Self.serverFrames(client.read()))
        XCTAssertEqual(frames.map(\.opcode), [1, 8], "ABORT, then the close frame")
        XCTAssertTrue(frames[0].text.contains("wamp.2.json messages must be WebSocket text frames, got a binary frame"), frames[0].text)
        XCTAssertTrue(frames[0].text.hasSuffix(#""wamp.error.protocol_violation"]"#), frames[0].text)
        broker.run()
        XCTAssertTrue(client.isClosed)
    }

    /// The ABORT names the limit; the close frame that follows carries 1009 (message too big,
    /// RFC 6455 §7.4.1) and the decoder's reason, not the default 1000 of the session's close.
    func testMessageOverMaxMessageBytesAbortsThenClosesWith1009() throws {
        var limits = LimitsConfig()
        limits.maxMessageBytes = 1024
        let broker = try EmbeddedBroker(limits: limits)
        let client = try broker.connect(.websocket)
        client.send(Self.upgradeRequest())
        _ = client.read()
        client.send(Self.maskedFrame(opcode: 1, String(repeating: "x", count: 2000)))
        let reason = "WebSocket: message of at least 2000 bytes exceeds the limit of 1024 bytes"
        let abort = #"[3,{"message":"message too large: \#(reason)"},"wamp.error.protocol_violation"]"#
        let expected = [0x81, 126, 0, UInt8(abort.utf8.count)] + Array(abort.utf8)
            + [0x88, UInt8(2 + reason.utf8.count), 0x03, 0xF1] + Array(reason.utf8)
        XCTAssertEqual(client.read(), expected, "ABORT in a text frame, then a close frame with code 1009")
        broker.run()
        XCTAssertTrue(client.isClosed)
    }

    func testClientCloseFrameIsAnsweredAndEndsTheSession() throws {
        let broker = try EmbeddedBroker()
        let client = try broker.connect(.websocket)
        client.send(Self.upgradeRequest())
        _ = client.read()
        client.send(Self.maskedFrame(opcode: 1, #"[1,"realm1",{"roles":{"subscriber":{}}}]"#))
        _ = client.read()
        client.send(Self.maskedFrame(opcode: 8, bytes: [0x03, 0xE8]))
        let frames = try XCTUnwrap(Self.serverFrames(client.read()))
        XCTAssertEqual(frames.map(\.opcode), [8])
        XCTAssertEqual(frames.first?.payload.prefix(2), [0x03, 0xE8])
        broker.run()
        XCTAssertTrue(client.isClosed)
        guard case .ended(let reason) = client.connection.link else { return XCTFail("the session was not told") }
        XCTAssertEqual(reason, "websocket close 1000")
    }

    // MARK: - HTTPEndpoint alone

    func testEndpointDecisions() {
        let listener = ListenerConfig(transport: .websocket, host: "127.0.0.1", port: 0, path: "/wamp", serializers: [.json])
        func head(_ method: String, _ target: String, _ headers: [(String, String)] = []) -> HTTPRequestHead {
            HTTPRequestHead(method: method, target: target, version: "HTTP/1.1", headers: [("Host", "b")] + headers)
        }
        XCTAssertEqual(HTTPEndpoint.route(head("GET", "/stats?x"), listener: listener, metricsPath: "/stats"), .metrics)
        XCTAssertEqual(HTTPEndpoint.route(head("DELETE", "/stats"), listener: listener, metricsPath: "/stats"),
                       .refuse(status: 405, reason: "Method Not Allowed", body: "use GET\n"))
        XCTAssertEqual(HTTPEndpoint.route(head("GET", "/stats"), listener: listener, metricsPath: nil),
                       .refuse(status: 404, reason: "Not Found", body: "no WebSocket endpoint at /stats; WAMP is served at /wamp\n"))
        let upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", Self.key),
                       ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Protocol", "wamp.2.json")]
        XCTAssertEqual(HTTPEndpoint.route(head("GET", "/wamp", upgrade), listener: listener, metricsPath: "/stats"),
                       .upgrade(accept: Self.accept, subprotocol: "wamp.2.json"))
        // An upgrade on the metrics path is not a metrics request.
        XCTAssertEqual(HTTPEndpoint.route(head("GET", "/stats", upgrade), listener: listener, metricsPath: "/stats"),
                       .refuse(status: 404, reason: "Not Found", body: "no WebSocket endpoint at /stats; WAMP is served at /wamp\n"))
    }

    // MARK: - Client-side WebSocket framing

    /// A masked client frame (RFC 6455 §5.2), FIN set, payload under 64 KiB.
    static func maskedFrame(opcode: UInt8, _ text: String) -> [UInt8] { maskedFrame(opcode: opcode, bytes: Array(text.utf8)) }

    static func maskedFrame(opcode: UInt8, bytes: [UInt8]) -> [UInt8] {
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame: [UInt8] = [0x80 | opcode]
        if bytes.count < 126 {
            frame.append(0x80 | UInt8(bytes.count))
        } else {
            frame += [0x80 | 126, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)]
        }
        frame += mask
        frame += bytes.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    /// Splits unmasked server frames; nil on a partial frame.
    static func serverFrames(_ bytes: [UInt8]) -> [(opcode: UInt8, payload: [UInt8], text: String)]? {
        var frames: [(UInt8, [UInt8], String)] = []
        var i = 0
        while i < bytes.count {
            guard bytes.count - i >= 2 else { return nil }
            var length = Int(bytes[i + 1] & 0x7F), start = i + 2
            if length == 126 {
                guard bytes.count - i >= 4 else { return nil }
                length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]); start = i + 4
            } else if length == 127 {
                guard bytes.count - i >= 10 else { return nil }
                length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[i + $1]) }; start = i + 10
            }
            guard bytes.count - start >= length else { return nil }
            let payload = Array(bytes[start..<(start + length)])
            frames.append((bytes[i] & 0x0F, payload, String(decoding: payload, as: UTF8.self)))
            i = start + length
        }
        return frames
    }
}
