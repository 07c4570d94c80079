// Crypto primitives against vectors computed independently with Python's hashlib and hmac
// (the expression that produced each value is in the comment beside it).

import Foundation
import XCTest
@testable import BrokerSecurity

final class CryptoTests: XCTestCase {
    func testHMACSHA256MatchesPython() {
        // hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", hashlib.sha256).hexdigest()
        XCTAssertEqual(hex(Crypto.hmacSHA256(key: Array("key".utf8),
                                             message: Array("The quick brown fox jumps over the lazy dog".utf8))),
                       "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        // hmac.new(b"", b"", hashlib.sha256).hexdigest()
        XCTAssertEqual(hex(Crypto.hmacSHA256(key: [], message: [])),
                       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    func testPBKDF2MatchesPython() {
        // hashlib.pbkdf2_hmac('sha256', b'password', b'salt', 1, 32).hex()
        XCTAssertEqual(hex(Crypto.pbkdf2SHA256(password: Array("password".utf8), salt: Array("salt".utf8),
                                               iterations: 1, keyLength: 32)),
                       "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        // hashlib.pbkdf2_hmac('sha256', b'password', b'salt', 4096, 20).hex()
        XCTAssertEqual(hex(Crypto.pbkdf2SHA256(password: Array("password".utf8), salt: Array("salt".utf8),
                                               iterations: 4096, keyLength: 20)),
                       "c5e478d59288c841aa530db6845c4c8d962893a0")
        // hashlib.pbkdf2_hmac('sha256', b'', b'salt', 2, 16).hex()  (empty password must not crash)
        XCTAssertEqual(hex(Crypto.pbkdf2SHA256(password: [], salt: Array("salt".utf8), iterations: 2, keyLength: 16)),
                       "62384466264daadc4144018c6bd86464")
    }

    func testRandomBytesAreFreshAndSized() {
        XCTAssertEqual(Crypto.randomBytes(0), [])
        let a = Crypto.randomBytes(32)
        let b = Crypto.randomBytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
    }

    func testRandomIDRangeCoversTheWholeInterval() {
        let top: UInt64 = 1 << 53
        var sawUpperHalf = false
        var sawLowerHalf = false
        var ids = Set<UInt64>()
        for _ in 0..<2000 {
            let id = Crypto.randomID()
            XCTAssertGreaterThanOrEqual(id, 1)
            XCTAssertLessThanOrEqual(id, top)
            if id > top / 2 { sawUpperHalf = true } else { sawLowerHalf = true }
            ids.insert(id)
        }
        // Each half is missed with probability 2^-2000; a generator using fewer bits fails here.
        XCTAssertTrue(sawUpperHalf)
        XCTAssertTrue(sawLowerHalf)
        XCTAssertEqual(ids.count, 2000)
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(Crypto.constantTimeEqual([], []))
        XCTAssertTrue(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(Crypto.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertFalse(Crypto.constantTimeEqual([], [0]))
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
