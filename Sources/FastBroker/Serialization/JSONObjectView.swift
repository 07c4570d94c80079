// JSONObjectView: lookups in one validated JSON object without decoding it. Members are found by
// walking the bytes on each lookup (options and details objects are small), keys are compared in
// place, escapes included. With duplicate keys the last one wins, as in Python's and JS's parsers.

public struct JSONObjectView: Sequence {
    public let buffer: UnsafeRawBufferPointer
    /// The object's span, braces included.
    public let span: JSONSpan

    public init(buffer: UnsafeRawBufferPointer, span: JSONSpan) {
        self.buffer = buffer
        self.span = span
    }

    /// Iterates members in order: `key` is the string token (quotes included), `value` its value.
    public struct Iterator: IteratorProtocol {
        let buffer: UnsafeRawBufferPointer
        var i: Int
        let limit: Int  // index of the closing brace

        public mutating func next() -> (key: JSONSpan, value: JSONSpan)? {
            i = ValidatedJSON.skipWhitespace(buffer, i, limit)
            if i < limit && buffer[i] == UInt8(ascii: ",") {
                i = ValidatedJSON.skipWhitespace(buffer, i + 1, limit)
            }
            guard i < limit, buffer[i] == UInt8(ascii: "\"") else { return nil }
            let key = JSONSpan(start: i, end: ValidatedJSON.stringEnd(buffer, i, limit), kind: .string)
            i = ValidatedJSON.skipWhitespace(buffer, key.end, limit)
            guard i < limit, buffer[i] == UInt8(ascii: ":") else { return nil }
            i = ValidatedJSON.skipWhitespace(buffer, i + 1, limit)
            guard i < limit else { return nil }
            let value = ValidatedJSON.value(buffer, i, limit)
            i = value.end
            return (key, value)
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(buffer: buffer, i: span.start + 1, limit: Swift.max(span.start + 1, span.end - 1))
    }

    /// Whether the object has no members.
    public var isEmpty: Bool {
        var it = makeIterator()
        return it.next() == nil
    }

    /// The value of the last member named `key` (UTF-8), compared without allocating.
    public func value(forKey key: UnsafeRawBufferPointer) -> JSONSpan? {
        var found: JSONSpan?
        for member in self where JSONScanner.stringEquals(buffer, member.key, key) {
            found = member.value
        }
        return found
    }

    public func value(forKey key: StaticString) -> JSONSpan? {
        key.withUTF8Buffer { value(forKey: UnsafeRawBufferPointer($0)) }
    }

    public func value(forKey key: String) -> JSONSpan? {
        var key = key
        return key.withUTF8 { value(forKey: UnsafeRawBufferPointer($0)) }
    }

    public func bool(forKey key: StaticString) -> Bool? {
        switch value(forKey: key)?.kind {
        case .true?: return true
        case .false?: return false
        default: return nil
        }
    }

    public func unsignedInteger(forKey key: StaticString) -> UInt64? {
        value(forKey: key).flatMap { JSONScanner.unsignedInteger(buffer, $0) }
    }

    /// Decoded string value (allocates).
    public func string(forKey key: StaticString) -> String? {
        guard let v = value(forKey: key), v.kind == .string else { return nil }
        return JSONScanner.decodeString(buffer, v)
    }

    public func object(forKey key: StaticString) -> JSONObjectView? {
        guard let v = value(forKey: key), v.kind == .object else { return nil }
        return JSONObjectView(buffer: buffer, span: v)
    }

    public func array(forKey key: StaticString) -> JSONArrayView? {
        guard let v = value(forKey: key), v.kind == .array else { return nil }
        return JSONArrayView(buffer: buffer, span: v)
    }

    /// nil if absent or not an array of strings (allocates).
    public func stringArray(forKey key: StaticString) -> [String]? {
        guard let array = array(forKey: key) else { return nil }
        var result: [String] = []
        for element in array {
            guard element.kind == .string else { return nil }
            result.append(JSONScanner.decodeString(buffer, element))
        }
        return result
    }

    /// nil if absent or not an array of exact non-negative integers up to UInt64.max (allocates).
    public func unsignedIntegerArray(forKey key: StaticString) -> [UInt64]? {
        guard let array = array(forKey: key) else { return nil }
        var result: [UInt64] = []
        for element in array {
            guard let v = JSONScanner.unsignedInteger(buffer, element) else { return nil }
            result.append(v)
        }
        return result
    }
}

/// The elements of one validated JSON array, walked on demand (no allocation).
public struct JSONArrayView: Sequence {
    public let buffer: UnsafeRawBufferPointer
    /// The array's span, brackets included.
    public let span: JSONSpan

    public init(buffer: UnsafeRawBufferPointer, span: JSONSpan) {
        self.buffer = buffer
        self.span = span
    }

    public struct Iterator: IteratorProtocol {
        let buffer: UnsafeRawBufferPointer
        var i: Int
        let limit: Int  // index of the closing bracket

        public mutating func next() -> JSONSpan? {
            i = ValidatedJSON.skipWhitespace(buffer, i, limit)
            if i < limit && buffer[i] == UInt8(ascii: ",") {
                i = ValidatedJSON.skipWhitespace(buffer, i + 1, limit)
            }
            guard i < limit else { return nil }
            let value = ValidatedJSON.value(buffer, i, limit)
            i = value.end
            return value
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(buffer: buffer, i: span.start + 1, limit: Swift.max(span.start + 1, span.end - 1))
    }

    /// Number of elements (walks the array).
    public var count: Int {
        var n = 0
        for _ in self { n += 1 }
        return n
    }

    /// Whether some element is the exact integer `value` (for eligible/exclude lists), no allocation.
    public func containsUnsignedInteger(_ value: UInt64) -> Bool {
        for element in self where JSONScanner.unsignedInteger(buffer, element) == value { return true }
        return false
    }

    /// Whether some element is a string equal to `bytes` (UTF-8), no allocation.
    public func containsString(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for element in self where JSONScanner.stringEquals(buffer, element, bytes) { return true }
        return false
    }
}
