// The batch container (ClusterBatch): a round trip keeps every envelope and its order; a batch of
// one is the bare envelope; the byte cap refuses what would overflow; every framing lie (zero
// count, count or length past the end, trailing bytes, short header) is refused before any
// envelope is handed over — never a crash, never a partial prefix.

import BrokerCluster
import XCTest

final class ClusterBatchTests: XCTestCase {
    private func publication(_ id: UInt64, topic: String = "com.app.t", args: [UInt8] = [0x91, 0x01]) -> ClusterPublication {
        ClusterPublication(
            originNode: "n1", originEpoch: 7, originSequence: id, realm: "realm1", topic: topic, publicationID: id,
            publisherSession: 3, authid: "alice", authrole: "user", discloseMe: false, format: 0, options: [], args: args, kwargs: [])
    }

    /// The message `writer` would publish, and the envelopes `forEachEnvelope` hands out of it.
    private func message(of publications: [ClusterPublication]) throws -> [UInt8] {
        var writer = ClusterBatch.Writer()
        for p in publications {
            XCTAssertTrue(writer.accepts(subject: "s", size: ClusterEnvelope.encodedSize(p)))
            try writer.append(p, subject: "s")
        }
        XCTAssertEqual(writer.count, publications.count)
        return writer.take { Array($0) }
    }

    private func unpack(_ bytes: [UInt8]) -> (envelopes: [[UInt8]], error: ClusterBatch.BatchError?) {
        var envelopes: [[UInt8]] = []
        let error = bytes.withUnsafeBytes { buffer -> ClusterBatch.BatchError? in
            do throws(ClusterBatch.BatchError) {
                try ClusterBatch.forEachEnvelope(buffer) { envelopes.append(Array($0)) }
                return nil
            } catch { return error }
        }
        return (envelopes, error)
    }

    private func decode(_ bytes: [UInt8]) throws -> ClusterPublication {
        try bytes.withUnsafeBytes { buffer throws(ClusterEnvelope.EnvelopeError) in try ClusterEnvelope.decode(buffer) }
    }

    func testRoundTripKeepsEveryEnvelopeInOrder() throws {
        let sent = (1...5).map { publication($0, args: Array(repeating: UInt8($0), count: Int($0) * 10)) }
        let bytes = try message(of: sent)
        XCTAssertEqual(Array(bytes[..<7]), [0x46, 0x42, 0x81, 5, 0, 0, 0], "magic, batch marker, count 5")
        let (envelopes, error) = unpack(bytes)
        XCTAssertNil(error)
        XCTAssertEqual(try envelopes.map(decode), sent)
        XCTAssertEqual(bytes.count, 7 + sent.reduce(0) { $0 + 4 + ClusterEnvelope.encodedSize($1) }, "encodedSize is exact")
    }

    func testABatchOfOneIsTheBareEnvelope() throws {
        let single = publication(9)
        let bytes = try message(of: [single])
        XCTAssertEqual(bytes, try ClusterEnvelope.encode(single), "readable by nodes that know no batches")
        XCTAssertEqual(unpack(bytes).envelopes, [bytes])
    }

    func testTheWriterIsReusableAndUnchangedByAFailedAppend() throws {
        var writer = ClusterBatch.Writer()
        try writer.append(publication(1), subject: "s")
        var tooLong = publication(2)
        tooLong.topic = String(repeating: "t", count: 70_000)
        XCTAssertThrowsError(try writer.append(tooLong, subject: "s")) {
            XCTAssertEqual($0 as? ClusterEnvelope.EnvelopeError, .fieldTooLong(field: "topic"))
        }
        try writer.append(publication(3), subject: "s")
        let first = writer.take { Array($0) }
        XCTAssertEqual(try unpack(first).envelopes.map(decode).map(\.publicationID), [1, 3])
        XCTAssertEqual(writer.count, 0)
        XCTAssertNil(writer.subject)
        try writer.append(publication(4), subject: "s2")
        XCTAssertEqual(try decode(writer.take { Array($0) }).publicationID, 4, "a fresh message after take")
    }

    func testByteCapAndSubjectSplitMessages() throws {
        var writer = ClusterBatch.Writer()
        let big = publication(1, args: Array(repeating: 0xAB, count: 30_000))
        let size = ClusterEnvelope.encodedSize(big)
        XCTAssertTrue(writer.accepts(subject: "s", size: size))
        try writer.append(big, subject: "s")
        XCTAssertTrue(writer.accepts(subject: "s", size: size), "two fit under 64 KiB")
        try writer.append(big, subject: "s")
        XCTAssertFalse(writer.accepts(subject: "s", size: size), "a third would pass the cap")
        XCTAssertTrue(writer.accepts(subject: "s", size: 100), "a small one still fits")
        XCTAssertFalse(writer.accepts(subject: "other", size: 100), "one subject per message")
        XCTAssertLessThanOrEqual(writer.take { $0.count }, ClusterBatch.maxBytes)
        let huge = publication(2, args: Array(repeating: 1, count: ClusterBatch.maxBytes * 2))
        XCTAssertTrue(writer.accepts(subject: "s", size: ClusterEnvelope.encodedSize(huge)), "an empty writer takes one over the cap: it goes alone")
    }

    func testEveryFramingLieIsRefusedBeforeAnyEnvelopeIsHandedOver() throws {
        let good = try message(of: [publication(1), publication(2), publication(3)])
        func withCount(_ count: UInt32) -> [UInt8] { Array(good[..<3]) + withUnsafeBytes(of: count.littleEndian, Array.init) + good[7...] }
        let firstLength = Int(good[7]) | Int(good[8]) << 8
        let cases: [(String, [UInt8], ClusterBatch.BatchError)] = [
            ("zero count", Array(good[..<3]) + [0, 0, 0, 0], .empty),
            ("zero count with entries", withCount(0), .empty),
            ("header cut", Array(good[..<5]), .truncated(entry: 0)),
            ("count larger than the entries", withCount(4), .truncated(entry: 3)),
            ("count far too large", withCount(.max), .truncated(entry: 3)),
            ("count smaller: trailing entries", withCount(2), .trailingBytes(good.count - (7 + 2 * 4) - 2 * firstLength)),
            ("trailing bytes", good + [0], .trailingBytes(1)),
            ("last envelope cut", Array(good.dropLast()), .truncated(entry: 2)),
            ("length cut", Array(good[..<9]), .truncated(entry: 0)),
            ("length past the end", Array(good[..<7]) + [0xFF, 0xFF, 0xFF, 0x7F] + good[11...], .truncated(entry: 0)),
        ]
        for (what, bytes, expected) in cases {
            let (envelopes, error) = unpack(bytes)
            XCTAssertEqual(error, expected, what)
            XCTAssertTrue(envelopes.isEmpty, "\(what): nothing handed over")
        }
    }

    func testAnEnvelopeInsideABatchIsCheckedOnItsOwn() throws {
        // A batch nested in a batch, or garbage, is framed soundly but is no envelope: handed over
        // as is, and the envelope decoder refuses it (no recursion).
        let inner = try message(of: [publication(1), publication(2)])
        let outer = [0x46, 0x42, 0x81, 2, 0, 0, 0] + withUnsafeBytes(of: UInt32(inner.count).littleEndian, Array.init) + inner
            + [3, 0, 0, 0, 0x01, 0x02, 0x03]
        let (envelopes, error) = unpack(outer)
        XCTAssertNil(error)
        XCTAssertEqual(envelopes, [inner, [1, 2, 3]])
        XCTAssertThrowsError(try decode(envelopes[0])) { XCTAssertEqual($0 as? ClusterEnvelope.EnvelopeError, .unsupportedVersion(0x81)) }
        XCTAssertThrowsError(try decode(envelopes[1])) { XCTAssertEqual($0 as? ClusterEnvelope.EnvelopeError, .notAnEnvelope) }
    }

    func testShortOrForeignMessagesAreHandedOverWhole() {
        for bytes: [UInt8] in [[], [0x46], [0x46, 0x42], [0x46, 0x42, 2], [1, 2, 3, 4, 5, 6, 7, 8]] {
            XCTAssertEqual(unpack(bytes).envelopes, [bytes], "not a batch: the envelope decoder judges \(bytes)")
        }
    }
}
