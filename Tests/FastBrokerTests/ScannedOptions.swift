// Test support: an options dict written as JSON text, scanned in either wire format and handed
// over as the message view the broker parses (PublishOptions, SubscribeOptions).

@testable import FastBroker
import BrokerSerialization

/// Scans `json` (an options dict) in `format` and hands its view to `body`.
func withOptions<T>(_ json: String, _ format: WireFormat = .json, _ body: (JSONObjectView) throws -> T) rethrows -> T {
    var bytes = Array(json.utf8)
    if format == .msgpack {
        let value = bytes.withUnsafeBytes { try! JSONScanner.parse($0).get() }
        bytes = []
        MessagePackWriter.appendValue(value, to: &bytes)
    }
    return try bytes.withUnsafeBytes { buffer in
        let span = format == .msgpack ? try! MessagePackScanner.scanValue(buffer).get() : try! JSONScanner.scanValue(buffer).get()
        return try body(JSONObjectView(buffer: buffer, span: span))
    }
}
