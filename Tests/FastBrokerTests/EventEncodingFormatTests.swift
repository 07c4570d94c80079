// Every EVENT WampEncoder writes straight into its buffer, in each format (JSON, MessagePack,
// CBOR), equals the same message written by the format's generic tree writer (appendValue over a
// JSONValue): ids at each integer-width boundary, payloads with args only, kwargs only, both or
// neither, and the details variants (topic, publisher, retained) whose details go through the
// pool's scratch between the in-place head and payload.

import BrokerSerialization
@testable import FastBroker
import XCTest

final class EventEncodingFormatTests: XCTestCase {
    private let pool = MessageBufferPool()

    /// Each side of every width boundary of the binary heads (CBOR's 23/24, MessagePack's
    /// 127/128, 8/16/32/64-bit), the largest WAMP id and beyond.
    private let ids: [UInt64] = [1, 23, 24, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296,
                                 9_007_199_254_740_992, UInt64.max]
    private let args = JSONValue.array([.number(JSONNumber(UInt64(1))), .string("é\"x"), .null])
    private let kwargs = JSONValue.object([("k", .bool(true)), ("n", .number(JSONNumber(Int64(-300))))])
    private let publisher = PublisherInfo(session: 65_536, authid: "alice \"é\"", authrole: "user")

    private func encode(_ value: JSONValue, _ format: WireFormat) -> [UInt8] {
        var out: [UInt8] = []
        switch format {
        case .json: JSONWriter.appendValue(value, to: &out)
        case .msgpack: MessagePackWriter.appendValue(value, to: &out)
        case .cbor: CBORWriter.appendValue(value, to: &out)
        }
        return out
    }

    /// WampEncoder's EVENT and the reference tree's encoding, for one case.
    private func check(format: WireFormat, subscription: UInt64, id: UInt64, args: JSONValue?, kwargs: JSONValue?,
                       topic: String = "com.example.tøpic", includeTopic: Bool = false, publisher: PublisherInfo? = nil,
                       retained: Bool = false, cached: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        var details: [(key: String, value: JSONValue)] = []
        if includeTopic { details.append(("topic", .string(topic))) }
        if let publisher {
            details += [("publisher", .number(JSONNumber(publisher.session))), ("publisher_authid", .string(publisher.authid)),
                        ("publisher_authrole", .string(publisher.authrole))]
        }
        if retained { details.append(("retained", .bool(true))) }
        var elements: [JSONValue] = [.number(JSONNumber(UInt64(36))), .number(JSONNumber(subscription)), .number(JSONNumber(id)),
                                     .object(details)]
        if args != nil || kwargs != nil { elements.append(args ?? .array([])) }
        if let kwargs { elements.append(kwargs) }
        let expected = encode(.array(elements), format)

        var topicBytes = Array(topic.utf8)
        var argBytes = args.map { encode($0, format) } ?? []
        var kwargBytes = kwargs.map { encode($0, format) } ?? []
        let actual = topicBytes.withUnsafeMutableBytes { t in argBytes.withUnsafeMutableBytes { a in kwargBytes.withUnsafeMutableBytes { k in
            let publication = Publication(id: id, topic: UnsafeRawBufferPointer(t), format: format,
                                          args: UnsafeRawBufferPointer(a), kwargs: UnsafeRawBufferPointer(k),
                                          excludedSession: 0, disclosedPublisher: publisher, rules: nil)
            let message = cached
                ? WampEncoder.event(subscription: DecimalID(subscription), publication: publication, payload: publication.payload,
                                    includeTopic: includeTopic, format: format, pool: pool, retained: retained)
                : WampEncoder.event(subscription: subscription, publication: publication, payload: publication.payload,
                                    includeTopic: includeTopic, format: format, pool: pool, retained: retained)
            defer { message.recycleIfUnused() }
            return Array(message.bytes)
        } } }
        XCTAssertEqual(actual, expected, "\(format) EVENT sub \(subscription) pub \(id) args \(args != nil) kwargs \(kwargs != nil) "
                       + "topic \(includeTopic) publisher \(publisher != nil) retained \(retained)", file: file, line: line)
    }

    private let formats: [WireFormat] = [.json, .msgpack, .cbor]

    func testEventsWithoutDetailsMatchTheTreeWriterAtEveryIdWidth() {
        for format in formats {
            for id in ids {
                for (a, k) in [(args, kwargs), (args, nil), (nil, kwargs), (nil, nil)] as [(JSONValue?, JSONValue?)] {
                    check(format: format, subscription: id, id: id, args: a, kwargs: k)
                    check(format: format, subscription: 7, id: id, args: a, kwargs: k, cached: false)
                    check(format: format, subscription: id, id: 9_007_199_254_740_992, args: a, kwargs: k)
                }
            }
        }
    }

    func testEventsWithDetailsMatchTheTreeWriter() {
        for format in formats {
            for id in [UInt64(23), 24, 65_536, 9_007_199_254_740_992] {
                for (a, k) in [(args, kwargs), (args, nil), (nil, kwargs), (nil, nil)] as [(JSONValue?, JSONValue?)] {
                    check(format: format, subscription: id, id: id, args: a, kwargs: k, includeTopic: true)
                    check(format: format, subscription: id, id: id, args: a, kwargs: k, publisher: publisher)
                    check(format: format, subscription: id, id: id, args: a, kwargs: k, retained: true)
                    check(format: format, subscription: id, id: id, args: a, kwargs: k, includeTopic: true, publisher: publisher,
                          retained: true)
                }
            }
        }
    }

    func testLargePayloadsGrowTheBufferInEveryFormat() {
        let big = JSONValue.array([.string(String(repeating: "x", count: 70_000))])
        for format in formats {
            check(format: format, subscription: 5, id: 6, args: big, kwargs: kwargs)
            check(format: format, subscription: 5, id: 6, args: big, kwargs: nil, topic: String(repeating: "t", count: 300),
                  includeTopic: true, publisher: publisher, retained: true)
        }
    }

    /// The pointer writers and the byte-array appenders share one set of rules: spot-check the
    /// exact bytes at the boundaries against the formats' specs.
    func testIntegerHeadsAtWidthBoundaries() {
        var out: [UInt8] = []
        MessagePackWriter.appendUInt(127, to: &out)
        MessagePackWriter.appendUInt(128, to: &out)
        MessagePackWriter.appendUInt(65_536, to: &out)
        MessagePackWriter.appendInt(-33, to: &out)
        XCTAssertEqual(out, [0x7F, 0xCC, 0x80, 0xCE, 0x00, 0x01, 0x00, 0x00, 0xD0, 0xDF])
        out = []
        CBORWriter.appendUInt(23, to: &out)
        CBORWriter.appendUInt(24, to: &out)
        CBORWriter.appendUInt(4_294_967_296, to: &out)
        CBORWriter.appendInt(-1, to: &out)
        XCTAssertEqual(out, [0x17, 0x18, 0x18, 0x1B, 0, 0, 0, 1, 0, 0, 0, 0, 0x20])
    }
}
