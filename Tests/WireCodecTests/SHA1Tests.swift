// SHA-1 against FIPS 180 / RFC 3174 vectors and Python's hashlib (the expression is beside each),
// including RFC 6455's Sec-WebSocket-Accept example, and padding edges (55, 56, 64 bytes).

import XCTest
import WireCodec

final class SHA1Tests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    func testKnownVectors() {
        // hashlib.sha1(m).hexdigest()
        let cases: [([UInt8], String)] = [
            ([], "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (Array("abc".utf8), "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
            ([UInt8](repeating: UInt8(ascii: "x"), count: 55), "cef734ba81a024479e09eb5a75b6ddae62e6abf1"),
            ([UInt8](repeating: UInt8(ascii: "x"), count: 56), "901305367c259952f4e7af8323f480d59f81335b"),
            ([UInt8](repeating: UInt8(ascii: "x"), count: 64), "bb2fa3ee7afb9f54c6dfb5d021f14b1ffe40c163"),
            // bytes(range(256)) * 3
            (Array(repeating: (0...255).map { UInt8($0) }, count: 3).flatMap { $0 }, "ac2a264c8ec1f4232a40854e8239bc3a697ab1d2"),
        ]
        for (message, digest) in cases {
            XCTAssertEqual(hex(SHA1.digest(message)), digest, "length \(message.count)")
        }
    }

    func testMillionAs() {
        // FIPS 180 long-message vector: hashlib.sha1(b"a" * 1000000).hexdigest()
        XCTAssertEqual(hex(SHA1.digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    func testWebSocketAcceptExampleOfRFC6455() {
        // RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
        let digest = SHA1.digest(Array("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".utf8))
        XCTAssertEqual(Base64.encode(digest), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
