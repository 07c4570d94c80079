// End-to-end check against the reference client: Autobahn|Python signs challenges this module
// produced (its derive_key + compute_wcs, exactly what a real client runs), and `verify` must
// accept them. Skipped only when python3 or autobahn is not installed.

import Foundation
import XCTest
@testable import BrokerSecurity

final class AutobahnInteropTests: XCTestCase {
    /// Reads the challenge on stdin, prints the Autobahn signature and the authid Python's json
    /// module decodes from the challenge.
    static let script = """
        import sys, json
        from autobahn.wamp.auth import derive_key, compute_wcs
        challenge = sys.stdin.buffer.read().decode('utf-8')
        if sys.argv[1] == 'salted':
            key = derive_key(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        else:
            key = sys.argv[2].encode('utf-8')
        obj = json.loads(challenge)
        assert sorted(obj) == sorted(['nonce', 'authprovider', 'authid', 'timestamp', 'authrole', 'authmethod', 'session']), obj
        sys.stdout.buffer.write(compute_wcs(key, challenge) + b'\\n')
        sys.stdout.buffer.write(json.dumps(obj['authid']).encode('ascii') + b'\\n')
        """

    func testAutobahnSignsSaltedChallengeFromAddUser() throws {
        try requireAutobahn()
        let dir = try TemporaryDirectory()
        let path = dir.file("users.json")
        let authid = "z\u{e4}hler \"one\""
        try UserDatabase.addUser(path: path, authid: authid, role: "user", password: "correct horse ü", iterations: 1000)
        let db = try UserDatabase(path: path)
        let user = try XCTUnwrap(db.lookup(authid))
        let c = WampCRA.makeChallenge(authid: authid, session: Crypto.randomID(), user: user, database: db)
        let salt = try XCTUnwrap(c.salt)

        let (signature, decodedAuthid) = try runAutobahn(
            challenge: c.challenge, arguments: ["salted", "correct horse ü", salt, String(c.iterations!), String(c.keyLength!)])
        XCTAssertTrue(WampCRA.verify(signature: signature, challenge: c), "Autobahn signature \(signature) refused")
        XCTAssertEqual(decodedAuthid, #""z\u00e4hler \"one\"""#)

        let (wrong, _) = try runAutobahn(
            challenge: c.challenge, arguments: ["salted", "correct horse", salt, String(c.iterations!), String(c.keyLength!)])
        XCTAssertFalse(WampCRA.verify(signature: wrong, challenge: c))
    }

    func testAutobahnSignsPlainChallenge() throws {
        try requireAutobahn()
        let dir = try TemporaryDirectory()
        let db = try UserDatabase(path: dir.write("users.json", #"[{"authid": "alice", "role": "user", "secret": "s3cr\u00e9t"}]"#))
        let c = WampCRA.makeChallenge(authid: "alice", session: 123_456, user: db.lookup("alice"), database: db)
        let (signature, _) = try runAutobahn(challenge: c.challenge, arguments: ["plain", "s3cr\u{e9}t"])
        XCTAssertTrue(WampCRA.verify(signature: signature, challenge: c))
    }

    func testAutobahnCannotPassADecoy() throws {
        try requireAutobahn()
        let dir = try TemporaryDirectory()
        let path = dir.file("users.json")
        try UserDatabase.addUser(path: path, authid: "carol", role: "user", password: "pw", iterations: 1000)
        let db = try UserDatabase(path: path)
        let c = WampCRA.makeChallenge(authid: "ghost", session: 1, user: nil, database: db)
        let (signature, _) = try runAutobahn(
            challenge: c.challenge, arguments: ["salted", "pw", try XCTUnwrap(c.salt), String(c.iterations!), String(c.keyLength!)])
        XCTAssertFalse(WampCRA.verify(signature: signature, challenge: c))
    }

    private func requireAutobahn() throws {
        let probe = try? run(["python3", "-c", "import autobahn.wamp.auth"], stdin: [])
        guard let probe, probe.status == 0 else { throw XCTSkip("python3 with autobahn is not available") }
    }

    private func runAutobahn(challenge: String, arguments: [String]) throws -> (signature: String, authid: String) {
        let result = try run(["python3", "-c", Self.script] + arguments, stdin: Array(challenge.utf8))
        XCTAssertEqual(result.status, 0, "python failed: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        guard lines.count == 2 else {
            XCTFail("unexpected python output: \(result.stdout) \(result.stderr)")
            return ("", "")
        }
        return (lines[0], lines[1])
    }

    private func run(_ argv: [String], stdin: [UInt8]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(stdin))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
