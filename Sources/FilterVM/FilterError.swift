// FilterError: what went wrong while compiling a filter (or parsing a filter value), and where.
// Only compile time produces these; evaluation never fails (a type mismatch is just false).

/// A compile-time error. `column` is 1-based, in Unicode scalars of the expression (or bytes of
/// a JSON value); nil when the error is not tied to a place in the text (e.g. an unused value).
public struct FilterError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public var column: Int?

    public init(_ message: String, column: Int? = nil) {
        self.message = message
        self.column = column
    }

    /// `"expected ')' at column 17"`: the text the broker sends back in wamp.error.invalid_argument.
    public var description: String {
        guard let column else { return message }
        return "\(message) at column \(column)"
    }
}
