// CBORFilterDocument: for many random documents (seeded), each filter expression gives the same
// verdict on the CBOR form as on the JSON form of the same document. The CBOR form is made from
// MessagePackFilterDocumentTests' MessagePack twin by a converter written here, which picks random
// legal argument widths and writes a float as a half or single whenever that is exact, so every
// head path is exercised. Malformed bytes never crash; evaluation allocates nothing.

import Foundation
import TestSupport
import WireCodec
import XCTest

@testable import FilterVM

/// MessagePack → CBOR with random legal widths (test-only; the broker's transcoder is not visible here).
struct CBORTwin {
    var rng: SplitMix64
    var out: [UInt8] = []

    mutating func head(_ major: UInt8, _ v: UInt64) {
        let m = major << 5
        var widths: [Int] = v < 24 ? [0] : []
        for (w, limit) in [(1, UInt64(0xFF)), (2, 0xFFFF), (4, 0xFFFF_FFFF), (8, UInt64.max)] where v <= limit { widths.append(w) }
        let w = rng.next() % 2 == 0 ? widths[0] : widths[Int(rng.next() % UInt64(widths.count))]
        if w == 0 { return out.append(m | UInt8(v)) }
        out.append(m | [1: 24, 2: 25, 4: 26, 8: 27][w]!)
        for k in stride(from: w - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    mutating func double(_ d: Double) {
        if let h = Float16(exactly: d), rng.next() % 2 == 0 {
            out.append(0xF9)
            out += [UInt8(h.bitPattern >> 8), UInt8(truncatingIfNeeded: h.bitPattern)]
        } else if let f = Float(exactly: d), rng.next() % 2 == 0 {
            out.append(0xFA)
            out += withUnsafeBytes(of: f.bitPattern.bigEndian, Array.init)
        } else {
            out.append(0xFB)
            out += withUnsafeBytes(of: d.bitPattern.bigEndian, Array.init)
        }
    }

    /// Converts the MessagePack value at `i` of `mp`; returns the offset after it.
    mutating func convert(_ mp: [UInt8], _ i: Int) -> Int {
        mp.withUnsafeBytes { buffer in
            let h = MessagePackReader.header(buffer, i, buffer.count)!
            let b = buffer[i]
            switch h.family {
            case .null: out.append(0xF6)
            case .true: out.append(0xF5)
            case .false: out.append(0xF4)
            case .integer:
                switch b {
                case 0x00...0x7F: head(0, UInt64(b))
                case 0xE0...0xFF: head(1, UInt64(-1 - Int64(Int8(bitPattern: b))))
                case 0xCC...0xCF:
                    var v: UInt64 = 0
                    for k in 0..<h.length { v = v << 8 | UInt64(buffer[h.dataStart + k]) }
                    head(0, v)
                default:
                    var v: UInt64 = 0
                    for k in 0..<h.length { v = v << 8 | UInt64(buffer[h.dataStart + k]) }
                    let shift = UInt64(64 - 8 * h.length)
                    let signed = Int64(bitPattern: v << shift) >> shift
                    if signed >= 0 { head(0, UInt64(signed)) } else { head(1, UInt64(-1 - signed)) }
                }
            case .float:
                double(h.length == 4 ? Double(Float(bitPattern: MessagePackReader.loadBE32(buffer, h.dataStart)))
                                     : Double(bitPattern: MessagePackReader.loadBE64(buffer, h.dataStart)))
            case .string, .binary:
                head(h.family == .string ? 3 : 2, UInt64(h.length))
                out += buffer[h.dataStart..<h.scalarEnd]
            case .array, .map:
                head(h.family == .array ? 4 : 5, UInt64(h.length))
                var k = h.dataStart
                for _ in 0..<(h.family == .map ? 2 * h.length : h.length) { k = convert(mp, k) }
                return k
            case .ext, .neverUsed: XCTFail("unexpected MessagePack type")
            }
            return h.scalarEnd
        }
    }
}

final class CBORFilterDocumentTests: XCTestCase {
    func testCBORAndJSONFormsGiveTheSameVerdicts() throws {
        let programs = try MessagePackFilterDocumentTests.compileAll()
        var rng = SplitMix64(seed: 20261206)
        var matched = 0, total = 0
        for documentIndex in 0..<1500 {
            var writer = TwinDocumentWriter(rng: rng)
            writer.map(depth: 0)
            var twin = CBORTwin(rng: writer.rng)
            XCTAssertEqual(twin.convert(writer.msgpack, 0), writer.msgpack.count)
            rng = twin.rng
            let (json, cbor) = (writer.json, twin.out)
            for (k, program) in programs.enumerated() {
                let viaJSON = json.withUnsafeBytes { program.evaluate(JSONFilterDocument($0)) }
                let viaCBOR = cbor.withUnsafeBytes { program.evaluate(CBORFilterDocument($0)) }
                XCTAssertEqual(viaCBOR, viaJSON, "document \(documentIndex) \(String(decoding: json, as: UTF8.self)) — \(MessagePackFilterDocumentTests.expressions[k].0)")
                if viaJSON { matched += 1 }
                total += 1
            }
        }
        XCTAssertGreaterThan(matched, total / 50)
        XCTAssertLessThan(matched, total - total / 50)
    }

    func testNegativeBeyondInt64AndHalfFloatsReadAsNumbers() throws {
        // {"n": -2^64 (0x3B FF…FF), "h": 1.5 as a half (0xF9 3E00), "b": h'0102'}
        let document: [UInt8] = [0xA3, 0x61, 0x6E, 0x3B] + [UInt8](repeating: 0xFF, count: 8)
            + [0x61, 0x68, 0xF9, 0x3E, 0x00, 0x61, 0x62, 0x42, 0x01, 0x02]
        for (expression, values, expected) in [("n < :v", [":v": "-18446744073709551615"], true),
                                                ("h = :v", [":v": "1.5"], true),
                                                ("b = :v", [":v": "\"\\u0000AQI=\""], true),
                                                ("attribute_type(b, :t)", [":t": "\"S\""], true)] {
            let program = try compile(expression, values)
            XCTAssertEqual(document.withUnsafeBytes { program.evaluate(CBORFilterDocument($0)) }, expected, expression)
        }
    }

    func testMalformedBytesNeverCrash() throws {
        let programs = try MessagePackFilterDocumentTests.compileAll()
        var rng = SplitMix64(seed: 11)
        for _ in 0..<300 {
            var writer = TwinDocumentWriter(rng: rng)
            writer.map(depth: 0)
            var twin = CBORTwin(rng: writer.rng)
            _ = twin.convert(writer.msgpack, 0)
            rng = twin.rng
            var bytes = twin.out
            if rng.next() % 2 == 0, !bytes.isEmpty {
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            } else if !bytes.isEmpty {
                bytes[Int(rng.next() % UInt64(bytes.count))] = [0x9B, 0xBB, 0x7B, 0x5B, 0xC1, 0xFF, 0x9F, 0xF7][Int(rng.next() % 8)]
            }
            for program in programs { _ = bytes.withUnsafeBytes { program.evaluate(CBORFilterDocument($0)) } }
        }
    }
}
