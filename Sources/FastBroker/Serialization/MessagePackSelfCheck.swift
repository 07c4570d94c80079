// MessagePackSelfCheck: properties that must hold between the MessagePack scanner, the views, the
// decoder, the writer and the transcoder for ANY input bytes. The libFuzzer entry (fuzz/msgpack) and
// the seed-corpus unit test both run it, so a fuzzer finding and a unit-test failure report the same
// thing. Allocates freely (test use only).

public enum MessagePackSelfCheck {
    /// nil when every property holds for `bytes`, else what broke.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> String? {
        let asValue = MessagePackScanner.scanValue(bytes)
        let asMessage = MessagePackScanner.scanMessage(bytes)

        switch asValue {
        case .failure(let error):
            guard error.offset >= 0 && error.offset <= bytes.count else {
                return "error offset \(error.offset) outside 0...\(bytes.count)"
            }
            guard error.format == .msgpack else { return "error not marked as MessagePack" }
            if case .success = asMessage { return "scanMessage accepted what scanValue refused (\(error))" }
            // The transcoder must survive unvalidated bytes too (no crash, no out-of-bounds read).
            var scratch: [UInt8] = []
            _ = PayloadTranscoder.messagePackToJSON(bytes, into: &scratch)
            return nil
        case .success(let top):
            guard top.start == 0, top.end == bytes.count, top.format == .msgpack else {
                return "top span \(top) does not cover the input"
            }
            if ValidatedMessagePack.skip(bytes, 0, bytes.count) != bytes.count {
                return "skip() disagrees with the scanner on the value's end"
            }
            let elementSpans = top.kind == .array ? Array(JSONArrayView(buffer: bytes, span: top)) : []
            switch asMessage {
            case .success(let message):
                guard top.kind == .array else { return "scanMessage accepted a non-array" }
                guard message.format == .msgpack else { return "message view not marked as MessagePack" }
                guard message.count == elementSpans.count else {
                    return "message has \(message.count) elements, array view walks \(elementSpans.count)"
                }
                for k in 0..<message.count where message.span(k) != elementSpans[k] {
                    return "element \(k): scanner span \(message.span(k)) != walked span \(elementSpans[k])"
                }
            case .failure(let error):
                if top.kind == .array && elementSpans.count <= MessagePackScanner.maxMessageElements {
                    return "scanMessage refused a valid array of \(elementSpans.count) elements: \(error)"
                }
            }
            if let broken = JSONSelfCheck.checkKeys(bytes, top) { return broken }
            // decode → write → decode → write is stable (compared as bytes, so NaN payloads count too).
            let value = JSONScanner.decodeValue(bytes, top)
            var written: [UInt8] = []
            MessagePackWriter.appendValue(value, to: &written)
            guard case .success(let again) = MessagePackScanner.parse(written) else {
                return "writer output does not scan"
            }
            var rewritten: [UInt8] = []
            MessagePackWriter.appendValue(again, to: &rewritten)
            if rewritten != written { return "write(decode(write(decode(x)))) != write(decode(x))" }
            // msgpack → JSON gives valid JSON; JSON → msgpack → JSON gives the same JSON bytes.
            var json: [UInt8] = []
            guard PayloadTranscoder.messagePackToJSON(bytes, into: &json) else { return "messagePackToJSON refused valid input" }
            guard case .success = json.withUnsafeBytes({ JSONScanner.scanValue($0) }) else {
                return "messagePackToJSON wrote invalid JSON: \(String(decoding: json, as: UTF8.self))"
            }
            var back: [UInt8] = []
            guard json.withUnsafeBytes({ PayloadTranscoder.jsonToMessagePack($0, into: &back) }) else {
                return "jsonToMessagePack refused the transcoder's own JSON"
            }
            guard case .success = back.withUnsafeBytes({ MessagePackScanner.scanValue($0) }) else {
                return "jsonToMessagePack wrote invalid MessagePack"
            }
            var jsonAgain: [UInt8] = []
            guard back.withUnsafeBytes({ PayloadTranscoder.messagePackToJSON($0, into: &jsonAgain) }), jsonAgain == json else {
                return "msgpack → JSON → msgpack → JSON changed the JSON"
            }
            return nil
        }
    }
}
