// RemotePublication's per-format transcoding slot is lock-free: loops that ask for the other
// format at the same time may each transcode, but exactly one result is installed and every
// caller (winners and losers alike) reads that one. Run under TSan by the tsan stage. Also: the
// copy's one allocation (header, slots, bytes in the tail) gives back every byte and field as
// published, and counts exactly topic + args + kwargs (what a cross-loop backlog charges).

@testable import BrokerConfig
@testable import BrokerSerialization
@testable import FastBroker
import Foundation
import XCTest

final class RemotePublicationTests: XCTestCase {
    func testConcurrentTranscodingInstallsOneCopyEveryThreadReads() throws {
        let realm = try Realm(config: RealmConfig(name: "realm1", roles: []), loopCount: 1)
        var topic = "com.remote", args = #"[1,"two",{"three":3.5}]"#, kwargs = #"{"k":[true,null]}"#
        var expected: [UInt8] = []
        let remote = topic.withUTF8 { t in args.withUTF8 { a in kwargs.withUTF8 { k in
            XCTAssertTrue(PayloadTranscoder.transcode(UnsafeRawBufferPointer(a), from: .json, to: .msgpack, into: &expected))
            return RemotePublication.make(realm: realm, Publication(
                id: 7, topic: UnsafeRawBufferPointer(t), format: .json, args: UnsafeRawBufferPointer(a),
                kwargs: UnsafeRawBufferPointer(k), excludedSession: 0, disclosedPublisher: nil, rules: nil))
        } } }
        let threads = 8
        // NSLock (a pthread mutex on Linux) rather than Mutex: TSan sees its ordering.
        let lock = NSLock()
        nonisolated(unsafe) var results: [(base: UInt, args: [UInt8])] = []
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let payload = remote.payload(in: .msgpack)
            let entry = (UInt(bitPattern: payload.args.baseAddress), Array(payload.args))
            lock.withLock { results.append(entry) }
        }
        XCTAssertEqual(results.count, threads)
        XCTAssertEqual(Set(results.map(\.base)).count, 1, "every caller must read the one installed transcoding")
        for result in results { XCTAssertEqual(result.args, expected) }
        // The original format is the original bytes, not a transcoding.
        XCTAssertEqual(String(decoding: remote.payload(in: .json).args, as: UTF8.self), #"[1,"two",{"three":3.5}]"#)
    }

    func testTailStoredCopyKeepsEveryByteAndFieldAndCountsExactlyItsBytes() throws {
        let realm = try Realm(config: RealmConfig(name: "realm1", roles: []), loopCount: 1)
        var rules = EligibilityRules()
        rules.eligible = SortedSessionIDs([5, 9])
        let publisher = PublisherInfo(session: 3, authid: "alice", authrole: "writer")
        // Lengths that are not multiples of the tail's 8-byte words, and an empty publication.
        let cases: [(topic: String, args: String, kwargs: String)] = [
            ("com.tail.odd", #"[1,"abc"]"#, #"{"k":"seventeen chars"}"#),
            ("t", "", ""),
            ("", "", ""),
        ]
        for (index, parts) in cases.enumerated() {
            var topic = parts.topic, args = parts.args, kwargs = parts.kwargs
            let (remote, withTranscoding) = topic.withUTF8 { t in args.withUTF8 { a in kwargs.withUTF8 { k in
                let publication = Publication(
                    id: UInt64(100 + index), topic: UnsafeRawBufferPointer(t), format: .json, args: UnsafeRawBufferPointer(a),
                    kwargs: UnsafeRawBufferPointer(k), excludedSession: 42, disclosedPublisher: publisher, rules: rules)
                let transcoded = a.isEmpty ? nil : TranscodedPayload(publication.payload, from: .json, to: .msgpack)
                return (RemotePublication.make(realm: realm, publication),
                        RemotePublication.make(realm: realm, publication, transcoded: transcoded))
            } } }
            for copy in [remote, withTranscoding] {
                XCTAssertEqual(copy.byteCount, parts.topic.utf8.count + parts.args.utf8.count + parts.kwargs.utf8.count)
                XCTAssertEqual(copy.id, UInt64(100 + index))
                XCTAssertTrue(copy.realm === realm)
                let publication = copy.publication
                XCTAssertEqual(String(decoding: publication.topic, as: UTF8.self), parts.topic)
                XCTAssertEqual(String(decoding: publication.args, as: UTF8.self), parts.args)
                XCTAssertEqual(String(decoding: publication.kwargs, as: UTF8.self), parts.kwargs)
                XCTAssertEqual(String(decoding: copy.payload(in: .json).kwargs, as: UTF8.self), parts.kwargs)
                XCTAssertEqual(publication.excludedSession, 42)
                XCTAssertEqual(publication.disclosedPublisher?.authid, "alice")
                XCTAssertEqual(publication.rules?.admits(session: 9, authid: "x", authrole: "y"), true)
                XCTAssertEqual(publication.rules?.admits(session: 7, authid: "x", authrole: "y"), false)
            }
            XCTAssertTrue(remote === remote)
            XCTAssertFalse(remote === withTranscoding, "two copies are two allocations")
            if !parts.args.isEmpty {
                var expected: [UInt8] = []
                XCTAssertTrue(PayloadTranscoder.transcode(UnsafeRawBufferPointer(withTranscoding.payload(in: .json).args),
                                                          from: .json, to: .msgpack, into: &expected))
                XCTAssertEqual(Array(withTranscoding.payload(in: .msgpack).args), expected, "the handed-in transcoding fills its slot")
                XCTAssertEqual(Array(remote.payload(in: .msgpack).args), expected, "made on demand when none was handed in")
            }
        }
    }
}
