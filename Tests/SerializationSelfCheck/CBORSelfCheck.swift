// CBORSelfCheck: properties that must hold between the CBOR scanner, the views, the decoder, the
// writer and the transcoders for ANY input bytes: FormatSelfCheck's shared ones, skip agrees with
// the scanner, the definite-length rewrite leaves none and passes every check, and CBOR → JSON,
// JSON → CBOR → JSON and CBOR → MessagePack → JSON agree.

import BrokerSerialization
import WireCodec

public enum CBORSelfCheck {
    /// nil when every property holds for `bytes`, else what broke.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> String? {
        let top: JSONSpan
        switch FormatSelfCheck.scan(CBORScanner.self, bytes) {
        case .broken(let what): return what
        case .refused: return checkRefused(bytes)
        case .accepted(let span): top = span
        }
        let tagged = bytes.count >= 3 && bytes[0] == 0xD9 && bytes[1] == 0xD9 && bytes[2] == 0xF7
        guard top.start == (tagged ? 3 : 0), top.end == bytes.count else {
            return "top span \(top) does not cover the input"
        }
        if CBORReader.skip(bytes, top.start, bytes.count) != bytes.count {
            return "skip() disagrees with the scanner on the item's end"
        }
        if let broken = FormatSelfCheck.checkWriteIsStable(CBORScanner.self, JSONScanner.decodeValue(bytes, top), sameValue: false, write: {
            CBORWriter.appendValue($0, to: &$1)
        }) { return broken }
        return checkTranscoders(UnsafeRawBufferPointer(rebasing: bytes[top.start..<top.end]))
    }

    /// Refused input: the transcoders survive it, and an indefinite-length rewrite of it passes.
    private static func checkRefused(_ bytes: UnsafeRawBufferPointer) -> String? {
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
    }

    /// CBOR → JSON is valid JSON; JSON → CBOR → JSON and CBOR → MessagePack → JSON give the same JSON.
    private static func checkTranscoders(_ item: UnsafeRawBufferPointer) -> String? {
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
