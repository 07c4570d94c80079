// ConfigIssue / ConfigError: what check-config prints. Each issue names the JSON path of the
// offending value ("$.listeners[1].port") so a user can find it without guessing; a ConfigError
// carries every issue found in one pass, not just the first.

import BrokerSerialization

/// One problem in a configuration, located by its JSON path.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// JSONPath-style location, e.g. `$.listeners[1].port`; `$` is the document itself.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `$.listeners[1].port: expected an integer from 1 to 65535, got "80a"`
    public var description: String { "\(path): \(message)" }
}

/// Every problem found in a configuration, in document order.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) { self.issues = issues }

    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Renders JSON values inside messages: short, unambiguous, never the whole document.
enum ConfigValueText {
    static let maxShown = 60

    static func describe(_ value: JSONTreeValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text, _): return text.count > maxShown ? String(text.prefix(maxShown)) + "…" : text
        case .string(let s): return quoted(s)
        case .array(let elements): return elements.isEmpty ? "an empty array" : "an array"
        case .object(let members): return members.isEmpty ? "an empty object" : "an object"
        }
    }

    /// A string as a JSON string literal (JSONWriter's quoting), cut short when long.
    static func quoted(_ s: String) -> String {
        guard s.unicodeScalars.count > maxShown else { return JSONWriter.quoted(s) }
        var prefix = String.UnicodeScalarView()
        prefix.append(contentsOf: s.unicodeScalars.prefix(maxShown))
        return String(JSONWriter.quoted(String(prefix)).dropLast()) + "…\""
    }

    /// `"a", "b" or "c"`
    static func list(_ names: [String]) -> String {
        let quotedNames = names.map { quoted($0) }
        guard quotedNames.count > 1 else { return quotedNames.first ?? "" }
        return quotedNames.dropLast().joined(separator: ", ") + " or " + quotedNames.last!
    }
}
