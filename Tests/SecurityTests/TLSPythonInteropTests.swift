// TLSConnection against an independent client: Python's `ssl` module over a real loopback TCP
// socket. The test accepts the connection and pumps bytes between the socket and the
// TLSConnection, the way the broker's connection does with libuv. Skipped without python3.

import Foundation
import Glibc
import XCTest
@testable import BrokerSecurity

final class TLSPythonInteropTests: XCTestCase {
    /// argv: port cafile maxversion [certfile keyfile]. Prints the negotiated version, the
    /// server's reply, then "unwrapped" once the close_notify exchange completed.
    static let script = """
        import socket, ssl, sys
        port, cafile, maxversion = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        ctx = ssl.create_default_context(cafile=cafile)
        if maxversion == '1.2':
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if len(sys.argv) > 5:
            ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        with socket.create_connection(('127.0.0.1', port), timeout=10) as raw:
            s = ctx.wrap_socket(raw, server_hostname='localhost')
            print(s.version(), flush=True)
            s.sendall(b'ping from python ' + b'x' * 100000 + b'\\n')
            data = b''
            while not data.endswith(b'\\n'):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            print(data.decode().strip()[:60], len(data), flush=True)
            s.unwrap()
            print('unwrapped', flush=True)
        """

    func testPythonClientTLS13() throws {
        let outcome = try runPythonSession(maxVersion: "1.3", clientAuth: false)
        XCTAssertEqual(outcome.pythonLines.first, "TLSv1.3")
        XCTAssertEqual(outcome.serverProtocol, "TLSv1.3")
    }

    func testPythonClientTLS12() throws {
        let outcome = try runPythonSession(maxVersion: "1.2", clientAuth: false)
        XCTAssertEqual(outcome.pythonLines.first, "TLSv1.2")
        XCTAssertEqual(outcome.serverProtocol, "TLSv1.2")
    }

    func testPythonClientWithClientCertificate() throws {
        let certs = try TLSTestCertificates.shared()
        let outcome = try runPythonSession(maxVersion: "1.3", clientAuth: true)
        XCTAssertEqual(outcome.peerSubject, try certs.subjectByOpenSSLCLI(certs.clientCertificate))
    }

    private struct Outcome {
        var pythonLines: [String] = []
        var serverProtocol: String?
        var peerSubject: String?
    }

    private func runPythonSession(maxVersion: String, clientAuth: Bool) throws -> Outcome {
        guard (try? TLSTestCertificates.run(["python3", "-c", "import ssl"]))?.status == 0 else {
            throw XCTSkip("python3 with ssl is not available")
        }
        let certs = try TLSTestCertificates.shared()
        let context = try TLSServerContext(certificatePath: certs.serverCertificate, keyPath: certs.serverKey,
                                           caPath: clientAuth ? certs.caCertificate : nil, requireClientCertificate: clientAuth)
        let (listener, port) = try listenOnLoopback()
        defer { close(listener) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", "-c", Self.script, String(port), certs.caCertificate, maxVersion]
        if clientAuth { arguments += [certs.clientCertificate, certs.clientKey] }
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var pollListener = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&pollListener, 1, 10_000) == 1 else { throw TLSFixtureError("python did not connect within 10 s") }
        let socket = accept(listener, nil, nil)
        guard socket >= 0 else { throw TLSFixtureError("accept failed: \(String(cString: strerror(errno)))") }
        defer { close(socket) }

        let tls = try TLSConnection(context: context)
        var outcome = Outcome()
        var received: [UInt8] = []
        var replied = false
        var peerClosed = false
        var socketBuffer = [UInt8](repeating: 0, count: 16 * 1024)
        var plaintext = [UInt8](repeating: 0, count: 4096)   // small: plaintext waits inside OpenSSL
        var outgoing: [UInt8] = []
        let deadline = Date().addingTimeInterval(20)
        pumping: while Date() < deadline {
            var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) == 1 {
                let n = socketBuffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break pumping }   // python closed its socket
                socketBuffer.withUnsafeBytes { tls.receive(ciphertext: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            reading: while true {
                switch plaintext.withUnsafeMutableBytes({ tls.readPlaintext(into: $0) }) {
                case .bytes(let n):
                    received.append(contentsOf: plaintext[0..<n])
                    if !tls.needsReadAgain { break reading }
                case .closed:
                    peerClosed = true
                    tls.shutdown()
                    break reading
                case .failed(let error):
                    XCTFail("server side failed: \(error)")
                    break pumping
                }
            }
            if tls.isHandshakeComplete && outcome.serverProtocol == nil {
                outcome.serverProtocol = tls.negotiatedProtocol
                outcome.peerSubject = tls.peerCertificateSubject
            }
            if !replied, received.last == UInt8(ascii: "\n") {
                replied = true
                // Echo back in 1000-byte frames, as a connection would write many small frames.
                var offset = 0
                while offset < received.count {
                    let end = min(offset + 1000, received.count)
                    XCTAssertNil(received[offset..<end].withUnsafeBytes { tls.write(plaintext: $0) })
                    offset = end
                }
            }
            outgoing.removeAll(keepingCapacity: true)
            if tls.takeCiphertext(into: &outgoing) > 0 {
                try sendAll(socket, outgoing)
            }
            if peerClosed && !tls.hasPendingCiphertext { break }
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "python: \(String(decoding: err, as: UTF8.self))")
        outcome.pythonLines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(received.count, 17 + 100_000 + 1)
        XCTAssertTrue(received.starts(with: Array("ping from python xxx".utf8)))
        XCTAssertEqual(outcome.pythonLines.count, 3, "\(outcome.pythonLines)")
        if outcome.pythonLines.count == 3 {
            XCTAssertEqual(outcome.pythonLines[1], "ping from python " + String(repeating: "x", count: 43) + " \(received.count)")
            XCTAssertEqual(outcome.pythonLines[2], "unwrapped")
        }
        XCTAssertTrue(peerClosed, "python's close_notify reached the server")
        return outcome
    }

    private func listenOnLoopback() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TLSFixtureError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard ok else { close(fd); throw TLSFixtureError("bind/listen failed: \(String(cString: strerror(errno)))") }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TLSFixtureError("send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }
}
