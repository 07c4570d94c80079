// ValidatedJSON: cheap walking of bytes the scanner has already validated. The views use it to find
// member and element boundaries again on demand instead of storing them (which would allocate). Every
// read stays inside the given limit, so even unvalidated input cannot make it read out of bounds or
// loop forever; it can only produce meaningless spans.

enum ValidatedJSON {
    @inline(__always)
    static func skipWhitespace(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int) -> Int {
        var i = i
        while i < limit {
            let c = buffer[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { break }
            i += 1
        }
        return i
    }

    static func kind(of first: UInt8) -> JSONKind {
        switch first {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"): return .true
        case UInt8(ascii: "f"): return .false
        case UInt8(ascii: "n"): return .null
        default: return .number
        }
    }

    /// The span of the value starting at `start` (which must be < limit).
    static func value(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> JSONSpan {
        let first = buffer[start]
        let kind = kind(of: first)
        var i = start + 1
        switch kind {
        case .string:
            i = stringEnd(buffer, start, limit)
        case .object, .array:
            var depth = 1
            while i < limit {
                let c = buffer[i]
                if c == UInt8(ascii: "\"") {
                    i = stringEnd(buffer, i, limit)
                    continue
                }
                i += 1
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    depth += 1
                } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { break }
                }
            }
        case .binary:
            break  // never produced from JSON text (kind(of:) does not return it)
        case .true, .null:
            i = min(start + 4, limit)
        case .false:
            i = min(start + 5, limit)
        case .number:
            while i < limit {
                let c = buffer[i]
                guard (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+")
                    || c == UInt8(ascii: "-") else { break }
                i += 1
            }
        }
        return JSONSpan(start: start, end: i, kind: kind)
    }

    /// The index after the closing quote of the string token opened at `start`.
    static func stringEnd(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> Int {
        var i = start + 1
        while i < limit {
            let c = buffer[i]
            if c == UInt8(ascii: "\\") {
                i += 2
            } else if c == UInt8(ascii: "\"") {
                return i + 1
            } else {
                i += 1
            }
        }
        return limit
    }
}
