// Strict base64: RFC 4648 §10 vectors both ways, round trips of every length around a group, and
// rejection of everything that is not canonical padded standard base64.

import XCTest
import WireCodec

final class Base64Tests: XCTestCase {
    func testRFC4648Vectors() {
        let cases: [(String, String)] = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, text) in cases {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), text)
            XCTAssertEqual(Base64.decode(text), Array(plain.utf8), text)
        }
        // base64.b64encode(bytes([0, 255, 254, 1, 62 << 2, 63 << 2]))
        XCTAssertEqual(Base64.encode([0, 255, 254, 1, 248, 252]), "AP/+Afj8")
        XCTAssertEqual(Base64.decode("AP/+Afj8"), [0, 255, 254, 1, 248, 252])
    }

    func testRoundTripsEveryLengthAndByte() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 0..<70 {
            let bytes = (0..<length).map { _ -> UInt8 in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 33)
            }
            let text = Base64.encode(bytes)
            XCTAssertEqual(text.utf8.count, Base64.encodedCount(length))
            XCTAssertEqual(Base64.decode(text), bytes, "length \(length)")
        }
        let everyByte = (0...255).map { UInt8($0) }
        XCTAssertEqual(Base64.decode(Base64.encode(everyByte)), everyByte)
    }

    func testStrictDecodeRejectsMalformedAndNonCanonicalText() {
        let malformed = [
            "Zg", "Zg=", "Zm9vY", "Z===", "====", "Zg==Zg==", "Zm=v", "Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v",
            "Zm9-", "Zm9_", "Zm9*", "Zm9vÿ=", "\u{0}\u{0}\u{0}\u{0}", "Zm9vYg=A", "Zg==\u{0}",
            // Non-zero unused bits: decodes to the same bytes as "Zg==" / "Zm8=" but is not canonical.
            "Zh==", "Zm9=",
        ]
        for text in malformed {
            XCTAssertNil(Base64.decode(text), "accepted \(text.debugDescription)")
        }
    }

    func testDecodeCountsBytesHandedToTheSink() {
        var iterator = Array("Zm9vYmE=".utf8).makeIterator()
        var out: [UInt8] = []
        XCTAssertEqual(Base64.decode(&iterator) { out.append($0) }, 5)
        XCTAssertEqual(out, Array("fooba".utf8))
    }
}
