// The publication envelope: a round trip keeps every field and the payload bytes exactly; bytes
// that are not an envelope, or cut anywhere, are refused with the field named — never a crash.

import BrokerCluster
import XCTest

final class ClusterEnvelopeTests: XCTestCase {
    private let sample = ClusterPublication(
        originNode: "n1", originEpoch: 0xDEAD_BEEF_0000_0001, originSequence: 42, realm: "com.realm", topic: "com.app.tópico",
        publicationID: 9_007_199_254_740_993, publisherSession: 123_456, authid: "alice", authrole: "user", discloseMe: true,
        excludeMe: false, format: 1, options: [0x81, 0xA7] + Array("exclude".utf8) + [0x91, 0x05], args: [0x91, 0x01], kwargs: [0x81, 0xA1, 0x6B, 0x02])

    func testRoundTripKeepsEveryField() throws {
        let bytes = try ClusterEnvelope.encode(sample)
        let decoded = try bytes.withUnsafeBytes { buffer throws(ClusterEnvelope.EnvelopeError) in try ClusterEnvelope.decode(buffer) }
        XCTAssertEqual(decoded, sample)
        XCTAssertEqual(Array(bytes.suffix(6)), sample.args + sample.kwargs, "args and kwargs travel as the original bytes, last")
        var defaults = sample
        (defaults.discloseMe, defaults.excludeMe, defaults.kwargs) = (false, true, [])
        let again = try ClusterEnvelope.encode(defaults).withUnsafeBytes { buffer throws(ClusterEnvelope.EnvelopeError) in try ClusterEnvelope.decode(buffer) }
        XCTAssertEqual(again, defaults)
    }

    func testEveryTruncationIsRefused() throws {
        let bytes = try ClusterEnvelope.encode(sample)
        let payloadStart = bytes.count - sample.kwargs.count
        for cut in 0..<payloadStart {
            let result = Array(bytes[..<cut]).withUnsafeBytes { buffer in Result { () throws(ClusterEnvelope.EnvelopeError) in try ClusterEnvelope.decode(buffer) } }
            guard case .failure(let error) = result else { return XCTFail("a cut at \(cut) of \(payloadStart) header bytes decoded") }
            if cut >= 5, case .truncated = error {} else if cut < 5, error == .notAnEnvelope {} else {
                XCTFail("cut at \(cut): \(error)")
            }
        }
    }

    func testForeignBytesAndVersionsAreNamed() throws {
        func decode(_ bytes: [UInt8]) -> ClusterEnvelope.EnvelopeError? {
            bytes.withUnsafeBytes { buffer in
                do throws(ClusterEnvelope.EnvelopeError) { _ = try ClusterEnvelope.decode(buffer); return nil } catch { return error }
            }
        }
        XCTAssertEqual(decode(Array("hello world".utf8)), .notAnEnvelope)
        var bytes = try ClusterEnvelope.encode(sample)
        bytes[2] = 9
        XCTAssertEqual(decode(bytes), .unsupportedVersion(9))
        bytes = try ClusterEnvelope.encode(sample)
        let topicOffset = 5 + 48 + 2 + 2 + 2 + 9 + 2  // header, 6 integers, origin "n1", realm "com.realm", topic length
        bytes[topicOffset + 11] = 0xFF  // inside "tópico"
        XCTAssertEqual(decode(bytes), .invalidUTF8(field: "topic"))
    }

    /// The publisher thread reuses one buffer: appending after what is there (then clearing)
    /// gives the same bytes as a fresh encode, and a field past its length prefix is named.
    func testEncodingIntoAReusedBufferAndFieldLimits() throws {
        let fresh = try ClusterEnvelope.encode(sample)
        var buffer: [UInt8] = [7, 7]
        try ClusterEnvelope.encode(sample, into: &buffer)
        XCTAssertEqual(Array(buffer.dropFirst(2)), fresh)
        buffer.removeAll(keepingCapacity: true)
        try ClusterEnvelope.encode(sample, into: &buffer)
        XCTAssertEqual(buffer, fresh)
        var long = sample
        long.topic = String(repeating: "t", count: 65_535)
        XCTAssertNoThrow(try ClusterEnvelope.encode(long), "65,535 bytes fit a 2-byte length")
        long.topic += "t"
        XCTAssertThrowsError(try ClusterEnvelope.encode(long)) { XCTAssertEqual($0 as? ClusterEnvelope.EnvelopeError, .fieldTooLong(field: "topic")) }
        long.topic = "t"
        long.authrole = String(repeating: "r", count: 70_000)
        XCTAssertThrowsError(try ClusterEnvelope.encode(long)) { XCTAssertEqual($0 as? ClusterEnvelope.EnvelopeError, .fieldTooLong(field: "authrole")) }
    }
}
