// JSONObjectView: lookups in one validated JSON object or MessagePack map without decoding it.
// Members are found by walking the bytes on each lookup (options and details objects are small), keys
// are compared in place, escapes included. With duplicate keys the last one wins, as in Python's and
// JS's parsers. The span's format picks the walk; every accessor works for every format.

public struct JSONObjectView: Sequence {
    public let buffer: UnsafeRawBufferPointer
    /// The object's span, braces included.
    public let span: JSONSpan

    public init(buffer: UnsafeRawBufferPointer, span: JSONSpan) {
        self.buffer = buffer
        self.span = span
    }

    /// The encoding of the object's bytes.
    @inlinable public var format: WireFormat { span.format }

    /// Iterates members in order: `key` is the string token (JSON: quotes included; MessagePack: the
    /// str value), `value` its value.
    public struct Iterator: IteratorProtocol {
        var walk: ValidatedContainerWalk

        public mutating func next() -> (key: JSONSpan, value: JSONSpan)? {
            walk.nextMember()
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(walk: ValidatedContainerWalk(buffer, span, .object))
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

    /// The decoded string of a key or value span of this object (allocates).
    public func decodeString(_ span: JSONSpan) -> String {
        JSONScanner.decodeString(buffer, span)
    }

    /// The allocating tree of a value span of this object.
    public func decodeValue(_ span: JSONSpan) -> JSONValue {
        JSONScanner.decodeValue(buffer, span)
    }

    /// The raw bytes of a value span of this object (in its format).
    public func bytes(_ span: JSONSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[span.start..<span.end])
    }

    /// The value of member `key` as a view, when it is an object.
    public func object(_ span: JSONSpan) -> JSONObjectView? {
        span.kind == .object ? JSONObjectView(buffer: buffer, span: span) : nil
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

    /// The encoding of the array's bytes.
    @inlinable public var format: WireFormat { span.format }

    public struct Iterator: IteratorProtocol {
        var walk: ValidatedContainerWalk

        public mutating func next() -> JSONSpan? {
            walk.nextElement()
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(walk: ValidatedContainerWalk(buffer, span, .array))
    }

    /// Number of elements (JSON: walks the array; MessagePack: read from the header).
    public var count: Int {
        if span.format != .json {
            guard let h = ValidatedBinary.header(span.format, buffer, span.start, span.end), h.kind == .array else { return 0 }
            return h.length
        }
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

/// The walk over one validated container's members (objects) or elements (arrays), in any format:
/// JSON steps over whitespace, commas and colons up to the closing bracket; MessagePack and CBOR
/// count the entries their header declares.
struct ValidatedContainerWalk {
    let buffer: UnsafeRawBufferPointer
    var i: Int
    let limit: Int  // JSON: index of the closing bracket; MessagePack/CBOR: end of the container
    var remaining: Int  // MessagePack/CBOR: entries (elements or pairs) not yet returned
    let format: WireFormat

    /// A walk from the first entry of `span`; a binary container whose header is not `kind` has none.
    init(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan, _ kind: JSONKind) {
        self.buffer = buffer
        format = span.format
        if format != .json {
            let h = ValidatedBinary.header(format, buffer, span.start, span.end)
            i = h?.dataStart ?? span.end
            limit = span.end
            remaining = h?.kind == kind ? h!.length : 0
        } else {
            i = span.start + 1
            limit = Swift.max(span.start + 1, span.end - 1)
            remaining = 0
        }
    }

    /// The next element: for JSON past the comma before it.
    @inline(__always)
    mutating func nextElement() -> JSONSpan? {
        if format != .json {
            guard remaining > 0, i < limit else { return nil }
            remaining -= 1
            let value = ValidatedBinary.value(format, buffer, i, limit)
            i = value.end
            return value
        }
        guard skipToJSONEntry() else { return nil }
        let value = ValidatedJSON.value(buffer, i, limit)
        i = value.end
        return value
    }

    /// The next key and its value.
    @inline(__always)
    mutating func nextMember() -> (key: JSONSpan, value: JSONSpan)? {
        if format != .json {
            guard remaining > 0, i < limit else { return nil }
            remaining -= 1
            let key = ValidatedBinary.value(format, buffer, i, limit)
            guard key.end < limit else {
                i = limit
                return nil
            }
            let value = ValidatedBinary.value(format, buffer, key.end, limit)
            i = value.end
            return (key, value)
        }
        guard skipToJSONEntry(), buffer[i] == UInt8(ascii: "\"") else { return nil }
        let key = JSONSpan(start: i, end: ValidatedJSON.stringEnd(buffer, i, limit), kind: .string)
        i = ValidatedJSON.skipWhitespace(buffer, key.end, limit)
        guard i < limit, buffer[i] == UInt8(ascii: ":") else { return nil }
        i = ValidatedJSON.skipWhitespace(buffer, i + 1, limit)
        guard i < limit else { return nil }
        let value = ValidatedJSON.value(buffer, i, limit)
        i = value.end
        return (key, value)
    }

    /// Steps over whitespace and the comma before the next JSON entry; false at the end.
    @inline(__always)
    private mutating func skipToJSONEntry() -> Bool {
        i = ValidatedJSON.skipWhitespace(buffer, i, limit)
        if i < limit && buffer[i] == UInt8(ascii: ",") {
            i = ValidatedJSON.skipWhitespace(buffer, i + 1, limit)
        }
        return i < limit
    }
}
