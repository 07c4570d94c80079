// A TLS listener's connection over the in-memory transport (Connection+TLS.swift): the handshake
// with a real OpenSSL client (a client-mode TLSConnection, certificates made by the openssl CLI)
// and WAMP through the records, with no socket.

import BrokerSecurity
@testable import FastBroker
import TestSupport
import XCTest

final class ConnectionTLSTests: XCTestCase {
    /// A broker whose client connects over TLS, and that client's TLS engine (handshake started).
    private func connectOverTLS() throws -> (EmbeddedBroker, EmbeddedClient, TLSConnection) {
        let certs = try TLSTestCertificates.shared()
        let serverContext = try TLSServerContext(certificatePath: certs.serverCertificate, keyPath: certs.serverKey,
                                                 caPath: nil, requireClientCertificate: false)
        let broker = try EmbeddedBroker()
        let client = try broker.connect(tls: serverContext)
        let engine = try TLSConnection(clientContext: TLSClientContext(caPath: certs.caCertificate), serverName: "localhost")
        XCTAssertNil(engine.startHandshake())
        return (broker, client, engine)
    }

    /// Moves ciphertext both ways (the client's records in, the broker's out, turning the loop)
    /// until neither side has more to send; returns the plaintext the client decrypted, and how
    /// its TLS ended if it did.
    private func exchange(_ engine: TLSConnection, _ client: EmbeddedClient) -> (plaintext: [UInt8], end: TLSReadResult?) {
        var plaintext: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        for _ in 0..<100 {
            var records: [UInt8] = []
            _ = engine.takeCiphertext(into: &records)
            if !records.isEmpty { client.send(records) }
            let answer = client.readAll()
            if records.isEmpty && answer.isEmpty { break }
            answer.withUnsafeBytes { engine.receive(ciphertext: $0) }
            while true {
                switch buffer.withUnsafeMutableBytes({ engine.readPlaintext(into: $0) }) {
                case .bytes(let n) where n > 0: plaintext += buffer[0..<n]; continue
                case .bytes: if engine.needsReadAgain { continue }
                case let end: return (plaintext, end)
                }
                break
            }
        }
        return (plaintext, nil)
    }

    private func sendPlaintext(_ bytes: [UInt8], _ engine: TLSConnection) {
        XCTAssertNil(bytes.withUnsafeBytes { engine.write(plaintext: $0) })
    }

    func testHandshakeCompletesOnBothSidesWithNoPlaintextYet() throws {
        let (_, client, engine) = try connectOverTLS()
        let result = exchange(engine, client)
        XCTAssertNil(result.end)
        XCTAssertEqual(result.plaintext, [], "the broker speaks only after the client's RawSocket hello")
        XCTAssertTrue(engine.isHandshakeComplete)
        let server = try XCTUnwrap(client.connection.tls).engine
        XCTAssertTrue(server.isHandshakeComplete)
        XCTAssertEqual(server.negotiatedProtocol, "TLSv1.3")
        XCTAssertFalse(client.isClosed)
    }

    /// The RawSocket hello and a HELLO go in as records; the hello reply and the WELCOME come
    /// back as records, exactly what a plain connection would send.
    func testRawSocketHelloAndWelcomeThroughTLS() throws {
        let (_, client, engine) = try connectOverTLS()
        _ = exchange(engine, client)
        sendPlaintext([0x7F, 0xF1, 0, 0], engine)
        XCTAssertEqual(exchange(engine, client).plaintext, [0x7F, 0xB1, 0, 0], "JSON; our limit: 1 MiB = 2^(9+11)")
        sendPlaintext(EmbeddedClient.frame(Array(#"[1,"realm1",{"roles":{"subscriber":{}}}]"#.utf8)), engine)
        let frames = try XCTUnwrap(EmbeddedClient.frames(exchange(engine, client).plaintext))
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.type, 0)
        XCTAssertTrue(frames.first?.text.hasPrefix(#"[2,\#(client.session.id),{"#) ?? false, "\(frames)")
        XCTAssertTrue(client.session.isEstablished)
    }

    /// A plain RawSocket hello where a ClientHello belongs fails the handshake: the connection
    /// closes, and the failure is counted and logged saying what the peer sent.
    func testRawSocketHelloInsteadOfAClientHelloClosesNamingIt() throws {
        let (broker, client, _) = try connectOverTLS()
        client.send([0x7F, 0xF1, 0, 0])
        XCTAssertTrue(broker.run(until: { client.isClosed }, timeout: 5))
        XCTAssertEqual(broker.metrics.tlsFailures.current, 1)
        let lines = broker.log.lines(containing: "TLS failed")
        XCTAssertEqual(lines.count, 1, "\(broker.log.lines)")
        XCTAssertTrue(lines.first?.contains("the peer sent a RawSocket handshake (7F F1 00 00) to a TLS listener, not a TLS ClientHello") ?? false,
                      "\(lines)")
    }
}
