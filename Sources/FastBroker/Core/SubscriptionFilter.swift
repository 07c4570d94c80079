// SUBSCRIBE-time handling of content filters (SPEC §5.1): reads `filter`, `filter_values`,
// `filter_names` (or their `_`-prefixed forms) from the options and compiles them once into a
// FilterProgram. Errors come back as text for a `wamp.error.invalid_argument` ERROR.

import BrokerSerialization
import FilterVM

enum SubscriptionFilter {
    /// nil when the options carry no filter; otherwise the compiled program or what is wrong.
    static func compile(from options: JSONObjectView) -> Result<FilterProgram, SubscribeRefusal>? {
        let expressionSpan = options.value(forKey: "filter") ?? options.value(forKey: "_filter")
        let valuesSpan = options.value(forKey: "filter_values") ?? options.value(forKey: "_filter_values")
        let namesSpan = options.value(forKey: "filter_names") ?? options.value(forKey: "_filter_names")
        guard let expressionSpan else {
            if valuesSpan != nil || namesSpan != nil {
                return .failure(.invalidArgument("options.filter_values / filter_names given without options.filter"))
            }
            return nil
        }
        let buffer = options.buffer
        guard expressionSpan.kind == .string else {
            return .failure(.invalidArgument("options.filter must be a string (a DynamoDB filter expression)"))
        }
        let expression = JSONScanner.decodeString(buffer, expressionSpan)

        var values: [String: FilterValue] = [:]
        if let valuesSpan {
            guard valuesSpan.kind == .object else {
                return .failure(.invalidArgument("options.filter_values must be a dict like {\":v\": 10}"))
            }
            for (keySpan, valueSpan) in JSONObjectView(buffer: buffer, span: valuesSpan) {
                let key = JSONScanner.decodeString(buffer, keySpan)
                var bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[valueSpan.start..<valueSpan.end]))
                if valueSpan.format == .msgpack {
                    // FilterValue reads JSON: a MessagePack value goes through the payload transcoder
                    // (binary becomes the WAMP "\u0000"+base64 string, as it would in a JSON EVENT).
                    var json: [UInt8] = []
                    PayloadTranscoder.messagePackToJSON(UnsafeRawBufferPointer(rebasing: buffer[valueSpan.start..<valueSpan.end]), into: &json)
                    bytes = json
                }
                do {
                    values[key] = try FilterValue(json: bytes)
                } catch {
                    return .failure(.invalidArgument("options.filter_values[\"\(key)\"]: \(error.message)"))
                }
            }
        }
        var names: [String: String] = [:]
        if let namesSpan {
            guard namesSpan.kind == .object else {
                return .failure(.invalidArgument("options.filter_names must be a dict like {\"#n\": \"name\"}"))
            }
            for (keySpan, valueSpan) in JSONObjectView(buffer: buffer, span: namesSpan) {
                let key = JSONScanner.decodeString(buffer, keySpan)
                guard valueSpan.kind == .string else {
                    return .failure(.invalidArgument("options.filter_names[\"\(key)\"] must be a string"))
                }
                names[key] = JSONScanner.decodeString(buffer, valueSpan)
            }
        }
        do {
            return .success(try FilterProgram.compile(expression, values: values, names: names))
        } catch {
            return .failure(.invalidArgument("invalid filter: \(error)"))
        }
    }
}

/// Why a SUBSCRIBE was refused: the ERROR's message and URI.
struct SubscribeRefusal: Error {
    var message: String
    var uri: String

    static func invalidArgument(_ message: String) -> SubscribeRefusal {
        SubscribeRefusal(message: message, uri: WampURI.invalidArgument)
    }
}
