// JSONContainerWriter: small helpers that handle the commas when writing an object or array
// field by field (WELCOME details, ERROR details, EVENT envelopes). They hold only a "first" flag; the
// bytes go to the caller's array, so with capacity reserved nothing allocates.
//
//     var details = JSONObjectWriter(&out)
//     details.field("authid", string: authid, to: &out)
//     details.key("roles", to: &out)
//     var roles = JSONObjectWriter(&out)
//     ...
//     roles.close(&out)
//     details.close(&out)

public struct JSONObjectWriter {
    private var empty = true

    /// Writes the opening brace.
    public init(_ out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
    }

    /// Writes `,"key":` (no comma before the first member); a value must follow.
    public mutating func key(_ key: StaticString, to out: inout [UInt8]) {
        separator(&out)
        JSONWriter.appendString(key, to: &out)
        out.append(UInt8(ascii: ":"))
    }

    public mutating func key(_ key: String, to out: inout [UInt8]) {
        separator(&out)
        JSONWriter.appendString(key, to: &out)
        out.append(UInt8(ascii: ":"))
    }

    public mutating func field(_ key: StaticString, string value: String, to out: inout [UInt8]) {
        self.key(key, to: &out)
        JSONWriter.appendString(value, to: &out)
    }

    public mutating func field(_ key: StaticString, uint value: UInt64, to out: inout [UInt8]) {
        self.key(key, to: &out)
        JSONWriter.appendUInt(value, to: &out)
    }

    public mutating func field(_ key: StaticString, int value: Int64, to out: inout [UInt8]) {
        self.key(key, to: &out)
        JSONWriter.appendInt(value, to: &out)
    }

    public mutating func field(_ key: StaticString, bool value: Bool, to out: inout [UInt8]) {
        self.key(key, to: &out)
        JSONWriter.appendBool(value, to: &out)
    }

    public mutating func field(_ key: StaticString, value: JSONValue, to out: inout [UInt8]) {
        self.key(key, to: &out)
        JSONWriter.appendValue(value, to: &out)
    }

    /// A member whose value is already-valid JSON bytes, copied verbatim.
    public mutating func field(_ key: StaticString, raw value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        self.key(key, to: &out)
        JSONWriter.appendRaw(value, to: &out)
    }

    /// Writes the closing brace.
    public func close(_ out: inout [UInt8]) {
        out.append(UInt8(ascii: "}"))
    }

    private mutating func separator(_ out: inout [UInt8]) {
        if !empty { out.append(UInt8(ascii: ",")) }
        empty = false
    }
}

public struct JSONArrayWriter {
    private var empty = true

    /// Writes the opening bracket.
    public init(_ out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
    }

    /// Writes the comma before an element (none before the first); use before a nested container.
    public mutating func next(_ out: inout [UInt8]) {
        if !empty { out.append(UInt8(ascii: ",")) }
        empty = false
    }

    public mutating func element(string value: String, to out: inout [UInt8]) {
        next(&out)
        JSONWriter.appendString(value, to: &out)
    }

    public mutating func element(uint value: UInt64, to out: inout [UInt8]) {
        next(&out)
        JSONWriter.appendUInt(value, to: &out)
    }

    public mutating func element(int value: Int64, to out: inout [UInt8]) {
        next(&out)
        JSONWriter.appendInt(value, to: &out)
    }

    public mutating func element(bool value: Bool, to out: inout [UInt8]) {
        next(&out)
        JSONWriter.appendBool(value, to: &out)
    }

    public mutating func element(value: JSONValue, to out: inout [UInt8]) {
        next(&out)
        JSONWriter.appendValue(value, to: &out)
    }

    public mutating func element(raw value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        next(&out)
        JSONWriter.appendRaw(value, to: &out)
    }

    /// Writes the closing bracket.
    public func close(_ out: inout [UInt8]) {
        out.append(UInt8(ascii: "]"))
    }
}
