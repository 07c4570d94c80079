// MessagePackFilterDocument: for many random documents (seeded), each filter expression gives the
// same verdict on the MessagePack form as on the JSON form of the same document (the JSON form
// follows the broker's transcoding rules: binary as "\u0000" + base64, doubles in shortest text).
// Both forms are written here side by side; the MessagePack side uses random legal widths (fixint …
// int 64, float 32 for values exact in 32 bits, str 8/16 for short strings, map/array 16) so every
// header path is exercised. Evaluation allocates nothing (jemalloc's per-thread counter, looked up
// with dlsym because this target does not link FastBroker's allocator module).

import Foundation
import TestSupport
import XCTest

@testable import FilterVM

/// Writes one random document as JSON text and as MessagePack at the same time.
struct TwinDocumentWriter {
    var rng: SplitMix64
    var json: [UInt8] = []
    var msgpack: [UInt8] = []

    mutating func be(_ v: UInt64, _ bytes: Int) {
        for k in stride(from: bytes - 1, through: 0, by: -1) { msgpack.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    mutating func text(_ s: String) { json += Array(s.utf8) }

    mutating func int(_ v: Int64) {
        text(String(v))
        let widths: [(UInt8, Int, ClosedRange<Int64>)] = [(0xD0, 1, -128...127), (0xD1, 2, -32768...32767),
                                                          (0xD2, 4, Int64(Int32.min)...Int64(Int32.max)), (0xD3, 8, Int64.min...Int64.max),
                                                          (0xCC, 1, 0...255), (0xCD, 2, 0...65535), (0xCE, 4, 0...4_294_967_295), (0xCF, 8, 0...Int64.max)]
        let legal = widths.filter { $0.2.contains(v) }
        if (v >= 0 && v < 128 || v >= -32 && v < 0) && rng.next() % 2 == 0 {
            msgpack.append(UInt8(bitPattern: Int8(v)))
            return
        }
        let w = legal[Int(rng.next() % UInt64(legal.count))]
        msgpack.append(w.0)
        be(UInt64(bitPattern: v), w.1)
    }

    mutating func uint64(_ v: UInt64) {
        text(String(v))
        msgpack.append(0xCF)
        be(v, 8)
    }

    mutating func double(_ d: Double) {
        text(d.description)
        if let f = Float(exactly: d), rng.next() % 2 == 0 {
            msgpack.append(0xCA)
            be(UInt64(f.bitPattern), 4)
        } else {
            msgpack.append(0xCB)
            be(d.bitPattern, 8)
        }
    }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        json.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": text("\\\"")
            case "\\": text("\\\\")
            case _ where scalar.value < 0x20: text(String(format: "\\u%04x", scalar.value))
            default: text(String(scalar))
            }
        }
        json.append(UInt8(ascii: "\""))
        let n = utf8.count
        if n < 32 && rng.next() % 3 != 0 {
            msgpack.append(0xA0 | UInt8(n))
        } else if n < 256 && rng.next() % 2 == 0 {
            msgpack += [0xD9, UInt8(n)]
        } else {
            msgpack.append(0xDA)
            be(UInt64(n), 2)
        }
        msgpack += utf8
    }

    mutating func binary(_ bytes: [UInt8]) {
        text("\"\\u0000" + Data(bytes).base64EncodedString() + "\"")
        msgpack += [0xC4, UInt8(bytes.count)] + bytes
    }

    mutating func header(_ count: Int, small: UInt8, sixteen: UInt8) {
        if count < 16 && rng.next() % 3 != 0 {
            msgpack.append(small | UInt8(count))
        } else {
            msgpack.append(sixteen)
            be(UInt64(count), 2)
        }
    }

    static let keys = ["k", "s", "n", "l", "m", "b", "x", "é", "a b"]
    static let strings = ["", "a", "ab", "abc", "b", "é", "中文", "😀", "a\"b", "x\u{1}y", "abcdefghijklmnopqrstuvwxyz0123456789", "\u{0}AQID"]

    mutating func value(depth: Int) {
        let r = rng.next() % 100
        switch r {
        case 0..<15: int(Int64(rng.next() % 21) - 10)
        case 15..<20: int([Int64.min, Int64.max, -129, 128, 65536, 1 << 53, -(1 << 31)][Int(rng.next() % 7)])
        case 20..<23: uint64([UInt64.max, UInt64(Int64.max) + 1][Int(rng.next() % 2)])
        case 23..<35: double([0.1, 0.5, -2.5, 3.0, 1e16, 1e-7, 0.30000000000000004, 5.0, 123456.789, -0.0][Int(rng.next() % 10)])
        case 35..<55: string(Self.strings[Int(rng.next() % UInt64(Self.strings.count))])
        case 55..<60: binary([[], [1], [1, 2], [1, 2, 3], [0xFF, 0, 0x7F, 0x80]][Int(rng.next() % 5)])
        case 60..<64:
            text("null")
            msgpack.append(0xC0)
        case 64..<70:
            let b = rng.next() % 2 == 0
            text(b ? "true" : "false")
            msgpack.append(b ? 0xC3 : 0xC2)
        case 70..<85 where depth < 3:
            let n = Int(rng.next() % 4)
            header(n, small: 0x90, sixteen: 0xDC)
            text("[")
            for k in 0..<n {
                if k > 0 { text(",") }
                value(depth: depth + 1)
            }
            text("]")
        case 85..<100 where depth < 3:
            map(depth: depth)
        default:
            int(Int64(rng.next() % 5))
        }
    }

    mutating func map(depth: Int) {
        var keys = Self.keys
        let n = Int(rng.next() % 5)
        header(n, small: 0x80, sixteen: 0xDE)
        text("{")
        for k in 0..<n {
            if k > 0 { text(",") }
            let key = keys.remove(at: Int(rng.next() % UInt64(keys.count)))
            string(key)
            text(":")
            value(depth: depth + 1)
        }
        text("}")
    }
}

final class MessagePackFilterDocumentTests: XCTestCase {
    static let expressions: [(String, [String: String])] = [
        ("k = :v", [":v": "3"]), ("k < :v", [":v": "0"]), ("k BETWEEN :a AND :b", [":a": "-3", ":b": "5"]),
        ("k IN (:a, :b, :c)", [":a": "1", ":b": "-1", ":c": "9007199254740992"]),
        ("k = :v OR n = :v", [":v": "0.1"]), ("n > :v", [":v": "1"]), ("n = :v", [":v": "3"]), ("n = :v", [":v": "1e16"]),
        ("k = :v", [":v": "18446744073709551615"]), ("k = :v", [":v": "-9223372036854775808"]),
        ("s = :v", [":v": "\"abc\""]), ("begins_with(s, :v)", [":v": "\"a\""]), ("contains(s, :v)", [":v": "\"b\""]),
        ("s < :v", [":v": "\"b\""]), ("size(s) = :v", [":v": "3"]), ("size(s) > :v", [":v": "4"]),
        ("s = :v", [":v": "\"\\u0000AQID\""]), ("begins_with(b, :v)", [":v": "\"\\u0000AQ\""]),
        ("attribute_type(b, :t)", [":t": "\"S\""]), ("attribute_type(n, :t)", [":t": "\"N\""]),
        ("attribute_type(m, :t)", [":t": "\"M\""]), ("attribute_type(l, :t)", [":t": "\"L\""]),
        ("attribute_type(x, :t)", [":t": "\"NULL\""]), ("attribute_type(x, :t)", [":t": "\"BOOL\""]),
        ("attribute_exists(m.k)", [:]), ("attribute_not_exists(l[1])", [:]), ("m.k = :v", [":v": "1"]),
        ("m.s = s", [:]), ("l[0] = :v", [":v": "1"]), ("l[2] = l[1]", [:]), ("m.m.k > :v", [":v": "0"]),
        ("size(l) = :v", [":v": "2"]), ("size(m) >= :v", [":v": "2"]), ("contains(l, :v)", [":v": "\"a\""]),
        ("contains(l, :v)", [":v": "1"]), ("m = :v", [":v": "{\"k\":1}"]), ("l = :v", [":v": "[1,2]"]),
        ("l = :v", [":v": "[]"]), ("m = :v", [":v": "{}"]), ("m = m", [:]), ("l = l", [:]), ("m = l", [:]),
        ("x = :v", [":v": "true"]), ("x = :v", [":v": "null"]), ("x <> :v", [":v": "false"]),
        ("#e = :v", [":v": "\"é\""]), ("#sp = :v", [":v": "2"]),
        ("NOT (k = :v) AND (s = :w OR begins_with(s, :w))", [":v": "1", ":w": "\"ab\""]),
    ]

    static func compileAll() throws -> [FilterProgram] {
        try expressions.map { expression, values in
            let names = ["#e": "é", "#sp": "a b"].filter { expression.contains($0.key) }
            return try compile(expression, values, names: names)
        }
    }

    func testMessagePackAndJSONFormsGiveTheSameVerdicts() throws {
        let programs = try Self.compileAll()
        var rng = SplitMix64(seed: 20240613)
        var matched = 0, total = 0
        for documentIndex in 0..<1500 {
            var writer = TwinDocumentWriter(rng: rng)
            writer.map(depth: 0)
            rng = writer.rng
            let (json, msgpack) = (writer.json, writer.msgpack)
            for (k, program) in programs.enumerated() {
                let viaJSON = json.withUnsafeBytes { program.evaluate(JSONFilterDocument($0)) }
                let viaMsgpack = msgpack.withUnsafeBytes { program.evaluate(MessagePackFilterDocument($0)) }
                XCTAssertEqual(viaMsgpack, viaJSON, "document \(documentIndex) \(String(decoding: json, as: UTF8.self)) — \(Self.expressions[k].0)")
                if viaJSON { matched += 1 }
                total += 1
            }
        }
        // Both verdicts are common, so agreement is not trivial.
        XCTAssertGreaterThan(matched, total / 50)
        XCTAssertLessThan(matched, total - total / 50)
    }

    func testEmptyAndNonMapDocumentsHaveNoPaths() throws {
        let program = try compile("attribute_not_exists(k)")
        for bytes: [UInt8] in [[], [0x90], [0xC0], [0x81], [0x81, 0xA1], [0xDE, 0xFF]] {
            XCTAssertTrue(bytes.withUnsafeBytes { program.evaluate(MessagePackFilterDocument($0)) }, "\(bytes)")
        }
    }

    func testMalformedBytesNeverCrash() throws {
        let programs = try Self.compileAll()
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            var writer = TwinDocumentWriter(rng: rng)
            writer.map(depth: 0)
            rng = writer.rng
            var bytes = writer.msgpack
            // Truncate, or overwrite a byte with a hostile header.
            if rng.next() % 2 == 0, !bytes.isEmpty {
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            } else if !bytes.isEmpty {
                bytes[Int(rng.next() % UInt64(bytes.count))] = [0xDF, 0xDD, 0xDB, 0xC6, 0xC9, 0xD8, 0xC1, 0xFF][Int(rng.next() % 8)]
            }
            for program in programs { _ = bytes.withUnsafeBytes { program.evaluate(MessagePackFilterDocument($0)) } }
        }
    }

    func testEvaluationAllocatesNothing() throws {
        typealias Mallctl = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?,
                                            UnsafeMutableRawPointer?, Int) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallctl") else { return XCTFail("jemalloc is not in the process") }
        var counter: UnsafeMutablePointer<UInt64>? = nil
        var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
        guard unsafeBitCast(symbol, to: Mallctl.self)("thread.allocatedp", &counter, &size, nil, 0) == 0, let counter else {
            return XCTFail("no thread.allocatedp")
        }
        // Not the ones comparing with a list constant: the VM's deepEqual against a FilterValue.list
        // allocates in debug builds whatever the document (JSONFilterDocument too: 96 bytes for
        // `l = :v` with :v = [1,2] on {"l":[1,2]}), which is VM code, not the document's.
        let programs = try Self.compileAll().enumerated()
            .filter { !Self.expressions[$0.offset].1.values.contains { $0.hasPrefix("[") } }.map(\.element)
        var writer = TwinDocumentWriter(rng: SplitMix64(seed: 99))
        writer.map(depth: 0)
        // A document that touches every kind, including a float needing 17 digits and a binary.
        let document: [UInt8] = [0x86, 0xA1, 0x6B, 0xCB] + withUnsafeBytes(of: (0.30000000000000004).bitPattern.bigEndian, Array.init)
            + [0xA1, 0x73, 0xA3, 0x61, 0x62, 0x63, 0xA1, 0x62, 0xC4, 0x03, 1, 2, 3, 0xA1, 0x6C, 0x92, 0x01, 0xCF]
            + [UInt8](repeating: 0xFF, count: 8) + [0xA1, 0x6D, 0x81, 0xA1, 0x6B, 0x01, 0xA1, 0x78, 0xC0]
        let documents = [document, writer.msgpack]
        var verdicts = 0
        var before = counter.pointee
        for round in 0..<11 {
            if round == 1 { before = counter.pointee }
            // Index loops: an unspecialised (debug) iterator over an array of arrays allocates.
            var d = 0
            while d < documents.count {
                var p = 0
                while p < programs.count {
                    let program = programs[p]
                    if documents[d].withUnsafeBytes({ program.evaluate(MessagePackFilterDocument($0)) }) { verdicts += 1 }
                    p += 1
                }
                d += 1
            }
        }
        XCTAssertEqual(counter.pointee - before, 0, "evaluation on MessagePack allocated")
        XCTAssertGreaterThan(verdicts, 0)
    }
}
