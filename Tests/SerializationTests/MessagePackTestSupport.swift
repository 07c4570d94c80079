// Helpers shared by the MessagePack tests: hand-built encodings (so expected bytes come from the
// spec's tables, not from the writer under test), scanning while the bytes are alive, a canonical
// form mirrored in Fixtures/generate_msgpack_differential.py, and jemalloc's per-thread allocation
// counter looked up at run time (the test binary links jemalloc through FastBroker; this target may
// not import it).

import BrokerSerialization
import Foundation
import XCTest

/// MessagePack bytes built by hand from the spec's format table.
enum MP {
    static func be(_ v: UInt64, _ bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }
    static func array(_ elements: [[UInt8]]) -> [UInt8] {
        let n = elements.count
        let header: [UInt8] = n < 16 ? [0x90 | UInt8(n)] : n <= 0xFFFF ? [0xDC] + be(UInt64(n), 2) : [0xDD] + be(UInt64(n), 4)
        return header + elements.flatMap { $0 }
    }
    static func map(_ members: [(String, [UInt8])]) -> [UInt8] {
        let n = members.count
        let header: [UInt8] = n < 16 ? [0x80 | UInt8(n)] : n <= 0xFFFF ? [0xDE] + be(UInt64(n), 2) : [0xDF] + be(UInt64(n), 4)
        return header + members.flatMap { str($0.0) + $0.1 }
    }
    static func str(_ s: String) -> [UInt8] { strBytes(Array(s.utf8)) }
    static func strBytes(_ b: [UInt8]) -> [UInt8] {
        let n = b.count
        let header: [UInt8] = n < 32 ? [0xA0 | UInt8(n)] : n <= 0xFF ? [0xD9, UInt8(n)]
            : n <= 0xFFFF ? [0xDA] + be(UInt64(n), 2) : [0xDB] + be(UInt64(n), 4)
        return header + b
    }
    static func bin(_ b: [UInt8]) -> [UInt8] {
        let n = b.count
        let header: [UInt8] = n <= 0xFF ? [0xC4, UInt8(n)] : n <= 0xFFFF ? [0xC5] + be(UInt64(n), 2) : [0xC6] + be(UInt64(n), 4)
        return header + b
    }
    static func uint(_ v: UInt64) -> [UInt8] {
        v < 0x80 ? [UInt8(v)] : v <= 0xFF ? [0xCC, UInt8(v)] : v <= 0xFFFF ? [0xCD] + be(v, 2)
            : v <= 0xFFFF_FFFF ? [0xCE] + be(v, 4) : [0xCF] + be(v, 8)
    }
    static func double(_ d: Double) -> [UInt8] { [0xCB] + be(d.bitPattern, 8) }
    static func float(_ f: Float) -> [UInt8] { [0xCA] + be(UInt64(f.bitPattern), 4) }
    static let null: [UInt8] = [0xC0]
    static let `true`: [UInt8] = [0xC3]
    static let `false`: [UInt8] = [0xC2]
}

/// Scans `bytes` as a MessagePack WAMP message and hands the view to `body` while the bytes are alive.
func withMsgpackMessage<R>(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line,
                           _ body: (WampMessageView) throws -> R) throws -> R {
    try bytes.withUnsafeBytes { buffer in
        switch MessagePackScanner.scanMessage(buffer) {
        case .success(let view):
            return try body(view)
        case .failure(let error):
            XCTFail("scanMessage refused \(bytes): \(error)", file: file, line: line)
            throw error
        }
    }
}

/// The MessagePack scanner's error for a message (nil when accepted).
func msgpackMessageError(_ bytes: [UInt8]) -> JSONScanError? {
    bytes.withUnsafeBytes { buffer in
        if case .failure(let error) = MessagePackScanner.scanMessage(buffer) { return error }
        return nil
    }
}

/// The MessagePack scanner's error for a single value (nil when accepted).
func msgpackValueError(_ bytes: [UInt8]) -> JSONScanError? {
    bytes.withUnsafeBytes { buffer in
        if case .failure(let error) = MessagePackScanner.scanValue(buffer) { return error }
        return nil
    }
}

func msgpackParse(_ bytes: [UInt8]) throws -> JSONValue {
    try MessagePackScanner.parse(bytes).get()
}

/// Mirrors canonical() in Fixtures/generate_msgpack_differential.py: ints as decimal, floats by
/// their float64 bits, strings and binaries as hex.
func canonicalForm(_ v: JSONValue) -> String {
    switch v {
    case .null: return "n"
    case .bool(let b): return b ? "t" : "f"
    case .number(let n):
        if let i = n.integer { return "i\(i)" }
        if !n.text.isEmpty, n.text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let u = UInt64(n.text) { return "i\(u)" }
        return "d" + String(format: "%016llx", n.double.bitPattern)
    case .string(let s): return "s" + s.utf8.map { String(format: "%02x", $0) }.joined() + ";"
    case .binary(let b): return "b" + b.map { String(format: "%02x", $0) }.joined() + ";"
    case .array(let elements): return "[" + elements.map(canonicalForm).joined(separator: ",") + "]"
    case .object(let members):
        return "{" + members.map { "k" + $0.key.utf8.map { String(format: "%02x", $0) }.joined() + "=" + canonicalForm($0.value) }
            .joined(separator: ",") + "}"
    }
}

func fnv1a64Hex(_ s: String) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return String(format: "%016llx", h)
}

/// jemalloc's counter of bytes allocated by the calling thread, found with dlsym (nil when jemalloc
/// is not in the process).
enum ThreadAllocationCounter {
    typealias Mallctl = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?,
                                        UnsafeMutableRawPointer?, Int) -> Int32
    static func pointer() -> UnsafePointer<UInt64>? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallctl") else { return nil }
        let mallctl = unsafeBitCast(symbol, to: Mallctl.self)
        var pointer: UnsafeMutablePointer<UInt64>? = nil
        var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
        guard mallctl("thread.allocatedp", &pointer, &size, nil, 0) == 0, let pointer else { return nil }
        return UnsafePointer(pointer)
    }
}
