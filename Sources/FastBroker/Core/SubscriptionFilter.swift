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

        var values: [String: FilterValue] = [:]
        if let valuesSpan {
            guard valuesSpan.kind == .object else {
                return .failure(.invalidArgument("options.filter_values must be a dict like {\":v\": 10}"))
            }
            var entries = 0
            for (keySpan, valueSpan) in JSONObjectView(buffer: buffer, span: valuesSpan) {
                entries += 1
                guard entries <= maxPlaceholderEntries else { return .failure(tooManyEntries("filter_values")) }
                let key = JSONScanner.decodeString(buffer, keySpan)
                switch FilterValueBinding.value(buffer, valueSpan) {
                case .success(let value): values[key] = value
                case .failure(let problem):
                    return .failure(.invalidArgument("options.filter_values[\"\(key)\"]: \(problem.message)"))
                }
            }
        }
        var names: [String: String] = [:]
        if let namesSpan {
            guard namesSpan.kind == .object else {
                return .failure(.invalidArgument("options.filter_names must be a dict like {\"#n\": \"name\"}"))
            }
            var entries = 0
            for (keySpan, valueSpan) in JSONObjectView(buffer: buffer, span: namesSpan) {
                entries += 1
                guard entries <= maxPlaceholderEntries else { return .failure(tooManyEntries("filter_names")) }
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

    private static func tooManyEntries(_ option: String) -> SubscribeRefusal {
        .invalidArgument("options.\(option) has more than \(maxPlaceholderEntries) entries: "
            + "a filter expression of at most \(FilterProgram.maxExpressionBytes) bytes cannot use them all")
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
