// CBORSelfCheck: properties that must hold between the CBOR scanner, the views, the decoder, the
// writer and the transcoders for ANY input bytes. The libFuzzer entry (fuzz/cbor) and the seed-corpus
// unit test both run it, so a fuzzer finding and a unit-test failure report the same thing.
// Allocates freely (test use only).

import WireCodec

public enum CBORSelfCheck {
    /// nil when every property holds for `bytes`, else what broke.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> String? {
        let asValue = CBORScanner.scanValue(bytes)
        let asMessage = CBORScanner.scanMessage(bytes)
        switch asValue {
        case .failure(let error):
            guard error.offset >= 0 && error.offset <= bytes.count else {
                return "error offset \(error.offset) outside 0...\(bytes.count)"
            }
            guard error.format == .cbor else { return "error not marked as CBOR" }
            if case .success = asMessage { return "scanMessage accepted what scanValue refused (\(error))" }
            // The transcoders must survive unvalidated bytes too (no crash, no out-of-bounds read).
            var scratch: [UInt8] = []
            _ = PayloadTranscoder.transcode(bytes, from: .cbor, to: .json, into: &scratch)
            _ = PayloadTranscoder.transcode(bytes, from: .cbor, to: .msgpack, into: &scratch)
            // Indefinite lengths: the rewrite leaves none, and what it wrote passes every check.
            if case .success(let definite)? = CBORDefiniteLengths.rewrite(bytes) {
                if definite.withUnsafeBytes({ CBORDefiniteLengths.rewrite($0) }) != nil { return "the rewrite left an indefinite length" }
                if let broken = definite.withUnsafeBytes({ check($0) }) { return "after the definite-length rewrite: \(broken)" }
            }
            return nil
        case .success(let top):
            let tagged = bytes.count >= 3 && bytes[0] == 0xD9 && bytes[1] == 0xD9 && bytes[2] == 0xF7
            guard top.start == (tagged ? 3 : 0), top.end == bytes.count, top.format == .cbor else {
                return "top span \(top) does not cover the input"
            }
            if CBORReader.skip(bytes, top.start, bytes.count) != bytes.count {
                return "skip() disagrees with the scanner on the item's end"
            }
            let elementSpans = top.kind == .array ? Array(JSONArrayView(buffer: bytes, span: top)) : []
            switch asMessage {
            case .success(let message):
                guard top.kind == .array, message.format == .cbor else { return "scanMessage accepted a non-array" }
                guard message.count == elementSpans.count else {
                    return "message has \(message.count) elements, array view walks \(elementSpans.count)"
                }
                for k in 0..<message.count where message.span(k) != elementSpans[k] {
                    return "element \(k): scanner span \(message.span(k)) != walked span \(elementSpans[k])"
                }
            case .failure(let error):
                if top.kind == .array && elementSpans.count <= CBORScanner.maxMessageElements {
                    return "scanMessage refused a valid array of \(elementSpans.count) elements: \(error)"
                }
            }
            if let broken = JSONSelfCheck.checkKeys(bytes, top) { return broken }
            let item = UnsafeRawBufferPointer(rebasing: bytes[top.start..<top.end])
            // decode → write → decode → write is stable (compared as bytes, so NaN payloads count too).
            var written: [UInt8] = []
            CBORWriter.appendValue(JSONScanner.decodeValue(bytes, top), to: &written)
            guard case .success(let again) = CBORScanner.parse(written) else { return "writer output does not scan" }
            var rewritten: [UInt8] = []
            CBORWriter.appendValue(again, to: &rewritten)
            if rewritten != written { return "write(decode(write(decode(x)))) != write(decode(x))" }
            // CBOR → JSON is valid JSON; JSON → CBOR → JSON and CBOR → MessagePack → JSON give the same JSON.
            var json: [UInt8] = []
            guard PayloadTranscoder.transcode(item, from: .cbor, to: .json, into: &json) else { return "CBOR → JSON refused valid input" }
            guard case .success = json.withUnsafeBytes({ JSONScanner.scanValue($0) }) else {
                return "CBOR → JSON wrote invalid JSON: \(String(decoding: json, as: UTF8.self))"
            }
            var back: [UInt8] = []
            guard json.withUnsafeBytes({ PayloadTranscoder.transcode($0, from: .json, to: .cbor, into: &back) }),
                  case .success = back.withUnsafeBytes({ CBORScanner.scanValue($0) }) else {
                return "JSON → CBOR refused the transcoder's own JSON or wrote invalid CBOR"
            }
            var jsonAgain: [UInt8] = []
            guard back.withUnsafeBytes({ PayloadTranscoder.transcode($0, from: .cbor, to: .json, into: &jsonAgain) }), jsonAgain == json else {
                return "CBOR → JSON → CBOR → JSON changed the JSON"
            }
            var msgpack: [UInt8] = []
            guard PayloadTranscoder.transcode(item, from: .cbor, to: .msgpack, into: &msgpack),
                  case .success = msgpack.withUnsafeBytes({ MessagePackScanner.scanValue($0) }) else {
                return "CBOR → MessagePack refused valid input or wrote invalid MessagePack"
            }
            var viaMsgpack: [UInt8] = []
            guard msgpack.withUnsafeBytes({ PayloadTranscoder.transcode($0, from: .msgpack, to: .json, into: &viaMsgpack) }),
                  viaMsgpack == json else {
                return "CBOR → MessagePack → JSON differs from CBOR → JSON"
            }
            return nil
        }
    }
}
