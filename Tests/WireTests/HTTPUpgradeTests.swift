// HTTP request heads and the WebSocket opening handshake (RFC 6455 §4.2): parsing in every split,
// limits and malformed lines, the upgrade checks one by one, subprotocol lists, and the responses.

import XCTest
@testable import BrokerWire

/// An HTTP head event, comparable; headers flattened to name/value pairs.
enum HTTPOutput: Equatable {
    case head(method: String, target: String, version: String, headers: [[String]])
    case failure(String)

    init?(_ event: HTTPHeadEvent) {
        switch event {
        case .needMore: return nil
        case .head(let h): self = .head(method: h.method, target: h.target, version: h.version, headers: h.headers.map { [$0.name, $0.value] })
        case .failure(let m): self = .failure(m)
        }
    }
}

final class HTTPUpgradeTests: XCTestCase {
    /// Shaped like the request Autobahn|Python sends (it writes "Upgrade: WebSocket").
    static let upgradeRequest = """
        GET /ws?x=1 HTTP/1.1\r
        User-Agent: AutobahnPython/26.10.2\r
        Host: 127.0.0.1:8080\r
        Upgrade: WebSocket\r
        Connection: Upgrade\r
        Pragma: no-cache\r
        Cache-Control: no-cache\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Sec-WebSocket-Protocol: wamp.2.json, wamp.2.msgpack\r
        Sec-WebSocket-Version: 13\r
        \r

        """

    private func verifier(maxHeadBytes: Int = 16384) -> DecoderVerifier<HTTPOutput> {
        DecoderVerifier(
            makeStep: {
                var parser = HTTPRequestParser(maxHeadBytes: maxHeadBytes)
                return { ring in HTTPOutput(parser.next(ring)) }
            },
            isTerminal: { if case .failure = $0 { return true } else { return false } })
    }

    private func parseAll(_ text: String, maxHeadBytes: Int = 16384) -> [HTTPOutput] {
        let bytes = Array(text.utf8)
        return verifier(maxHeadBytes: maxHeadBytes).decode(bytes, ring: RingBuffer(capacity: 1 << 16), chunkSizes: [bytes.count])
    }

    private func head(_ text: String) -> HTTPRequestHead? {
        var parser = HTTPRequestParser()
        let ring = RingBuffer(capacity: 1 << 16)
        let bytes = Array(text.utf8)
        let region = ring.writableRegion()
        for (i, b) in bytes.enumerated() { region[i] = b }
        ring.didWrite(bytes.count)
        if case .head(let h) = parser.next(ring) { return h }
        return nil
    }

    private func failureMessage(_ outputs: [HTTPOutput]) -> String? {
        if case .failure(let m)? = outputs.last { return m }
        return nil
    }

    func testHeadsSplitAcrossReadsParseIdentically() {
        // Two pipelined requests: the parser resets after each head.
        let second = "GET /metrics HTTP/1.1\nHost: x\n\n"   // bare LF line ends are accepted
        let stream = Array((HTTPUpgradeTests.upgradeRequest + second).utf8)
        let expected: [HTTPOutput] = [
            .head(method: "GET", target: "/ws?x=1", version: "HTTP/1.1", headers: [
                ["User-Agent", "AutobahnPython/26.10.2"], ["Host", "127.0.0.1:8080"], ["Upgrade", "WebSocket"],
                ["Connection", "Upgrade"], ["Pragma", "no-cache"], ["Cache-Control", "no-cache"],
                ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="], ["Sec-WebSocket-Protocol", "wamp.2.json, wamp.2.msgpack"],
                ["Sec-WebSocket-Version", "13"],
            ]),
            .head(method: "GET", target: "/metrics", version: "HTTP/1.1", headers: [["Host", "x"]]),
        ]
        verifier().verify(stream, expected: expected, seamRingCapacity: 64, randomRuns: 20)
    }

    func testHeadConsumesExactlyItsBytes() {
        var parser = HTTPRequestParser()
        let ring = RingBuffer(capacity: 1024)
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8) + [0x81, 0x80]
        let region = ring.writableRegion()
        for (i, b) in bytes.enumerated() { region[i] = b }
        ring.didWrite(bytes.count)
        guard case .head = parser.next(ring) else { return XCTFail("expected the head") }
        XCTAssertEqual(ring.readableBytes, 2, "the first WebSocket bytes stay in the ring")
        XCTAssertEqual(ring.byte(at: 0), 0x81)
    }

    func testHeaderLookupIsCaseInsensitiveAndJoinsRepeats() throws {
        let h = try XCTUnwrap(head("GET / HTTP/1.1\r\nX-A: 1\r\nx-a:2 \r\nHOST:\t h \r\n\r\n"))
        XCTAssertEqual(h.header("x-A"), "1, 2")
        XCTAssertEqual(h.header("host"), "h")
        XCTAssertNil(h.header("missing"))
    }

    func testLeadingEmptyLinesAreIgnored() {
        XCTAssertEqual(parseAll("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), [.head(method: "GET", target: "/", version: "HTTP/1.1", headers: [])])
    }

    func testMalformedHeads() {
        let cases: [(String, String)] = [
            ("GET /\r\n\r\n", "bad request line"),
            ("GET  / HTTP/1.1\r\n\r\n", "bad request line"),
            ("G(T / HTTP/1.1\r\n\r\n", "method is not a token"),
            ("GET / HTTP/1.1x\r\n\r\n", "version is not HTTP/x.y"),
            ("GET / FTP/1.1\r\n\r\n", "version is not HTTP/x.y"),
            ("GET /\u{7F} HTTP/1.1\r\n\r\n", "target is empty or has control characters"),
            ("GET / HTTP/1.1\r\nHost a\r\n\r\n", "bad header on line 2 (no colon)"),
            ("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", "bad header on line 3 (empty name)"),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "name is not a token"),
            ("GET / HTTP/1.1\r\nHost: a\r\n continued\r\n\r\n", "obsolete line folding"),
            ("GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n", "control character in value"),
        ]
        for (text, expected) in cases {
            let message = failureMessage(parseAll(text))
            XCTAssertTrue(message?.contains(expected) == true, "\(text.debugDescription): got \(message ?? "no failure")")
        }
        XCTAssertTrue(failureMessage(parseAll("GET /\u{01} HTTP/1.1\r\n\r\n"))?.contains("\\x01") == true,
                      "control bytes are escaped in messages")
    }

    func testHeadOverTheLimitFailsWithoutATerminator() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 300)
        XCTAssertEqual(failureMessage(parseAll(big, maxHeadBytes: 256)), "HTTP: request head exceeds 256 bytes")
        let many = "GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 60) + "\r\n"
        XCTAssertEqual(failureMessage(parseAll(many, maxHeadBytes: 256)), "HTTP: request head exceeds 256 bytes")
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\n\r\n", maxHeadBytes: 18).count, 1, "exactly at the limit is fine")
        XCTAssertNotNil(failureMessage(parseAll("GET / HTTP/1.1\r\n\r\n", maxHeadBytes: 17)))
    }

    func testLongLineGrowsTheRing() {
        let text = "GET /" + String(repeating: "p", count: 500) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        let ring = RingBuffer(capacity: 64)
        let got = verifier().decode(Array(text.utf8), ring: ring, chunkSizes: [64])
        XCTAssertEqual(got.count, 1)
        if case .head(_, let target, _, _)? = got.first { XCTAssertEqual(target.count, 501) } else { XCTFail("\(got)") }
    }

    // MARK: WebSocket handshake

    func testAcceptValueMatchesRFC6455AndPython() {
        // RFC 6455 §1.3 example; the same values from Python:
        //   base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        XCTAssertEqual(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertEqual(WebSocketHandshake.acceptValue(forKey: "AQIDBAUGBwgJCgsMDQ4PEA=="), "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=")
        XCTAssertEqual(WebSocketHandshake.acceptValue(forKey: "x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
    }

    func testValidUpgrade() throws {
        let h = try XCTUnwrap(head(HTTPUpgradeTests.upgradeRequest))
        let request = try WebSocketHandshake.parseUpgrade(h).get()
        XCTAssertEqual(request, WebSocketUpgradeRequest(key: "dGhlIHNhbXBsZSBub25jZQ==",
                                                        subprotocols: ["wamp.2.json", "wamp.2.msgpack"], path: "/ws", query: "x=1"))
    }

    func testSubprotocolListParsing() throws {
        func subprotocols(_ headers: String) throws -> [String] {
            let text = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n" + headers + "\r\n"
            return try WebSocketHandshake.parseUpgrade(XCTUnwrap(head(text))).get().subprotocols
        }
        XCTAssertEqual(try subprotocols(""), [])
        XCTAssertEqual(try subprotocols("Sec-WebSocket-Protocol: wamp.2.json, wamp.2.msgpack\r\n"), ["wamp.2.json", "wamp.2.msgpack"])
        XCTAssertEqual(try subprotocols("Sec-WebSocket-Protocol: wamp.2.cbor,wamp.2.json\r\n"), ["wamp.2.cbor", "wamp.2.json"])
        XCTAssertEqual(try subprotocols("Sec-WebSocket-Protocol: wamp.2.json\r\nSec-WebSocket-Protocol: wamp.2.msgpack.batched\r\n"),
                       ["wamp.2.json", "wamp.2.msgpack.batched"], "repeated headers form one list")
        XCTAssertEqual(try subprotocols("Sec-WebSocket-Protocol: , wamp.2.json ,,\r\n"), ["wamp.2.json"])
    }

    func testEachUpgradeRequirement() {
        let valid: [(String, String)] = [
            ("Host", "h"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
        func check(method: String = "GET", version: String = "HTTP/1.1", replacing name: String? = nil, with value: String? = nil,
                   status: Int, mentioning: String, line: UInt = #line) {
            var headers = valid
            if let name {
                headers.removeAll { $0.0 == name }
                if let value { headers.append((name, value)) }
            }
            let h = HTTPRequestHead(method: method, target: "/ws", version: version, headers: headers.map { (name: $0.0, value: $0.1) })
            switch WebSocketHandshake.parseUpgrade(h) {
            case .success: XCTFail("accepted", line: line)
            case .failure(let error):
                XCTAssertEqual(error.status, status, "\(error)", line: line)
                XCTAssertTrue(error.message.contains(mentioning), "\(error.message)", line: line)
                let response = String(decoding: error.response(), as: UTF8.self)
                XCTAssertTrue(response.hasPrefix("HTTP/1.1 \(status) "), response, line: line)
                XCTAssertTrue(response.contains("Connection: close\r\n"), response, line: line)
            }
        }
        check(method: "POST", status: 405, mentioning: "GET")
        check(version: "HTTP/1.0", status: 400, mentioning: "HTTP/1.1")
        check(replacing: "Host", status: 400, mentioning: "Host")
        check(replacing: "Upgrade", status: 426, mentioning: "Upgrade")
        check(replacing: "Upgrade", with: "h2c", status: 426, mentioning: "Upgrade")
        check(replacing: "Connection", status: 400, mentioning: "Connection")
        check(replacing: "Connection", with: "keep-alive", status: 400, mentioning: "Connection")
        check(replacing: "Connection", with: "upgraded", status: 400, mentioning: "Connection")
        check(replacing: "Sec-WebSocket-Version", status: 426, mentioning: "(missing)")
        check(replacing: "Sec-WebSocket-Version", with: "8", status: 426, mentioning: "Sec-WebSocket-Version 8")
        check(replacing: "Sec-WebSocket-Key", status: 400, mentioning: "missing Sec-WebSocket-Key")
        check(replacing: "Sec-WebSocket-Key", with: "dGhlIHNhbXBsZQ==", status: 400, mentioning: "16 bytes")
        check(replacing: "Sec-WebSocket-Key", with: "not base64 at all!!!!!!!", status: 400, mentioning: "16 bytes")
        // Version errors advertise the supported version, per RFC 6455 §4.4.
        let h = HTTPRequestHead(method: "GET", target: "/", version: "HTTP/1.1",
                                headers: valid.filter { $0.0 != "Sec-WebSocket-Version" }.map { (name: $0.0, value: $0.1) })
        if case .failure(let error) = WebSocketHandshake.parseUpgrade(h) {
            XCTAssertTrue(String(decoding: error.response(), as: UTF8.self).contains("Sec-WebSocket-Version: 13\r\n"))
        } else {
            XCTFail("accepted without a version")
        }
    }

    func testAbsoluteFormTarget() throws {
        let text = "GET http://example.com:8080/ws/a?b HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n"
        let request = try WebSocketHandshake.parseUpgrade(XCTUnwrap(head(text))).get()
        XCTAssertEqual(request.path, "/ws/a")
        XCTAssertEqual(request.query, "b")
    }

    func testResponses() {
        XCTAssertEqual(String(decoding: WebSocketHandshake.switchingProtocols(accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", subprotocol: "wamp.2.json"), as: UTF8.self),
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n")
        XCTAssertFalse(String(decoding: WebSocketHandshake.switchingProtocols(accept: "a", subprotocol: ""), as: UTF8.self)
                       .contains("Sec-WebSocket-Protocol"))
        XCTAssertEqual(String(decoding: HTTPResponse.make(status: 404, reason: "Not Found", contentType: "text/plain",
                                                          body: Array("no".utf8), extraHeaders: [("X-A", "1")]), as: UTF8.self),
                       "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\nX-A: 1\r\n\r\nno")
    }
}
