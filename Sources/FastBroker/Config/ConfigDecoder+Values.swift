// ConfigDecoder+Values: typed accessors for JSON tree nodes. Each reports its own problem with
// the JSON path and returns nil, so a wrong value is skipped and decoding goes on.

import BrokerSerialization

extension ConfigDecoder {
    /// The node as an object whose keys are all in `allowed`; unknown keys are reported (the reader
    /// already refused duplicates).
    mutating func object(_ node: JSONTreeNode, at path: String, allowed: [String]) -> ConfigObject? {
        guard case .object(let members) = node.value else {
            report(path, "expected an object, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        var byKey: [String: JSONTreeNode] = [:]
        for member in members {
            let memberPath = JSONPath.member(path, member.key)
            guard allowed.contains(member.key) else {
                var message = "unknown key \(ConfigValueText.quoted(member.key))"
                if let guess = ConfigKeySuggestion.closest(to: member.key, in: allowed) {
                    message += " (did you mean \(ConfigValueText.quoted(guess))?)"
                }
                message += "; allowed keys: " + allowed.joined(separator: ", ")
                report(memberPath, message)
                continue
            }
            byKey[member.key] = member.node
        }
        return ConfigObject(path: path, members: byKey)
    }

    mutating func require(_ object: ConfigObject, _ key: String) -> JSONTreeNode? {
        guard let node = object[key] else {
            report(object.path, "missing required key \(ConfigValueText.quoted(key))")
            return nil
        }
        return node
    }

    mutating func array(_ node: JSONTreeNode, at path: String) -> [JSONTreeNode]? {
        guard case .array(let elements) = node.value else {
            report(path, "expected an array, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        return elements
    }

    mutating func string(_ node: JSONTreeNode, at path: String, nonEmpty: Bool = false) -> String? {
        guard case .string(let value) = node.value else {
            report(path, "expected a string, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        if nonEmpty && value.isEmpty {
            report(path, "expected a non-empty string")
            return nil
        }
        return value
    }

    mutating func bool(_ node: JSONTreeNode, at path: String) -> Bool? {
        guard case .bool(let value) = node.value else {
            report(path, "expected true or false, got \(ConfigValueText.describe(node.value))")
            return nil
        }
        return value
    }

    /// An integer within `range`; `expected` describes the range in the message.
    mutating func integer(_ node: JSONTreeNode, at path: String, in range: ClosedRange<Int>, _ expected: String) -> Int? {
        guard case .number(let text, let isInteger) = node.value, isInteger, let value = Int(text), range.contains(value) else {
            report(path, "expected \(expected), got \(ConfigValueText.describe(node.value))")
            return nil
        }
        return value
    }

    /// One of an enumeration's raw values.
    mutating func choice<E: RawRepresentable & CaseIterable>(
        _ node: JSONTreeNode, at path: String, _ type: E.Type
    ) -> E? where E.RawValue == String {
        if case .string(let text) = node.value, let value = E(rawValue: text) { return value }
        let names = E.allCases.map(\.rawValue)
        var message = "expected \(ConfigValueText.list(names)), got \(ConfigValueText.describe(node.value))"
        if case .string(let text) = node.value, let guess = ConfigKeySuggestion.closest(to: text, in: names) {
            message += " (did you mean \(ConfigValueText.quoted(guess))?)"
        }
        report(path, message)
        return nil
    }

    /// A non-empty path string, resolved against the configuration's directory, naming a readable file.
    mutating func file(_ node: JSONTreeNode, at path: String) -> String? {
        guard let written = string(node, at: path, nonEmpty: true) else { return nil }
        let resolved = ConfigFilePath.resolve(written, against: baseDirectory)
        if let problem = ConfigFilePath.problemReading(resolved) {
            report(path, "cannot use \(ConfigValueText.quoted(written)): \(problem)")
            return nil
        }
        return resolved
    }
}
