// Certificates for the TLS tests, made by the openssl CLI (an implementation independent of our
// code) once per test process in a temporary directory: a CA, an unrelated "wrong" CA, a server
// certificate for localhost/127.0.0.1, and client certificates signed by each CA. Shared by
// SecurityTests (TLSConnection) and FastBrokerTests (a TLS Connection over the in-memory transport).

import Foundation
import XCTest

public final class TLSTestCertificates: Sendable {
    public let directory: TemporaryDirectory
    public var caCertificate: String { directory.file("ca.crt") }
    public var wrongCACertificate: String { directory.file("wrong-ca.crt") }
    public var serverCertificate: String { directory.file("server.crt") }
    public var serverKey: String { directory.file("server.key") }
    public var clientCertificate: String { directory.file("client.crt") }
    public var clientKey: String { directory.file("client.key") }
    public var strangerCertificate: String { directory.file("stranger.crt") }
    public var strangerKey: String { directory.file("stranger.key") }

    private static let made: Result<TLSTestCertificates, any Error> = Result { try TLSTestCertificates() }

    /// The shared set; skips the test when the openssl CLI is missing.
    public static func shared() throws -> TLSTestCertificates {
        try made.get()
    }

    private init() throws {
        guard (try? Self.run(["openssl", "version"]))?.status == 0 else { throw XCTSkip("the openssl CLI is not available") }
        directory = try TemporaryDirectory()
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (name, subject) in [("ca", "/CN=FastBroker Test CA"), ("wrong-ca", "/CN=Somebody Else CA")] {
            try openssl(["req", "-x509"] + ec + ["-keyout", directory.file("\(name).key"), "-out", directory.file("\(name).crt"),
                         "-days", "2", "-subj", subject,
                         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        let serverExtensions = try directory.write("server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        let clientExtensions = try directory.write("client.ext", "extendedKeyUsage=clientAuth\n")
        try issue("server", subject: "/CN=localhost", ca: "ca", extensions: serverExtensions)
        try issue("client", subject: "/CN=alice/O=FastBroker Tests", ca: "ca", extensions: clientExtensions)
        try issue("stranger", subject: "/CN=mallory", ca: "wrong-ca", extensions: clientExtensions)
    }

    private func issue(_ name: String, subject: String, ca: String, extensions: String) throws {
        let csr = directory.file("\(name).csr")
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", directory.file("\(name).key"), "-out", csr, "-subj", subject])
        try openssl(["x509", "-req", "-in", csr, "-CA", directory.file("\(ca).crt"), "-CAkey", directory.file("\(ca).key"),
                     "-CAcreateserial", "-out", directory.file("\(name).crt"), "-days", "2", "-extfile", extensions])
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try Self.run(["openssl"] + arguments)
        guard result.status == 0 else { throw TLSFixtureError("openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
    }

    /// The certificate's subject as the openssl CLI prints it in RFC 2253 form.
    public func subjectByOpenSSLCLI(_ certificate: String) throws -> String {
        let result = try Self.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", certificate])
        guard result.status == 0, result.stdout.hasPrefix("subject=") else { throw TLSFixtureError("openssl x509 -subject: \(result.stderr)") }
        return String(result.stdout.dropFirst("subject=".count)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static func run(_ argv: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let output = Pipe(), errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

public struct TLSFixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
