// JSONSelfCheck: properties that must hold between the scanner, the views, the decoder and the writer
// for ANY input bytes. The libFuzzer entry (fuzz/json) and the seed-corpus unit test both run it, so a
// fuzzer finding and a unit-test failure report the same thing. Allocates freely (test use only).

public enum JSONSelfCheck {
    /// nil when every property holds for `bytes`, else what broke.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> String? {
        let asValue = JSONScanner.scanValue(bytes)
        let asMessage = JSONScanner.scanMessage(bytes)

        switch asValue {
        case .failure(let error):
            guard error.offset >= 0 && error.offset <= bytes.count else {
                return "error offset \(error.offset) outside 0...\(bytes.count)"
            }
            if case .success = asMessage { return "scanMessage accepted what scanValue refused (\(error))" }
            return nil
        case .success(let top):
            let topArray = JSONArrayView(buffer: bytes, span: top)
            let elementSpans = top.kind == .array ? Array(topArray) : []
            switch asMessage {
            case .success(let message):
                guard top.kind == .array else { return "scanMessage accepted a non-array" }
                guard message.count == elementSpans.count else {
                    return "message has \(message.count) elements, array view walks \(elementSpans.count)"
                }
                for k in 0..<message.count where message.span(k) != elementSpans[k] {
                    return "element \(k): scanner span \(message.span(k)) != walked span \(elementSpans[k])"
                }
            case .failure(let error):
                if top.kind == .array && elementSpans.count <= JSONScanner.maxMessageElements {
                    return "scanMessage refused a valid array of \(elementSpans.count) elements: \(error)"
                }
            }
            let value = JSONScanner.decodeValue(bytes, top)
            if let broken = checkKeys(bytes, top) { return broken }
            var written: [UInt8] = []
            JSONWriter.appendValue(value, to: &written)
            let reread = written.withUnsafeBytes { JSONScanner.parse($0) }
            switch reread {
            case .failure(let error):
                return "writer output does not scan: \(error)"
            case .success(let again):
                if again != value { return "decode(write(decode(x))) != decode(x)" }
            }
            return nil
        }
    }

    /// Every object/map key must be a string that compares equal (in place) to its own decoded
    /// text. The views are format-aware, so MessagePackSelfCheck uses this too.
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
