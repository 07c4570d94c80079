// The EVENT bytes WampEncoder writes, byte for byte: the in-place path for EVENTs without details
// (small or large), the general path (details, through the pool's scratch array), the cached
// subscription digits (DecimalID), and a pooled buffer reused after a write.

import BrokerSerialization
@testable import FastBroker
import XCTest

final class EventEncodingTests: XCTestCase {
    private let pool = MessageBufferPool()

    /// EVENT for a publication of `topic` with `args`/`kwargs` (raw JSON, "" for none), as text.
    private func event(subscription: UInt64 = 7, id: UInt64 = 9_007_199_254_740_992, topic: String = "com.t",
                       args: String = "", kwargs: String = "", includeTopic: Bool = false,
                       cached: Bool = true) -> String {
        var topicBytes = Array(topic.utf8), argBytes = Array(args.utf8), kwargBytes = Array(kwargs.utf8)
        return topicBytes.withUnsafeMutableBytes { t in argBytes.withUnsafeMutableBytes { a in kwargBytes.withUnsafeMutableBytes { k in
            let publication = Publication(id: id, topic: UnsafeRawBufferPointer(t), format: .json,
                                          args: UnsafeRawBufferPointer(a), kwargs: UnsafeRawBufferPointer(k),
                                          excludedSession: 0, disclosedPublisher: nil, rules: nil)
            let message = cached
                ? WampEncoder.event(subscription: DecimalID(subscription), publication: publication, payload: publication.payload,
                                    includeTopic: includeTopic, format: .json, pool: pool)
                : WampEncoder.event(subscription: subscription, publication: publication, payload: publication.payload,
                                    includeTopic: includeTopic, format: .json, pool: pool)
            defer { message.recycleIfUnused() }
            return String(decoding: message.bytes, as: UTF8.self)
        } } }
    }

    func testSmallEventsWithoutDetailsAreExact() {
        XCTAssertEqual(event(args: #"["v"]"#, kwargs: #"{"k":1}"#), #"[36,7,9007199254740992,{},["v"],{"k":1}]"#)
        XCTAssertEqual(event(args: #"[1]"#), #"[36,7,9007199254740992,{},[1]]"#)
        XCTAssertEqual(event(kwargs: #"{"k":1}"#), #"[36,7,9007199254740992,{},[],{"k":1}]"#, "kwargs alone: an empty args list before them")
        XCTAssertEqual(event(), #"[36,7,9007199254740992,{}]"#, "no payload: details close the EVENT")
        XCTAssertEqual(event(id: 1), #"[36,7,1,{}]"#)
    }

    func testEventsPastTheScratchOrWithDetailsTakeTheGeneralPath() {
        let big = "[\"" + String(repeating: "x", count: 300) + "\"]"
        XCTAssertEqual(event(args: big, kwargs: #"{"k":1}"#), #"[36,7,9007199254740992,{},"# + big + #",{"k":1}]"#)
        // Around the edge of the stack scratch (64 for the head + args + 4 ≤ 256: args ≤ 188 bytes).
        for size in [183, 184, 185] {
            let args = "[\"" + String(repeating: "y", count: size) + "\"]"
            XCTAssertEqual(event(args: args), #"[36,7,9007199254740992,{},"# + args + "]", "args of \(size + 4) bytes")
        }
        XCTAssertEqual(event(args: #"["v"]"#, includeTopic: true), #"[36,7,9007199254740992,{"topic":"com.t"},["v"]]"#)
        XCTAssertEqual(event(includeTopic: true), #"[36,7,9007199254740992,{"topic":"com.t"}]"#)
    }

    func testCachedSubscriptionDigitsMatchTheNumber() {
        for value: UInt64 in [1, 9, 10, 99, 100, 12_345, 9_007_199_254_740_992, UInt64.max] {
            XCTAssertEqual(event(subscription: value, args: "[1]"), "[36,\(value),9007199254740992,{},[1]]")
            XCTAssertEqual(event(subscription: value, args: "[1]", cached: false), event(subscription: value, args: "[1]"),
                           "the id as a number and as cached digits encode the same")
        }
    }

    func testAReusedBufferHoldsOnlyTheNewEvent() {
        let first = pool.take()
        first.append(contentsOf: Array(repeating: UInt8(ascii: "z"), count: 100))
        first.retainUse()
        first.releaseUse()   // the last use: back to the pool
        XCTAssertEqual(pool.pooledCount, 1)
        let again = pool.take()
        XCTAssertTrue(again === first, "the pooled buffer is reused")
        XCTAssertEqual(again.count, 0, "a buffer is empty when taken")
        again.recycleIfUnused()
        XCTAssertEqual(event(args: "[2]"), "[36,7,9007199254740992,{},[2]]")
    }
}
