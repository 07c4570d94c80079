// FormatSelfCheck: the properties every format's self-check shares, for ANY input bytes — scanValue
// and scanMessage agree, an error's offset stays inside the input and names the format, a message's
// element spans are the ones the array view walks, every map key compares equal in place to its
// decoded text, and writing a decoded value is stable. JSONSelfCheck, MessagePackSelfCheck and
// CBORSelfCheck add their format's own properties (skip, transcoders, definite lengths).
// Test code: the libFuzzer entries (fuzz/json, fuzz/msgpack, fuzz/cbor compile this folder) and the
// seed-corpus unit tests (SerializationTests) run the same checks. Allocates freely.

import BrokerSerialization

enum FormatSelfCheck {
    /// What scanning the input showed.
    enum Scan {
        /// Refused by both entries, consistently.
        case refused(JSONScanError)
        /// Accepted as a value (top-level span), consistently with scanMessage.
        case accepted(JSONSpan)
        /// A broken property.
        case broken(String)
    }

    /// The shared scanner, view and key properties for one format.
    static func scan<Scanner: WireScanner>(_: Scanner.Type, _ bytes: UnsafeRawBufferPointer) -> Scan {
        let format = Scanner.format
        let asMessage = Scanner.scanMessage(bytes)
        switch Scanner.scanValue(bytes) {
        case .failure(let error):
            guard error.offset >= 0 && error.offset <= bytes.count else {
                return .broken("error offset \(error.offset) outside 0...\(bytes.count)")
            }
            guard error.format == format else { return .broken("error not marked as \(format.displayName)") }
            if case .success = asMessage { return .broken("scanMessage accepted what scanValue refused (\(error))") }
            return .refused(error)
        case .success(let top):
            guard top.format == format else { return .broken("top span \(top) not marked as \(format.displayName)") }
            let elementSpans = top.kind == .array ? Array(JSONArrayView(buffer: bytes, span: top)) : []
            switch asMessage {
            case .success(let message):
                guard top.kind == .array else { return .broken("scanMessage accepted a non-array") }
                guard message.format == format else { return .broken("message view not marked as \(format.displayName)") }
                guard message.count == elementSpans.count else {
                    return .broken("message has \(message.count) elements, array view walks \(elementSpans.count)")
                }
                for k in 0..<message.count where message.span(k) != elementSpans[k] {
                    return .broken("element \(k): scanner span \(message.span(k)) != walked span \(elementSpans[k])")
                }
            case .failure(let error):
                if top.kind == .array && elementSpans.count <= Scanner.maxMessageElements {
                    return .broken("scanMessage refused a valid array of \(elementSpans.count) elements: \(error)")
                }
            }
            if let broken = checkKeys(bytes, top) { return .broken(broken) }
            return .accepted(top)
        }
    }

    /// decode → write → decode → write gives the same bytes (so NaN payloads count too); with
    /// `sameValue`, the value read back also equals `value` (formats without NaN: JSON).
    static func checkWriteIsStable<Scanner: WireScanner>(_: Scanner.Type, _ value: JSONValue, sameValue: Bool,
                                                         write: (JSONValue, inout [UInt8]) -> Void) -> String? {
        var written: [UInt8] = []
        write(value, &written)
        let again: JSONValue
        switch Scanner.parse(written) {
        case .success(let v): again = v
        case .failure(let error): return "writer output does not scan: \(error)"
        }
        if sameValue && again != value { return "decode(write(decode(x))) != decode(x)" }
        var rewritten: [UInt8] = []
        write(again, &rewritten)
        return rewritten == written ? nil : "write(decode(write(decode(x)))) != write(decode(x))"
    }

    /// Every object/map key must be a string that compares equal (in place) to its own decoded
    /// text (the views read every format alike).
    static func checkKeys(_ bytes: UnsafeRawBufferPointer, _ span: JSONSpan) -> String? {
        switch span.kind {
        case .object:
            for member in JSONObjectView(buffer: bytes, span: span) {
                guard member.key.kind == .string else { return "map key at byte \(member.key.start) is not a string" }
                var key = JSONScanner.decodeString(bytes, member.key)
                let equal = key.withUTF8 { JSONScanner.stringEquals(bytes, member.key, UnsafeRawBufferPointer($0)) }
                if !equal { return "stringEquals disagrees with decodeString for the key at byte \(member.key.start)" }
                if let broken = checkKeys(bytes, member.value) { return broken }
            }
        case .array:
            for element in JSONArrayView(buffer: bytes, span: span) {
                if let broken = checkKeys(bytes, element) { return broken }
            }
        default:
            break
        }
        return nil
    }
}
