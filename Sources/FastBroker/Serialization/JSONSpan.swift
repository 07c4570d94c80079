// JSONSpan: the token model shared by the scanner, the views and the decoder. A span names one
// JSON value by byte offsets into the buffer it was scanned from, so nothing is copied or decoded
// until a caller asks for it.

/// The kind of a JSON value, read from its first byte.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null
}

/// One JSON value inside a buffer: `start..<end` are byte offsets into that buffer (end exclusive).
/// A string span includes its quotes; a container span includes its brackets.
public struct JSONSpan: Equatable, Sendable {
    public var start: Int
    public var end: Int
    public var kind: JSONKind

    public init(start: Int, end: Int, kind: JSONKind) {
        self.start = start
        self.end = end
        self.kind = kind
    }

    @inlinable public var count: Int { end - start }
}

/// Why a buffer is not acceptable JSON (or not an acceptable WAMP envelope), and where.
public struct JSONScanError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Byte offset of the offending byte (the buffer's length when the input ended too early).
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}
