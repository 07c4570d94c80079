// The one error type of the user database: loading, parsing, reloading and `user add`. Its
// text names the file and, for content errors, the JSON path, so an operator can find the
// offending record: "users.json: $[1].iterations: expected a positive integer".

public struct UserDatabaseError: Error, CustomStringConvertible, Equatable {
    /// The file as the caller named it.
    public var file: String
    /// Where in the document, e.g. `$[1].iterations`; nil for errors about the file as a whole
    /// (cannot open it, bad arguments to `user add`).
    public var jsonPath: String?
    /// What is wrong, e.g. "expected a positive integer".
    public var reason: String
    // Made only inside this module (the memberwise init), read by anyone.

    public var description: String {
        if let jsonPath { return "\(file): \(jsonPath): \(reason)" }
        return "\(file): \(reason)"
    }
}
