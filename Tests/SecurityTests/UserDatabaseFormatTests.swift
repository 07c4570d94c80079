// The userdb file format: what parses, and that every refusal names the file and JSON path.

import Foundation
import XCTest
@testable import BrokerSecurity

final class UserDatabaseFormatTests: XCTestCase {
    func testParsesBothForms() throws {
        let records = try UserDatabase.parse(Array("""
            [{"authid": "alice", "role": "user", "secret": "plain-secret"},
             {"authid": "bob", "role": "user", "salt": "salt123", "iterations": 1000, "keylen": 32,
              "derived_key": "64xfzBvZhGDT7PB0bQwDeI8/WR1M9x6Cw5dt0yP9koc="},
             {"derived_key": "prq7+YkJ1/KlW1X0YczMHw==", "keylen": 16, "iterations": 100, "salt": "s",
              "role": "r", "authid": "\\u00fcber \\ud83d\\ude00"}]
            """.utf8), fileName: "users.json")
        XCTAssertEqual(records, [
            UserRecord(authid: "alice", role: "user", credential: .plain(secret: "plain-secret")),
            UserRecord(authid: "bob", role: "user", credential: .salted(
                salt: "salt123", iterations: 1000, keyLength: 32, derivedKey: "64xfzBvZhGDT7PB0bQwDeI8/WR1M9x6Cw5dt0yP9koc=")),
            UserRecord(authid: "über 😀", role: "r", credential: .salted(
                salt: "s", iterations: 100, keyLength: 16, derivedKey: "prq7+YkJ1/KlW1X0YczMHw==")),
        ])
        XCTAssertEqual(try UserDatabase.parse(Array(" [ ] \n".utf8), fileName: "u"), [])
    }

    static let keyA = "1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d"
    static let keyB = "6ed32739ff04a6074044ff0b0e3bfc7c856bc9d5f1d25efc57363bda0af3a8b0"

    /// Each case: the document and the exact error text.
    func testErrorsNameFileAndJSONPath() {
        let salted = #""salt": "s", "iterations": 100, "keylen": 16, "derived_key": "prq7+YkJ1/KlW1X0YczMHw==""#
        let cases: [(String, String)] = [
            (#"{"authid": "a"}"#, "users.json: $: expected an array of user records, found an object"),
            (#"[1]"#, "users.json: $[0]: expected an object (a user record), found a number"),
            (#"[{"role": "r", "secret": "s"}]"#, #"users.json: $[0]: missing "authid""#),
            (#"[{"authid": "a", "secret": "s"}]"#, #"users.json: $[0]: missing "role""#),
            (#"[{"authid": "a", "role": "r"}]"#,
             #"users.json: $[0]: missing credential: "secret", or salt, iterations, keylen and derived_key (wampcra); "#
                + #""ticket"; or "cryptosign""#),
            (#"[{"authid": "a", "role": "r", "secret": "s"}, {"authid": 7, "role": "r", "secret": "s"}]"#,
             "users.json: $[1].authid: expected a non-empty string, found a number"),
            (#"[{"authid": "", "role": "r", "secret": "s"}]"#, "users.json: $[0].authid: expected a non-empty string"),
            (#"[{"authid": "a", "role": "r", "secret": "s", "sceret": "t"}]"#,
             "users.json: $[0].sceret: unknown key (a user record has authid, role, and credentials: secret, "
                + "or salt, iterations, keylen, derived_key (wampcra); ticket; cryptosign)"),
            (#"[{"authid": "a", "role": "r", "secret": "s", "odd key": 1}]"#,
             #"users.json: $[0]["odd key"]: unknown key (a user record has authid, role, and credentials: secret, "#
                + "or salt, iterations, keylen, derived_key (wampcra); ticket; cryptosign)"),
            // Ticket and cryptosign credentials.
            (#"[{"authid": "a", "role": "r", "ticket": "t0p-secret"}]"#,
             "users.json: $[0].ticket: expected an object {salt, iterations, keylen, derived_key} (never the ticket in clear), "
                + "found a string"),
            (#"[{"authid": "a", "role": "r", "ticket": {"salt": "s", "iterations": 100, "keylen": 16}}]"#,
             #"users.json: $[0].ticket: missing "derived_key" (a ticket needs salt, iterations, keylen and derived_key)"#),
            (#"[{"authid": "a", "role": "r", "ticket": {\#(salted), "ticket": "t"}}]"#,
             "users.json: $[0].ticket.ticket: unknown key (a ticket has salt, iterations, keylen, derived_key)"),
            (#"[{"authid": "a", "role": "r", "ticket": {"salt": "s", "iterations": 100, "keylen": 32, "derived_key": "prq7+YkJ1/KlW1X0YczMHw=="}}]"#,
             "users.json: $[0].ticket.derived_key: expected the base64 text of keylen (32) bytes"),
            (#"[{"authid": "a", "role": "r", "cryptosign": []}]"#,
             "users.json: $[0].cryptosign: expected a non-empty array of Ed25519 public keys (64 hex digits each)"),
            (#"[{"authid": "a", "role": "r", "cryptosign": "\#(Self.keyA)"}]"#,
             "users.json: $[0].cryptosign: expected a non-empty array of Ed25519 public keys (64 hex digits each)"),
            (#"[{"authid": "a", "role": "r", "cryptosign": ["\#(Self.keyA)", "\#(Self.keyA.dropLast())"]}]"#,
             "users.json: $[0].cryptosign[1]: expected an Ed25519 public key: 64 hex digits"),
            (#"[{"authid": "a", "role": "r", "cryptosign": ["\#(Self.keyA.dropLast())g"]}]"#,
             "users.json: $[0].cryptosign[0]: expected an Ed25519 public key: 64 hex digits"),
            (#"[{"authid": "a", "role": "r", "cryptosign": ["\#(Self.keyA)"]}, "#
                + #"{"authid": "b", "role": "r", "cryptosign": ["\#(Self.keyB)", "\#(Self.keyA.uppercased())"]}]"#,
             "users.json: $[1].cryptosign[1]: public key already held at $[0].cryptosign[0] (one key belongs to one user)"),
            (#"[{"authid": "a", "role": "r", "secret": "s", "salt": "x"}]"#,
             #"users.json: $[0].salt: a record has either "secret" or the salted fields, not both"#),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 100, "derived_key": "prq7+YkJ1/KlW1X0YczMHw=="}]"#,
             #"users.json: $[0]: missing "keylen" (a salted record needs salt, iterations, keylen and derived_key)"#),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 0, "keylen": 16, "derived_key": "x"}]"#,
             "users.json: $[0].iterations: expected a positive integer"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 1000.0, "keylen": 16, "derived_key": "x"}]"#,
             "users.json: $[0].iterations: expected a positive integer"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": "1000", "keylen": 16, "derived_key": "x"}]"#,
             "users.json: $[0].iterations: expected a positive integer"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": -5, "keylen": 16, "derived_key": "x"}]"#,
             "users.json: $[0].iterations: expected a positive integer"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 99999999999999999999999, "keylen": 16, "derived_key": "x"}]"#,
             "users.json: $[0].iterations: expected a positive integer"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 4294967296, "keylen": 16, "derived_key": "x"}]"#,
             "users.json: $[0].iterations: expected a positive integer at most 2147483647"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 10, "keylen": 4096, "derived_key": "x"}]"#,
             "users.json: $[0].keylen: expected a positive integer at most 1024"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 10, "keylen": 32, "derived_key": "prq7+YkJ1/KlW1X0YczMHw=="}]"#,
             "users.json: $[0].derived_key: expected the base64 text of keylen (32) bytes"),
            (#"[{"authid": "a", "role": "r", "salt": "s", "iterations": 10, "keylen": 16, "derived_key": "not base64!"}]"#,
             "users.json: $[0].derived_key: expected the base64 text of keylen (16) bytes"),
            (#"[{"authid": "a", "role": "r", "secret": "s"}, {"authid": "b", "role": "r", "secret": "s"}, "#
                + #"{"authid": "a", "role": "r2", \#(salted)}]"#,
             #"users.json: $[2].authid: duplicate authid "a" (first defined at $[0])"#),
            // Syntax errors: path of the enclosing value, then line and column.
            ("", "users.json: $: line 1, column 1: the document is empty"),
            ("[{\"authid\": \"a\",\n  \"role\" \"r\"}]", "users.json: $[0]: line 2, column 10: expected ':' after key \"role\", found '\"'"),
            (#"[{"authid": "a", "role": "r", "role": "s"}]"#, "users.json: $[0].role: line 1, column 31: duplicate key \"role\" (each key may appear once)"),
            (#"[{"authid": "a", "role": "r", "secret": "s"},]"#,
             "users.json: $: line 1, column 46: trailing comma before ']'"),
            (#"[{"authid": "a\u12"}]"#, "users.json: $[0].authid: line 1, column 19: \\u escape needs four hex digits, found '\"'"),
            (#"[{"authid": "a\ud800x"}]"#, "users.json: $[0].authid: line 1, column 21: unpaired surrogate \\uD800"),
            ("[{\"authid\": \"a\tb\"}]", "users.json: $[0].authid: line 1, column 15: control character \\x09 inside a string (escape it)"),
            (#"[] []"#, "users.json: $: line 1, column 4: unexpected '[' after the end of the document"),
            (#"[{"authid": 01}]"#, "users.json: $[0].authid: line 1, column 14: numbers must not have leading zeros"),
            (#"[{"authid": tru}]"#, "users.json: $[0].authid: line 1, column 13: expected a value, found 't'"),
            (#"[{"authid": "a"#, "users.json: $[0].authid: line 1, column 15: unterminated string"),
            (String(repeating: "[", count: 100), "users.json: $[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
                + "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
                + "[0][0][0][0][0][0][0][0][0]: line 1, column 65: nesting deeper than 64 levels"),
        ]
        for (document, expected) in cases {
            XCTAssertThrowsError(try UserDatabase.parse(Array(document.utf8), fileName: "users.json"), document) { error in
                XCTAssertEqual((error as? UserDatabaseError)?.description, expected, document)
            }
        }
    }

    func testInvalidUTF8IsRefused() {
        let bytes: [UInt8] = Array(#"[{"authid": ""#.utf8) + [0xFF, 0xFE] + Array(#"", "role": "r", "secret": "s"}]"#.utf8)
        XCTAssertThrowsError(try UserDatabase.parse(bytes, fileName: "u.json")) { error in
            XCTAssertEqual("\(error)", "u.json: $[0].authid: line 1, column 14: string is not valid UTF-8")
        }
    }

    func testRandomBytesNeverCrashTheParser() {
        // Bad input must end in a value or an error, never a trap or a hang.
        let alphabet = Array(#"[]{}",:\u0123456789aeflnrstu -.eE"#.utf8) + [0x00, 0x0A, 0xFF, 0xC3]
        for _ in 0..<3000 {
            let n = Int(Crypto.randomBytes(1)[0]) % 40
            let bytes = Crypto.randomBytes(n).map { alphabet[Int($0) % alphabet.count] }
            _ = try? UserDatabase.parse(bytes, fileName: "fuzz")
        }
    }

    func testRenderRoundTripsThroughParse() throws {
        let records = [
            UserRecord(authid: "quote\"back\\slash\nnewline", role: "user", credential: .plain(secret: "s\u{1}é")),
            UserRecord(authid: "bob", role: "admin", credential: .salted(
                salt: "salt123", iterations: 100, keyLength: 16, derivedKey: "prq7+YkJ1/KlW1X0YczMHw==")),
            UserRecord(authid: "tom", role: "device",
                       ticket: TicketCredential(salt: "c2FsdA==", iterations: 9, keyLength: 4, derivedKey: [1, 2, 3, 255]),
                       cryptosignKeys: [Hex.decode(Self.keyA)!, Hex.decode(Self.keyB)!]),
        ]
        let text = UserDatabase.render(records)
        XCTAssertEqual(try UserDatabase.parse(text, fileName: "r"), records)
        // Python's json module reads it too.
        let decoded = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text)) as? [[String: Any]])
        XCTAssertEqual(decoded.count, 3)
        XCTAssertEqual(decoded[2]["cryptosign"] as? [String], [Self.keyA, Self.keyB])
        XCTAssertEqual(decoded[0]["authid"] as? String, records[0].authid)
        XCTAssertEqual(UserDatabase.render([]), Array("[]\n".utf8))
    }
}
