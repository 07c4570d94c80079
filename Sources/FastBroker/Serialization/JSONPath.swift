// JSONPath and JSONTextLocation: how every cold-path complaint (config, userdb) says where it is.
// A path names the value (`$.listeners[1].port`, `$["odd key"]`); a location names the text
// (1-based line and column), for syntax errors and duplicate keys.

/// A JSON path in the `$.name[1]["odd key"]` notation used by every configuration and userdb error.
public struct JSONPath: Equatable, Sendable, CustomStringConvertible {
    public private(set) var description: String

    /// `$`, the document itself.
    public init() { description = "$" }

    public func key(_ k: String) -> JSONPath {
        var p = self
        p.description = Self.member(description, k)
        return p
    }

    public func index(_ i: Int) -> JSONPath {
        var p = self
        p.description = Self.element(description, i)
        return p
    }

    /// `parent.key` for identifier keys, `parent["odd key"]` otherwise (for callers holding text).
    public static func member(_ parent: String, _ key: String) -> String {
        if isIdentifier(key) { return parent + "." + key }
        return parent + "[" + JSONWriter.quoted(key) + "]"
    }

    /// `parent[index]`.
    public static func element(_ parent: String, _ index: Int) -> String { parent + "[\(index)]" }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return key.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "_")
        }
    }
}

/// Line and column of a byte offset in a document, counted only when an error is reported.
public enum JSONTextLocation {
    /// 1-based line and column (in Unicode scalars: UTF-8 continuation bytes do not start a column).
    public static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for b in bytes[0..<min(max(offset, 0), bytes.count)] {
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}
