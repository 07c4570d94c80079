// RemotePublication's per-format transcoding slot is lock-free: loops that ask for the other
// format at the same time may each transcode, but exactly one result is installed and every
// caller (winners and losers alike) reads that one. Run under TSan by the tsan stage.

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
}
