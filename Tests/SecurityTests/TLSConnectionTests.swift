// TLSConnection against a real OpenSSL client (a client-mode TLSConnection), entirely in memory:
// versions, data both ways, close_notify, client certificates, old versions and non-TLS input.

import COpenSSL
import TestSupport
import XCTest
@testable import BrokerSecurity

final class TLSConnectionTests: XCTestCase {
    private func makePipe(requireClientCertificate: Bool = false, clientCA: String? = nil,
                          clientCertificate: (String, String)? = nil,
                          minimumVersion: TLSProtocolVersion = .tls1_2, maximumVersion: TLSProtocolVersion? = nil,
                          readBufferSize: Int = 64 * 1024, deliveryChunk: Int = .max) throws -> TLSMemoryPipe {
        let certs = try TLSTestCertificates.shared()
        let serverContext = try TLSServerContext(certificatePath: certs.serverCertificate, keyPath: certs.serverKey,
                                                 caPath: requireClientCertificate ? certs.caCertificate : nil,
                                                 requireClientCertificate: requireClientCertificate)
        let clientContext = try TLSClientContext(caPath: clientCA ?? certs.caCertificate,
                                                 certificatePath: clientCertificate?.0, keyPath: clientCertificate?.1,
                                                 minimumVersion: minimumVersion, maximumVersion: maximumVersion)
        return TLSMemoryPipe(client: try TLSConnection(clientContext: clientContext, serverName: "localhost"),
                             server: try TLSConnection(context: serverContext),
                             readBufferSize: readBufferSize, deliveryChunk: deliveryChunk)
    }

    private func failureMessage(_ result: TLSReadResult?) -> String? {
        if case .failed(let error) = result { return error.message }
        return nil
    }

    // MARK: - Handshakes and data

    func testTLS13HandshakeAndDataBothWays() throws {
        let pipe = try makePipe()
        XCTAssertFalse(pipe.server.isHandshakeComplete)
        pipe.run()
        XCTAssertTrue(pipe.handshakeCompleted)
        XCTAssertNil(pipe.serverEnd); XCTAssertNil(pipe.clientEnd)
        XCTAssertEqual(pipe.server.negotiatedProtocol, "TLSv1.3")
        XCTAssertEqual(pipe.client.negotiatedProtocol, "TLSv1.3")
        XCTAssertNil(pipe.server.peerCertificateSubject, "no client certificate was requested")

        XCTAssertNil(pipe.client.write("[1,\"realm1\",{}]"))
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.serverReceived, as: UTF8.self), "[1,\"realm1\",{}]")
        XCTAssertNil(pipe.server.write("[2,1,{}]"))
        XCTAssertNil(pipe.server.write("[36,5,6,{}]"))
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.clientReceived, as: UTF8.self), "[2,1,{}][36,5,6,{}]")
    }

    func testTLS12HandshakeWhenTheClientStopsAt12() throws {
        let pipe = try makePipe(maximumVersion: .tls1_2)
        pipe.run()
        XCTAssertTrue(pipe.handshakeCompleted)
        XCTAssertEqual(pipe.server.negotiatedProtocol, "TLSv1.2")
        let cipher = try XCTUnwrap(pipe.server.negotiatedCipher)
        XCTAssertTrue(cipher.hasPrefix("ECDHE-") && (cipher.contains("GCM") || cipher.contains("CHACHA20")), cipher)
        XCTAssertNil(pipe.server.write("over 1.2"))
        XCTAssertNil(pipe.client.write("and back"))
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.clientReceived, as: UTF8.self), "over 1.2")
        XCTAssertEqual(String(decoding: pipe.serverReceived, as: UTF8.self), "and back")
    }

    func testOneMebibyteInPiecesBothWaysThroughASmallReadBuffer() throws {
        // A 1000-byte read buffer is smaller than a record: plaintext stays inside OpenSSL
        // between reads and must still all come out, in order.
        let pipe = try makePipe(readBufferSize: 1000)
        pipe.run()
        var generator = SplitMix64(seed: 42)
        let payload = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let pieceSizes = [1, 7, 100, 5000, 16383, 16384, 16385, 40000, 3]
        var offset = 0, piece = 0
        while offset < payload.count {
            let size = min(pieceSizes[piece % pieceSizes.count], payload.count - offset)
            XCTAssertNil(payload[offset..<offset + size].withUnsafeBytes { pipe.server.write(plaintext: $0) })
            XCTAssertNil(payload[offset..<offset + size].withUnsafeBytes { pipe.client.write(plaintext: $0) })
            offset += size
            piece += 1
            if piece % 5 == 0 { pipe.run() }   // interleave sending and receiving
        }
        pipe.run()
        XCTAssertEqual(pipe.clientReceived.count, payload.count)
        XCTAssertTrue(pipe.clientReceived == payload, "server → client bytes differ")
        XCTAssertTrue(pipe.serverReceived == payload, "client → server bytes differ")
        XCTAssertNil(pipe.serverEnd); XCTAssertNil(pipe.clientEnd)
    }

    func testHandshakeAndDataDripFedOneByteAtATime() throws {
        // Every record arrives split across reads, headers included: the state machine must
        // resume at any byte (and never spin on a partial record).
        for maximum in [TLSProtocolVersion.tls1_2, .tls1_3] {
            let pipe = try makePipe(maximumVersion: maximum, readBufferSize: 7, deliveryChunk: 1)
            pipe.run()
            XCTAssertTrue(pipe.handshakeCompleted, "\(maximum)")
            XCTAssertEqual(pipe.server.negotiatedProtocol, maximum.description)
            XCTAssertNil(pipe.client.write("drip-fed hello"))
            XCTAssertNil(pipe.server.write("drip-fed reply"))
            pipe.run()
            XCTAssertEqual(String(decoding: pipe.serverReceived, as: UTF8.self), "drip-fed hello")
            XCTAssertEqual(String(decoding: pipe.clientReceived, as: UTF8.self), "drip-fed reply")
        }
    }

    func testDataArrivingWithTheClientFinishedIsDelivered() throws {
        // TLS 1.3: the client may send its first message right behind its Finished, so one
        // readPlaintext completes the handshake and returns data.
        let pipe = try makePipe()
        pipe.step()   // ClientHello → server; server flight → client, which completes
        XCTAssertTrue(pipe.client.isHandshakeComplete)
        XCTAssertFalse(pipe.server.isHandshakeComplete)
        XCTAssertNil(pipe.client.write("HELLO right away"))
        pipe.step()
        XCTAssertTrue(pipe.server.isHandshakeComplete)
        XCTAssertEqual(String(decoding: pipe.serverReceived, as: UTF8.self), "HELLO right away")
    }

    func testKeyUpdateFromTheClientIsAnsweredAndDataStillFlows() throws {
        // A TLS 1.3 KeyUpdate that requests one back: OpenSSL queues the server's own KeyUpdate
        // and sends it ahead of the server's next data; both directions keep working.
        let pipe = try makePipe()
        pipe.run()
        XCTAssertEqual(SSL_key_update(pipe.client.ssl, SSL_KEY_UPDATE_REQUESTED), 1)
        XCTAssertNil(pipe.client.write("after key update"))
        var out: [UInt8] = []
        _ = pipe.client.takeCiphertext(into: &out)
        out.withUnsafeBytes { pipe.server.receive(ciphertext: $0) }
        var buffer = [UInt8](repeating: 0, count: 256)
        XCTAssertFalse(pipe.server.hasPendingCiphertext)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { pipe.server.readPlaintext(into: $0) }, .bytes(16))
        XCTAssertEqual(String(decoding: buffer.prefix(16), as: UTF8.self), "after key update")
        XCTAssertNil(pipe.server.write("new keys both ways"))
        out.removeAll()
        _ = pipe.server.takeCiphertext(into: &out)
        // Record = 5-byte header + body + content type + 16-byte tag. KeyUpdate body: 4-byte
        // handshake header + 1 byte; data: 18 bytes. Without the KeyUpdate it would be 40.
        XCTAssertEqual(out.count, (5 + 5 + 1 + 16) + (5 + 18 + 1 + 16), "a KeyUpdate record, then the data record")
        out.withUnsafeBytes { pipe.client.receive(ciphertext: $0) }
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.clientReceived, as: UTF8.self), "new keys both ways")
        XCTAssertNil(pipe.clientEnd); XCTAssertNil(pipe.serverEnd)
    }

    func testSmallWritesAreGatheredIntoOneRecord() throws {
        let pipe = try makePipe()
        pipe.run()
        for _ in 0..<100 { XCTAssertNil(pipe.server.write("0123456789")) }
        XCTAssertTrue(pipe.server.hasPendingCiphertext)
        var out: [UInt8] = []
        let n = pipe.server.takeCiphertext(into: &out)
        XCTAssertEqual(n, out.count)
        // One TLS 1.3 record: 5-byte header + 1000 bytes + content type + 16-byte tag = 1022.
        // One record per write would be 100 × 27 = 2700 bytes.
        XCTAssertEqual(n, 1022)
        XCTAssertEqual(out.first, 0x17, "application data record")
        XCTAssertFalse(pipe.server.hasPendingCiphertext)
        XCTAssertEqual(pipe.server.takeCiphertext(into: &out), 0)
    }

    func testTakeCiphertextAppendsAfterExistingBytes() throws {
        let pipe = try makePipe()
        pipe.run()
        XCTAssertNil(pipe.server.write("abc"))
        var out: [UInt8] = [9, 9, 9]
        let n = pipe.server.takeCiphertext(into: &out)
        XCTAssertEqual(out.count, 3 + n)
        XCTAssertEqual(Array(out.prefix(4)), [9, 9, 9, 0x17])
        out.removeFirst(3)
        out.withUnsafeBytes { pipe.client.receive(ciphertext: $0) }
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.clientReceived, as: UTF8.self), "abc")
    }

    func testWriteBeforeHandshakeIsRefused() throws {
        let pipe = try makePipe()
        let error = try XCTUnwrap(pipe.server.write("too early"))
        XCTAssertTrue(error.message.contains("before the TLS handshake"), error.message)
    }

    // MARK: - Closing

    func testCloseNotifyBothWays() throws {
        let pipe = try makePipe()
        pipe.run()
        XCTAssertNil(pipe.client.write("last words"))
        pipe.client.shutdown()
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.serverReceived, as: UTF8.self), "last words")
        XCTAssertEqual(pipe.serverEnd, .closed)
        XCTAssertEqual(pipe.server.readPlaintext(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)), .closed, "sticky")
        // The server may still answer, then says goodbye too.
        XCTAssertNil(pipe.server.write("bye"))
        pipe.server.shutdown()
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.clientReceived, as: UTF8.self), "bye")
        XCTAssertEqual(pipe.clientEnd, .closed)
        let error = try XCTUnwrap(pipe.server.write("after shutdown"))
        XCTAssertTrue(error.message.contains("after TLS shutdown"), error.message)
    }

    // MARK: - Client certificates

    func testClientCertificateRequiredButNonePresented() throws {
        let pipe = try makePipe(requireClientCertificate: true)
        pipe.run()
        let message = try XCTUnwrap(failureMessage(pipe.serverEnd), "server: \(String(describing: pipe.serverEnd))")
        XCTAssertTrue(message.hasPrefix("TLS handshake failed"), message)
        XCTAssertTrue(message.contains("certificate"), message)
        XCTAssertFalse(pipe.server.isHandshakeComplete)
        XCTAssertNotNil(failureMessage(pipe.clientEnd), "the client learns from the alert: \(String(describing: pipe.clientEnd))")
    }

    func testClientCertificateFromTheWrongCAIsRefused() throws {
        let certs = try TLSTestCertificates.shared()
        let pipe = try makePipe(requireClientCertificate: true, clientCertificate: (certs.strangerCertificate, certs.strangerKey))
        pipe.run()
        let message = try XCTUnwrap(failureMessage(pipe.serverEnd), "server: \(String(describing: pipe.serverEnd))")
        XCTAssertTrue(message.contains("certificate verify failed"), message)
        XCTAssertTrue(message.contains("unable to get local issuer certificate"), message)
        XCTAssertNil(pipe.server.peerCertificateSubject)
        XCTAssertNotNil(failureMessage(pipe.clientEnd))
    }

    func testClientCertificateFromTheRightCAIsAcceptedAndItsSubjectVisible() throws {
        let certs = try TLSTestCertificates.shared()
        let pipe = try makePipe(requireClientCertificate: true, clientCertificate: (certs.clientCertificate, certs.clientKey))
        pipe.run()
        XCTAssertTrue(pipe.handshakeCompleted, "server: \(String(describing: pipe.serverEnd))")
        let expected = try certs.subjectByOpenSSLCLI(certs.clientCertificate)
        XCTAssertEqual(pipe.server.peerCertificateSubject, expected)
        XCTAssertTrue(expected.contains("CN=alice"), expected)
        XCTAssertNil(pipe.client.write("authenticated"))
        pipe.run()
        XCTAssertEqual(String(decoding: pipe.serverReceived, as: UTF8.self), "authenticated")
    }

    func testClientThatDoesNotTrustTheServerCertificateFails() throws {
        let certs = try TLSTestCertificates.shared()
        let pipe = try makePipe(clientCA: certs.wrongCACertificate)
        pipe.run()
        let clientMessage = try XCTUnwrap(failureMessage(pipe.clientEnd))
        XCTAssertTrue(clientMessage.contains("certificate verify failed"), clientMessage)
        let serverMessage = try XCTUnwrap(failureMessage(pipe.serverEnd), "the client's alert fails the server")
        XCTAssertTrue(serverMessage.contains("unknown ca"), serverMessage)
    }

    // MARK: - Refusals

    func testTLS11OnlyClientIsRefused() throws {
        let pipe = try makePipe(minimumVersion: .tls1_1, maximumVersion: .tls1_1)
        pipe.run()
        XCTAssertFalse(pipe.client.isHandshakeComplete)
        let message = try XCTUnwrap(failureMessage(pipe.serverEnd), "server: \(String(describing: pipe.serverEnd))")
        XCTAssertTrue(message.contains("unsupported protocol"), message)
        XCTAssertEqual(pipe.serverSent.first, 0x15, "the only answer is an alert record")
        XCTAssertNotNil(failureMessage(pipe.clientEnd))
    }

    /// Feeds `bytes` to a fresh server connection; returns its failure and what it answered.
    private func serverFedWith(_ bytes: [UInt8]) throws -> (message: String, answer: [UInt8]) {
        let certs = try TLSTestCertificates.shared()
        let context = try TLSServerContext(certificatePath: certs.serverCertificate, keyPath: certs.serverKey, caPath: nil, requireClientCertificate: false)
        let server = try TLSConnection(context: context)
        bytes.withUnsafeBytes { server.receive(ciphertext: $0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let result = buffer.withUnsafeMutableBytes { server.readPlaintext(into: $0) }
        XCTAssertEqual(result, buffer.withUnsafeMutableBytes { server.readPlaintext(into: $0) }, "failure is sticky")
        var answer: [UInt8] = []
        _ = server.takeCiphertext(into: &answer)
        XCTAssertNotNil(server.write("x"), "no plaintext after a failed handshake")
        return (failureMessage(result) ?? "not failed: \(result)", answer)
    }

    func testRawSocketHelloOnTLSListenerFailsAtOnceAndIsNotAnswered() throws {
        // The 4-byte RawSocket hello is shorter than a TLS record header: without the early
        // check OpenSSL would wait for a fifth byte until the handshake timeout.
        let (message, answer) = try serverFedWith([0x7F, 0xF1, 0x00, 0x00])
        XCTAssertTrue(message.hasPrefix("TLS handshake failed: the peer sent a RawSocket handshake (7F F1 00 00)"), message)
        XCTAssertEqual(answer, [])
    }

    func testHTTPGetOnTLSListenerFails() throws {
        let (message, answer) = try serverFedWith(Array("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n".utf8))
        XCTAssertTrue(message.contains("plaintext HTTP (\"GET /ws HTTP/1.1…\")"), message)
        XCTAssertEqual(answer, [])
    }

    func testGarbageOnTLSListenerFails() throws {
        let (message, answer) = try serverFedWith([0x00, 0x01, 0x02, 0xFF, 0x41])
        XCTAssertTrue(message.contains("not a TLS record (first bytes: 00 01 02 FF 41)"), message)
        XCTAssertEqual(answer, [])
    }

    func testMalformedHandshakeRecordIsAnsweredOnlyWithAnAlert() throws {
        // Looks like a TLS handshake record, but the ClientHello inside is nonsense.
        let (message, answer) = try serverFedWith([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF])
        XCTAssertTrue(message.hasPrefix("TLS handshake failed: "), message)
        XCTAssertGreaterThan(message.count, "TLS handshake failed: ".count + 5, message)
        if !answer.isEmpty {
            XCTAssertEqual(answer[0], 0x15, "only an alert record may be sent: \(answer)")
            XCTAssertEqual(answer.count, 7, "one plaintext alert record")
        }
    }

    func testGarbageAfterTheHandshakeFailsTheConnection() throws {
        let pipe = try makePipe()
        pipe.run()
        let garbage: [UInt8] = [0x17, 0x03, 0x03, 0x00, 0x20] + [UInt8](repeating: 0xAB, count: 32)
        garbage.withUnsafeBytes { pipe.server.receive(ciphertext: $0) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let result = buffer.withUnsafeMutableBytes { pipe.server.readPlaintext(into: $0) }
        let message = try XCTUnwrap(failureMessage(result), "\(result)")
        XCTAssertTrue(message.hasPrefix("TLS record error"), message)
        XCTAssertTrue(message.contains("bad record mac") || message.contains("decryption failed"), message)
    }
}
