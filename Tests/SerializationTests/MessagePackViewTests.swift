// WAMP message shapes (HELLO, SUBSCRIBE with options, PUBLISH with args/kwargs and eligibility lists)
// read through the same view API from JSON text and from MessagePack give the same answers, and the
// publish path's accessors allocate nothing for MessagePack (jemalloc's per-thread counter).

import BrokerSerialization
import XCTest

final class MessagePackViewTests: XCTestCase {
    /// The same message in both formats.
    private struct Pair {
        var json: String
        var msgpack: [UInt8]
    }

    private let hello = Pair(
        json: #"[1,"realm1",{"roles":{"subscriber":{},"publisher":{}},"authmethods":["wampcra","anonymous"],"authid":"joe"}]"#,
        msgpack: MP.array([[1], MP.str("realm1"), MP.map([
            ("roles", MP.map([("subscriber", MP.map([])), ("publisher", MP.map([]))])),
            ("authmethods", MP.array([MP.str("wampcra"), MP.str("anonymous")])), ("authid", MP.str("joe")),
        ])]))

    private let subscribe = Pair(
        json: #"[32,9007199254740992,{"match":"prefix","filter":"k > :v","filter_values":{":v":5}},"com.example"]"#,
        msgpack: MP.array([[32], [0xCF] + MP.be(1 << 53, 8), MP.map([
            ("match", MP.str("prefix")), ("filter", MP.str("k > :v")), ("filter_values", MP.map([(":v", [5])])),
        ]), MP.str("com.example")]))

    private let publish = Pair(
        json: #"[16,70000,{"acknowledge":true,"exclude_me":false,"exclude":[1,300,70000],"eligible_authid":["a","b"],"acknowledge":false},"com.topic",[1,"two",3.5,null],{"k":7,"s":"é"}]"#,
        msgpack: MP.array([[16], [0xD2] + MP.be(70000, 4), MP.map([
            ("acknowledge", MP.true), ("exclude_me", MP.false), ("exclude", MP.array([[1], [0xCD, 0x01, 0x2C], MP.uint(70000)])),
            ("eligible_authid", MP.array([MP.str("a"), MP.str("b")])), ("acknowledge", MP.false),
        ]), MP.str("com.topic"), MP.array([[1], MP.str("two"), MP.double(3.5), MP.null]), MP.map([("k", [7]), ("s", MP.str("é"))])]))

    /// Everything the session layer reads, as text, so both formats can be compared in one assert.
    private func readings(_ m: WampMessageView) -> [String] {
        var r: [String] = ["count \(m.count)"]
        for i in 0..<m.count {
            r.append("\(i): kind \(String(describing: m.kind(i))) uint \(String(describing: m.unsignedInteger(i))) string \(String(describing: m.string(i)))")
            r.append("\(i): value \(canonicalForm(JSONScanner.decodeValue(m.buffer, m.span(i))))")
            if let raw = m.rawString(i) { r.append("\(i): raw \(String(decoding: raw, as: UTF8.self))") }
            if let o = m.object(i) {
                r.append("\(i): empty \(o.isEmpty) keys \(o.map { o.decodeString($0.key) })")
                for key: StaticString in ["acknowledge", "exclude_me", "match", "filter", "authid", "k", "absent"] {
                    r.append("\(i).\(key): bool \(String(describing: o.bool(forKey: key))) uint \(String(describing: o.unsignedInteger(forKey: key))) string \(String(describing: o.string(forKey: key))) present \(o.value(forKey: key) != nil)")
                }
                r.append("\(i): exclude \(String(describing: o.unsignedIntegerArray(forKey: "exclude"))) eligible_authid \(String(describing: o.stringArray(forKey: "eligible_authid"))) authmethods \(String(describing: o.stringArray(forKey: "authmethods")))")
                r.append("\(i): roles \(o.object(forKey: "roles").map { Array($0).count } ?? -1) filter_values \(o.object(forKey: "filter_values").flatMap { $0.unsignedInteger(forKey: ":v") } ?? 0)")
                if let exclude = o.array(forKey: "exclude") {
                    r.append("\(i): exclude has 300 \(exclude.containsUnsignedInteger(300)) has 301 \(exclude.containsUnsignedInteger(301)) count \(exclude.count)")
                }
                if let authids = o.array(forKey: "eligible_authid") {
                    r.append("\(i): authid b \("b".withCString { authids.containsString(UnsafeRawBufferPointer(start: $0, count: 1)) }) c \("c".withCString { authids.containsString(UnsafeRawBufferPointer(start: $0, count: 1)) })")
                }
                r.append("\(i): string key equality \(o.value(forKey: String("s")).map { o.decodeString($0) } ?? "-")")
            }
            if let a = m.array(i) { r.append("\(i): array count \(a.count) elements \(a.map { canonicalForm(JSONScanner.decodeValue(m.buffer, $0)) })") }
            for probe in ["realm1", "com.topic", "com.example", "x"] {
                var probe = probe
                if probe.withUTF8({ m.stringEquals(i, UnsafeRawBufferPointer($0)) }) { r.append("\(i): equals \(probe)") }
            }
        }
        return r
    }

    func testWampShapesReadTheSameInBothFormats() throws {
        for pair in [hello, subscribe, publish] {
            let fromJSON = try withMessage(pair.json) { readings($0) }
            let fromMsgpack = try withMsgpackMessage(pair.msgpack) { readings($0) }
            XCTAssertEqual(fromMsgpack, fromJSON, pair.json)
            XCTAssertGreaterThan(fromJSON.count, 10)
        }
        // Spot checks that the comparison saw real values (duplicate keys: the last one wins).
        try withMsgpackMessage(publish.msgpack) { m in
            XCTAssertEqual(m.format, .msgpack)
            XCTAssertEqual(m.unsignedInteger(1), 70000)
            XCTAssertEqual(m.object(2)?.bool(forKey: "acknowledge"), false)
            XCTAssertEqual(m.object(2)?.unsignedIntegerArray(forKey: "exclude"), [1, 300, 70000])
            XCTAssertEqual(Array(m.bytes(5)), MP.map([("k", [7]), ("s", MP.str("é"))]))
            XCTAssertEqual(m.kind(4), .array)
            XCTAssertEqual(m.kind(5), .object)
        }
        try withMsgpackMessage(subscribe.msgpack) { m in XCTAssertEqual(m.unsignedInteger(1), 1 << 53) }
    }

    func testJSONRawStringNeedsNoEscapes() throws {
        try withMessage(#"["a\nb","plain"]"#) { m in
            XCTAssertNil(m.rawString(0))
            XCTAssertEqual(m.rawString(1).map { String(decoding: $0, as: UTF8.self) }, "plain")
        }
    }

    func testPublishPathAllocatesNothing() throws {
        guard let counter = ThreadAllocationCounter.pointer() else { return XCTFail("jemalloc's counter is not available") }
        let bytes = publish.msgpack
        var sink: UInt64 = 0
        var before = counter.pointee
        bytes.withUnsafeBytes { buffer in
            for round in 0..<201 {
                if round == 1 { before = counter.pointee }
                guard case .success(let m) = MessagePackScanner.scanMessage(buffer) else { return XCTFail("refused") }
                guard let code = m.unsignedInteger(0), let request = m.unsignedInteger(1), let options = m.object(2),
                      m.kind(3) == .string, let topic = m.rawString(3) else { return XCTFail("shape") }
                sink &+= code &+ request &+ UInt64(topic.count)
                if options.bool(forKey: "acknowledge") == true { sink &+= 1 }
                if options.bool(forKey: "exclude_me") == false { sink &+= 1 }
                if options.value(forKey: "eligible") != nil { sink &+= 1 }
                if let exclude = options.array(forKey: "exclude"), exclude.containsUnsignedInteger(300) { sink &+= 1 }
                sink &+= UInt64(m.bytes(4).count + m.bytes(5).count)
                "com.topic".utf8.withContiguousStorageIfAvailable { if m.stringEquals(3, UnsafeRawBufferPointer($0)) { sink &+= 1 } }
            }
        }
        XCTAssertEqual(counter.pointee - before, 0, "scanMessage + publish-path accessors allocated")
        XCTAssertGreaterThan(sink, 0)
        // Control: the counter does see an allocation on this thread.
        let probe = counter.pointee
        let decoded = bytes.withUnsafeBytes { b in (try? MessagePackScanner.scanMessage(b).get()).map { JSONScanner.decodeValue(b, $0.span(4)) } }
        XCTAssertNotNil(decoded)
        XCTAssertGreaterThan(counter.pointee, probe, "decoding a tree allocates, and the counter must notice")
    }
}
