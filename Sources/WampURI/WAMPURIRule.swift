// The WAMP URI syntax, one rule for every URI the broker checks: realm names and permission
// patterns in the configuration, topics and subscription patterns in sessions. The spec
// (basic/uri_reference) gives a strict rule (components of [0-9a-z_]) and a loose one
// (components free of whitespace, '.' and '#'); clients such as Autobahn check URIs with the
// loose rule, and it admits the names Crossbar users already have ("realm-1", "MyRealm"), so
// the loose rule is the one applied.
//
// "Whitespace" is what the loose rule's `\s` matches in Autobahn's Python regex: ASCII
// 0x09–0x0D, 0x1C–0x1F and space, and the Unicode White_Space characters beyond ASCII. NUL is
// refused too (it would cut a URI short wherever a C string carries it). Works on UTF-8 bytes
// and allocates nothing: it runs for every PUBLISH.

public enum WAMPURIRule {
    /// Loose rule, no empty components: `^([^\s\.#]+\.)*([^\s\.#]+)$` (realm names, topics).
    public static func isLooseNonEmpty(_ uri: String) -> Bool {
        var uri = uri
        return uri.withUTF8 { isLoose(UnsafeRawBufferPointer($0), allowingEmptyComponents: false) }
    }

    /// Loose rule, empty components allowed (patterns such as `com..update` or `com.myapp.`):
    /// `^(([^\s\.#]+\.)|\.)*([^\s\.#]+)?$`, which reduces to "no whitespace and no '#'".
    public static func isLooseAllowingEmpty(_ uri: String) -> Bool {
        var uri = uri
        return uri.withUTF8 { isLoose(UnsafeRawBufferPointer($0), allowingEmptyComponents: true) }
    }

    /// The loose rule on UTF-8 bytes. Without empty components the URI must be non-empty.
    /// Concrete, not generic over Collection: unspecialized generic code (debug builds) would
    /// allocate on the publish path, which AllocationTests forbids.
    public static func isLoose(_ uri: UnsafeRawBufferPointer, allowingEmptyComponents: Bool) -> Bool {
        var componentLength = 0
        var i = 0
        while i < uri.count {
            let byte = uri[i]
            if byte == UInt8(ascii: ".") {
                if componentLength == 0 && !allowingEmptyComponents { return false }
                componentLength = 0
            } else if byte == UInt8(ascii: "#") || isASCIIWhitespaceOrNUL(byte) {
                return false
            } else if byte >= 0xC2 && byte <= 0xE3 && startsNonASCIIWhitespace(uri, at: i) {
                return false
            } else {
                componentLength += 1
            }
            i += 1
        }
        return componentLength > 0 || allowingEmptyComponents
    }

    private static func isASCIIWhitespaceOrNUL(_ byte: UInt8) -> Bool {
        byte == 0 || byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) || (byte >= 0x1C && byte <= 0x1F)
    }

    /// Whether the UTF-8 sequence at `i` encodes U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028,
    /// U+2029, U+202F, U+205F or U+3000 (Unicode White_Space beyond ASCII).
    private static func startsNonASCIIWhitespace(_ uri: UnsafeRawBufferPointer, at i: Int) -> Bool {
        let lead = uri[i]
        guard i + 1 < uri.count else { return false }
        let second = uri[i + 1]
        if lead == 0xC2 { return second == 0x85 || second == 0xA0 }
        guard i + 2 < uri.count else { return false }
        let third = uri[i + 2]
        switch (lead, second) {
        case (0xE1, 0x9A): return third == 0x80
        case (0xE2, 0x80): return third <= 0x8A && third >= 0x80 || third == 0xA8 || third == 0xA9 || third == 0xAF
        case (0xE2, 0x81): return third == 0x9F
        case (0xE3, 0x80): return third == 0x80
        default: return false
        }
    }
}
