// Context creation errors: missing files, files that are not PEM, a key that belongs to another
// certificate, client_auth without a CA. Each must name the file and say what is wrong.

import Foundation
import XCTest
@testable import BrokerSecurity

final class TLSContextTests: XCTestCase {
    private func serverContextError(certificate: String, key: String, ca: String? = nil, clientAuth: Bool = false) -> TLSError? {
        do {
            _ = try TLSServerContext(certificatePath: certificate, keyPath: key, caPath: ca, requireClientCertificate: clientAuth)
            return nil
        } catch {
            return error
        }
    }

    func testValidFilesLoad() throws {
        let certs = try TLSTestCertificates.shared()
        XCTAssertNil(serverContextError(certificate: certs.serverCertificate, key: certs.serverKey))
        XCTAssertNil(serverContextError(certificate: certs.serverCertificate, key: certs.serverKey, ca: certs.caCertificate, clientAuth: true))
    }

    func testMissingCertificateFile() throws {
        let certs = try TLSTestCertificates.shared()
        let error = try XCTUnwrap(serverContextError(certificate: "/nonexistent/server.crt", key: certs.serverKey))
        XCTAssertEqual(error.message, "cannot load certificate /nonexistent/server.crt: No such file or directory")
    }

    func testMissingKeyFile() throws {
        let certs = try TLSTestCertificates.shared()
        let error = try XCTUnwrap(serverContextError(certificate: certs.serverCertificate, key: "/nonexistent/server.key"))
        XCTAssertEqual(error.message, "cannot load key /nonexistent/server.key: No such file or directory")
    }

    func testMissingCAFile() throws {
        let certs = try TLSTestCertificates.shared()
        let error = try XCTUnwrap(serverContextError(certificate: certs.serverCertificate, key: certs.serverKey, ca: "/nonexistent/ca.pem", clientAuth: true))
        XCTAssertEqual(error.message, "cannot load CA bundle /nonexistent/ca.pem: No such file or directory")
    }

    func testCertificateThatIsNotPEM() throws {
        let certs = try TLSTestCertificates.shared()
        let dir = try TemporaryDirectory()
        let bogus = try dir.write("server.crt", "this is not a certificate\n")
        let error = try XCTUnwrap(serverContextError(certificate: bogus, key: certs.serverKey))
        XCTAssertTrue(error.message.hasPrefix("cannot load certificate \(bogus): "), error.message)
        XCTAssertTrue(error.message.contains("no start line"), error.message)
    }

    func testKeyThatIsNotPEM() throws {
        let certs = try TLSTestCertificates.shared()
        let dir = try TemporaryDirectory()
        let bogus = try dir.write("server.key", "-----BEGIN PRIVATE KEY-----\nnot base64 !!\n-----END PRIVATE KEY-----\n")
        let error = try XCTUnwrap(serverContextError(certificate: certs.serverCertificate, key: bogus))
        XCTAssertTrue(error.message.hasPrefix("cannot load private key \(bogus): "), error.message)
    }

    func testKeyOfAnotherCertificateIsRefused() throws {
        let certs = try TLSTestCertificates.shared()
        let error = try XCTUnwrap(serverContextError(certificate: certs.serverCertificate, key: certs.clientKey))
        XCTAssertTrue(error.message.hasPrefix("cannot load private key \(certs.clientKey): ")
                      || error.message.hasPrefix("private key \(certs.clientKey) does not match certificate \(certs.serverCertificate)"),
                      error.message)
        XCTAssertTrue(error.message.contains("values mismatch") || error.message.contains("does not match"), error.message)
    }

    func testClientAuthWithoutCAIsRefused() throws {
        let certs = try TLSTestCertificates.shared()
        let error = try XCTUnwrap(serverContextError(certificate: certs.serverCertificate, key: certs.serverKey, clientAuth: true))
        XCTAssertTrue(error.message.contains("no CA bundle"), error.message)
    }

    func testClientCertificateWithoutKeyIsRefused() throws {
        let certs = try TLSTestCertificates.shared()
        XCTAssertThrowsError(try TLSClientContext(certificatePath: certs.clientCertificate)) { error in
            XCTAssertTrue("\(error)".contains("both a certificate and a key"), "\(error)")
        }
    }
}
