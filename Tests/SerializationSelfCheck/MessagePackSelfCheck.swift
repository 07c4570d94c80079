// MessagePackSelfCheck: properties that must hold between the MessagePack scanner, the views, the
// decoder, the writer and the transcoder for ANY input bytes: FormatSelfCheck's shared ones, skip
// agrees with the scanner, and msgpack → JSON → msgpack → JSON is stable.

import BrokerSerialization
import WireCodec

public enum MessagePackSelfCheck {
    /// nil when every property holds for `bytes`, else what broke.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> String? {
        let top: JSONSpan
        switch FormatSelfCheck.scan(MessagePackScanner.self, bytes) {
        case .broken(let what): return what
        case .refused:
            // The transcoder must survive unvalidated bytes too (no crash, no out-of-bounds read).
            var scratch: [UInt8] = []
            _ = PayloadTranscoder.messagePackToJSON(bytes, into: &scratch)
            return nil
        case .accepted(let span): top = span
        }
        guard top.start == 0, top.end == bytes.count else { return "top span \(top) does not cover the input" }
        if MessagePackReader.skip(bytes, 0, bytes.count) != bytes.count {
            return "skip() disagrees with the scanner on the value's end"
        }
        if let broken = FormatSelfCheck.checkWriteIsStable(MessagePackScanner.self, JSONScanner.decodeValue(bytes, top), sameValue: false, write: {
            MessagePackWriter.appendValue($0, to: &$1)
        }) { return broken }
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
