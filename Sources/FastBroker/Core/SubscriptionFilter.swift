// SUBSCRIBE-time handling of content filters (SPEC §5.1): reads `filter`, `filter_values`,
// `filter_names` (or their `_`-prefixed forms) from the options and compiles them once into a
// FilterProgram. Errors come back as text for a `wamp.error.invalid_argument` ERROR.

import BrokerSerialization
import FilterVM

enum SubscriptionFilter {
    /// Most entries filter_values or filter_names may have: every entry must be used in the
    /// expression, and a placeholder takes at least two of its bytes (":v", "#n"). Checked while
    /// reading, so a MiB of entries is refused before it is decoded (or echoed as "unused").
    static let maxPlaceholderEntries = FilterProgram.maxExpressionBytes / 2

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

        let values: [String: FilterValue], names: [String: String]
        do throws(SubscribeRefusal) {
            values = try placeholders(valuesSpan, in: buffer, option: "filter_values", example: #"{":v": 10}"#) {
                (key, value) throws(SubscribeRefusal) -> FilterValue in
                try FilterValueBinding.value(buffer, value)
                    .mapError { SubscribeRefusal.invalidArgument("options.filter_values[\"\(key)\"]: \($0.message)") }.get()
            }
            names = try placeholders(namesSpan, in: buffer, option: "filter_names", example: ##"{"#n": "name"}"##) {
                (key, value) throws(SubscribeRefusal) -> String in
                guard value.kind == .string else { throw .invalidArgument("options.filter_names[\"\(key)\"] must be a string") }
                return JSONScanner.decodeString(buffer, value)
            }
        } catch {
            return .failure(error)
        }
        do {
            return .success(try FilterProgram.compile(expression, values: values, names: names))
        } catch {
            return .failure(.invalidArgument("invalid filter: \(error)"))
        }
    }

    /// Reads a placeholder dict (`filter_values`, `filter_names`; empty when absent), each entry's
    /// value through `bind`. Counted while reading, so a huge dict is refused before its values
    /// are decoded.
    private static func placeholders<Value>(
        _ span: JSONSpan?, in buffer: UnsafeRawBufferPointer, option: String, example: String,
        _ bind: (String, JSONSpan) throws(SubscribeRefusal) -> Value
    ) throws(SubscribeRefusal) -> [String: Value] {
        var result: [String: Value] = [:]
        guard let span else { return result }
        guard span.kind == .object else { throw .invalidArgument("options.\(option) must be a dict like \(example)") }
        var entries = 0
        for (keySpan, valueSpan) in JSONObjectView(buffer: buffer, span: span) {
            entries += 1
            guard entries <= maxPlaceholderEntries else {
                throw .invalidArgument("options.\(option) has more than \(maxPlaceholderEntries) entries: "
                    + "a filter expression of at most \(FilterProgram.maxExpressionBytes) bytes cannot use them all")
            }
            let key = JSONScanner.decodeString(buffer, keySpan)
            result[key] = try bind(key, valueSpan)
        }
        return result
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
