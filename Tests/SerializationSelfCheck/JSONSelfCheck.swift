// JSONSelfCheck: properties that must hold between the JSON scanner, the views, the decoder and the
// writer for ANY input bytes (FormatSelfCheck's shared ones; a written value reads back equal).

import BrokerSerialization

public enum JSONSelfCheck {
    /// nil when every property holds for `bytes`, else what broke.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> String? {
        switch FormatSelfCheck.scan(JSONScanner.self, bytes) {
        case .broken(let what): return what
        case .refused: return nil
        case .accepted(let top):
            return FormatSelfCheck.checkWriteIsStable(JSONScanner.self, JSONScanner.decodeValue(bytes, top), sameValue: true) {
                JSONWriter.appendValue($0, to: &$1)
            }
        }
    }
}
