// The WAMP message shapes the broker reads, scanned in place: element kinds, ids, decoded strings,
// nested details, and PUBLISH args/kwargs kept as verbatim byte ranges.

import BrokerSerialization
import XCTest

final class WampMessageScanTests: XCTestCase {
    func testHelloWithNestedDetails() throws {
        let hello = """
        [1, "realm1", {"authmethods": ["wampcra", "anonymous"], "authid": "al\\u0069ce",
          "roles": {"subscriber": {"features": {"pattern_based_subscription": true, "publisher_identification": true}},
                    "publisher": {"features": {"subscriber_blackwhite_listing": true}}},
          "authextra": null}]
        """
        try withMessage(hello) { m in
            XCTAssertEqual(m.count, 3)
            XCTAssertEqual(m.unsignedInteger(0), 1)
            XCTAssertEqual(m.string(1), "realm1")
            XCTAssertEqual(m.kind(2), .object)
            let details = try XCTUnwrap(m.object(2))
            XCTAssertEqual(details.stringArray(forKey: "authmethods"), ["wampcra", "anonymous"])
            XCTAssertEqual(details.string(forKey: "authid"), "alice")
            XCTAssertEqual(details.value(forKey: "authextra")?.kind, .null)
            let features = try XCTUnwrap(details.object(forKey: "roles")?.object(forKey: "subscriber")?
                .object(forKey: "features"))
            XCTAssertEqual(features.bool(forKey: "pattern_based_subscription"), true)
            XCTAssertEqual(features.bool(forKey: "publisher_identification"), true)
            XCTAssertNil(features.bool(forKey: "missing"))
            XCTAssertNil(details.object(forKey: "authid"), "a string is not an object")
            XCTAssertNil(details.stringArray(forKey: "roles"), "an object is not an array")
            XCTAssertNil(m.kind(3))
            XCTAssertNil(m.string(2))
            XCTAssertNil(m.unsignedInteger(1))
        }
    }

    func testSubscribeWithFilterOptions() throws {
        let subscribe = ##"[32, 713845233, {"match": "wildcard", "_filter": "price > :p AND #n = \"x\"", "filter_values": {":p": 10}, "filter_names": {"#n": "name"}}, "com.myapp..update"]"##
        try withMessage(subscribe) { m in
            XCTAssertEqual(m.count, 4)
            XCTAssertEqual(m.unsignedInteger(0), 32)
            XCTAssertEqual(m.unsignedInteger(1), 713_845_233)
            XCTAssertEqual(m.string(3), "com.myapp..update")
            let options = try XCTUnwrap(m.object(2))
            XCTAssertEqual(options.string(forKey: "match"), "wildcard")
            XCTAssertEqual(options.string(forKey: "_filter"), ##"price > :p AND #n = "x""##)
            let values = try XCTUnwrap(options.object(forKey: "filter_values"))
            XCTAssertEqual(values.unsignedInteger(forKey: ":p"), 10)
            XCTAssertEqual(Array(values).count, 1)
            let valueTree = JSONScanner.decodeValue(m.buffer, try XCTUnwrap(options.value(forKey: "filter_names")))
            XCTAssertEqual(valueTree, .object([(key: "#n", value: .string("name"))]))
        }
    }

    func testPublishKeepsArgsAndKwargsAsVerbatimBytes() throws {
        let args = #"["Hello, \"world\"", 1.5e3, [null, true], {"k": "\ud83d\ude00"}]"#
        let kwargs = #"{ "price" : 12 , "nested": {"a": [1, 2, {"b": "]}"}]} }"#
        let publish = "[16, 9007199254740992, {\"acknowledge\": true, \"exclude\": [11, 12], \"eligible_authid\": [\"a\", \"b\"], \"exclude_me\": false, \"disclose_me\": true}, \"com.myapp.topic1\", \(args),\n \(kwargs)  ]"
        try withMessage(publish) { m in
            XCTAssertEqual(m.count, 6)
            XCTAssertEqual(m.unsignedInteger(1), 9_007_199_254_740_992)
            let options = try XCTUnwrap(m.object(2))
            XCTAssertEqual(options.bool(forKey: "acknowledge"), true)
            XCTAssertEqual(options.bool(forKey: "exclude_me"), false)
            XCTAssertEqual(options.bool(forKey: "disclose_me"), true)
            XCTAssertEqual(options.unsignedIntegerArray(forKey: "exclude"), [11, 12])
            XCTAssertEqual(options.stringArray(forKey: "eligible_authid"), ["a", "b"])
            XCTAssertNil(options.unsignedIntegerArray(forKey: "eligible_authid"))
            let exclude = try XCTUnwrap(options.array(forKey: "exclude"))
            XCTAssertTrue(exclude.containsUnsignedInteger(12))
            XCTAssertFalse(exclude.containsUnsignedInteger(13))
            XCTAssertEqual(exclude.count, 2)
            XCTAssertEqual(m.string(3), "com.myapp.topic1")
            XCTAssertEqual(m.kind(4), .array)
            XCTAssertEqual(m.kind(5), .object)
            XCTAssertEqual(String(decoding: m.bytes(4), as: UTF8.self), args)
            XCTAssertEqual(String(decoding: m.bytes(5), as: UTF8.self), kwargs)
            let span = m.span(5)
            XCTAssertEqual(span.end - span.start, kwargs.utf8.count)
            // The kwargs object reads like any other object, the filter VM's view of the event.
            let kw = try XCTUnwrap(m.object(5))
            XCTAssertEqual(kw.unsignedInteger(forKey: "price"), 12)
            XCTAssertEqual(kw.object(forKey: "nested")?.array(forKey: "a")?.count, 3)
        }
    }

    func testPublishWithoutPayloadAndAuthenticate() throws {
        try withMessage(#"[16,1,{},"t"]"#) { m in
            XCTAssertEqual(m.count, 4)
            XCTAssertNil(m.kind(4))
            XCTAssertNil(m.object(4))
            XCTAssertEqual(m.object(2)?.isEmpty, true)
        }
        try withMessage(#"[5, "gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=", {}]"#) { m in
            XCTAssertEqual(m.unsignedInteger(0), 5)
            XCTAssertEqual(m.string(1), "gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=")
            XCTAssertEqual(m.object(2)?.isEmpty, true)
        }
        try withMessage(#"[6, {"message": "bye"}, "wamp.close.close_realm"]"#) { m in
            XCTAssertEqual(m.string(2), "wamp.close.close_realm")
            XCTAssertEqual(m.object(1)?.string(forKey: "message"), "bye")
        }
        try withMessage(#"[34, 2, 3]"#) { m in
            XCTAssertEqual([m.unsignedInteger(0), m.unsignedInteger(1), m.unsignedInteger(2)], [34, 2, 3])
        }
    }

    func testStringComparisonInPlace() throws {
        try withMessage(#"[1, "re\u0061lm1", "wamp.close.normal"]"#) { m in
            let expected: StaticString = "realm1"
            let equal = expected.withUTF8Buffer { m.stringEquals(1, UnsafeRawBufferPointer($0)) }
            XCTAssertTrue(equal)
            XCTAssertTrue(JSONScanner.stringEquals(m.buffer, m.span(2), "wamp.close.normal"))
            XCTAssertFalse(JSONScanner.stringEquals(m.buffer, m.span(2), "wamp.close.normal2"))
            XCTAssertFalse(JSONScanner.stringEquals(m.buffer, m.span(2), "wamp.close.norma"))
            XCTAssertFalse(JSONScanner.stringEquals(m.buffer, m.span(0), "1"), "a number is not a string")
        }
    }

    func testElementLimitAndEnvelopeErrors() throws {
        try withMessage("[8, 16, 1, {}, \"wamp.error.not_authorized\", [], {}]") { m in
            XCTAssertEqual(m.count, 7)
        }
        let eight = try XCTUnwrap(messageError("[8, 16, 1, {}, \"e\", [], {}, 8]"))
        XCTAssertEqual(eight.message, "a WAMP message has at most 7 elements")
        XCTAssertEqual(eight.offset, 28)
        try withMessage("[]") { m in XCTAssertEqual(m.count, 0) }

        XCTAssertEqual(messageError(#"{"a": 1}"#)?.message, "a WAMP message must be a JSON array")
        XCTAssertEqual(messageError("  7")?.offset, 2)
        XCTAssertEqual(messageError("")?.message, "empty input")
        XCTAssertNotNil(messageError("  \n"))
        let error = try XCTUnwrap(messageError("[1, 2 3]"))
        XCTAssertEqual(error.description, "invalid JSON at byte 6: expected ',' or ']'")
        XCTAssertEqual(messageError(#"[1, {"a" 1}]"#)?.description, "invalid JSON at byte 9: expected ':' after an object key")
        XCTAssertEqual(messageError("[1, 2")?.description, "invalid JSON at byte 5: unexpected end of input, expected ',' or ']'")
    }

    func testSpansOfEveryKind() throws {
        let text = #"[{"a":[]}, [1], "s", -1.5, true, false, null]"#
        try withMessage(text) { m in
            let kinds = (0..<m.count).map { m.span($0).kind }
            XCTAssertEqual(kinds, [.object, .array, .string, .number, .true, .false, .null])
            let pieces = (0..<m.count).map { String(decoding: m.bytes($0), as: UTF8.self) }
            XCTAssertEqual(pieces, [#"{"a":[]}"#, "[1]", #""s""#, "-1.5", "true", "false", "null"])
        }
    }

    func testDuplicateKeysLastWinsAndEscapedKeys() throws {
        try withMessage(#"[{"authid": "first", "auth\u0069d": "second", "a\"b": 1, "\u00e9": 2, "\ud83d\ude00": 3}]"#) { m in
            let o = try XCTUnwrap(m.object(0))
            XCTAssertEqual(o.string(forKey: "authid"), "second")
            XCTAssertEqual(o.unsignedInteger(forKey: "a\"b"), 1)
            XCTAssertEqual(o.unsignedInteger(forKey: "é"), 2)
            XCTAssertEqual(o.unsignedInteger(forKey: "😀"), 3)
            XCTAssertEqual(o.value(forKey: "😀" as String)?.kind, .number)
            XCTAssertNil(o.value(forKey: "a"))
            XCTAssertEqual(Array(o).count, 5)
        }
    }
}
