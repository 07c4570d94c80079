// TopicKey (Core/TopicKey.swift): a key's hash is computed once when it is made and must be the
// same for borrowed, copied and owned keys of the same bytes and for a publication's carried
// `topicHash`, and must depend on every byte (the tail of a topic is read with one overlapping
// load, which must not drop or double any byte).

@testable import FastBroker
import XCTest

final class TopicKeyTests: XCTestCase {
    /// `count` ASCII letters (valid UTF-8, so an owned key of the same text has the same bytes).
    private func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(97 + ($0 * 7) % 26) }
    }

    func testEveryConstructionAgreesOnHashAndEquality() {
        for length in 0...40 {
            let text = String(decoding: bytes(length), as: UTF8.self)
            bytes(length).withUnsafeBytes { raw in
                let borrowed = TopicKey(borrowing: raw)
                let copied = TopicKey(copying: raw)
                let owned = TopicKey(owning: text)
                XCTAssertEqual(borrowed.hash, copied.hash, "length \(length)")
                XCTAssertEqual(borrowed.hash, owned.hash, "length \(length)")
                XCTAssertEqual(borrowed.hash, TopicHash.value(raw), "length \(length)")
                XCTAssertEqual(borrowed, copied)
                XCTAssertEqual(borrowed, owned)
                XCTAssertEqual(borrowed._rawHashValue(seed: 12345), copied._rawHashValue(seed: 12345))
                XCTAssertEqual(Set([borrowed, copied, owned]).count, 1)
            }
        }
    }

    /// Equality compares bytes by words with an overlapping last word (memcmp beyond 64 bytes):
    /// with the hash forced equal, a difference in any one byte, at every length, must still be
    /// seen, and equal bytes in different buffers must compare equal.
    func testEqualityComparesEveryByteAtEveryLength() {
        for length in 0...80 {
            let original = bytes(length)
            original.withUnsafeBytes { a in
                let copy = original
                copy.withUnsafeBytes { b in
                    XCTAssertEqual(TopicKey(borrowing: a, hash: 7), TopicKey(borrowing: b, hash: 7), "length \(length)")
                    XCTAssertNotEqual(TopicKey(borrowing: a, hash: 7), TopicKey(borrowing: b, hash: 8), "length \(length)")
                }
                for position in 0..<length {
                    var changed = original
                    changed[position] ^= 0x20
                    changed.withUnsafeBytes { b in
                        XCTAssertNotEqual(TopicKey(borrowing: a, hash: 7), TopicKey(borrowing: b, hash: 7),
                                          "length \(length), byte \(position)")
                    }
                }
                if length > 0 {
                    let shorter = Array(original.dropLast())
                    shorter.withUnsafeBytes { b in
                        XCTAssertNotEqual(TopicKey(borrowing: a, hash: 7), TopicKey(borrowing: b, hash: 7), "length \(length)")
                    }
                }
            }
        }
    }

    func testHashDependsOnEveryByteAndTheLength() {
        for length in 1...40 {
            let base = bytes(length)
            let baseHash = base.withUnsafeBytes { TopicHash.value($0) }
            var seen: Set<UInt64> = [baseHash]
            for position in 0..<length {
                var changed = base
                changed[position] ^= 0x01
                let hash = changed.withUnsafeBytes { TopicHash.value($0) }
                XCTAssertTrue(seen.insert(hash).inserted, "length \(length): flipping byte \(position) did not change the hash")
                changed.withUnsafeBytes { c in base.withUnsafeBytes { b in XCTAssertNotEqual(TopicKey(borrowing: c), TopicKey(borrowing: b)) } }
            }
            // A trailing zero byte is a different topic with a different hash.
            let longer = (base + [0]).withUnsafeBytes { TopicHash.value($0) }
            XCTAssertNotEqual(longer, baseHash, "length \(length)")
        }
    }

    func testPublicationCarriesItsTopicHashOrComputesIt() {
        bytes(23).withUnsafeBytes { topic in
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            var publication = Publication(id: 1, topic: topic, format: .json, args: empty, kwargs: empty,
                                          excludedSession: 0, disclosedPublisher: nil, rules: nil)
            XCTAssertEqual(publication.topicHash, 0, "copies and meta events do not compute it up front")
            XCTAssertEqual(publication.knownTopicHash, TopicHash.value(topic))
            publication.topicHash = TopicHash.value(topic, processSeed: TopicHash.processSeed)
            XCTAssertEqual(publication.knownTopicHash, TopicKey(copying: topic).hash)
        }
    }

    func testIndexAndPermissionCacheFindKeysMadeElsewhere() {
        final class Entry {}
        let index = TopicIndex<Entry>()
        let entry = Entry()
        index.insert(entry, pattern: "com.example.topic", policy: .exact)
        var cache = TopicPermissionCache()
        var topic = "com.example.topic"
        topic.withUTF8 { raw in
            let key = TopicKey(borrowing: UnsafeRawBufferPointer(raw))
            var found: [Entry] = []
            index.forEachMatch(key.bytes, hash: key.hash) { found.append($0) }
            XCTAssertEqual(found.count, 1)
            XCTAssertTrue(found.first === entry)
            cache.record(true, role: 0, topic: UnsafeRawBufferPointer(raw))
            XCTAssertEqual(cache.verdict(role: 0, topic: key.bytes, hash: key.hash), true)
            XCTAssertNil(cache.verdict(role: 1, topic: key.bytes, hash: key.hash))
        }
    }

    /// A 16-byte block whose second word equals the hash's public constant must not erase what
    /// was hashed before it: such topics, differing only in their first block, would otherwise
    /// collide in every process whatever its secret key (a hash-flooding recipe).
    func testNoBlockErasesTheBytesBeforeIt() {
        var eraser = [UInt8](repeating: 0x61, count: 8)
        withUnsafeBytes(of: UInt64(0x8ebc_6af0_9c88_c6e3).littleEndian) { eraser += $0 }
        let a = [UInt8](repeating: 0x61, count: 16) + eraser + Array("tail".utf8)
        let b = [UInt8](repeating: 0x62, count: 16) + eraser + Array("tail".utf8)
        let ha = a.withUnsafeBytes { TopicHash.value($0) }
        let hb = b.withUnsafeBytes { TopicHash.value($0) }
        XCTAssertNotEqual(ha, hb)
    }
}
