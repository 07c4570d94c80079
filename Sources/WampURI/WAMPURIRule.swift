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
        isLoose(uri.utf8, allowingEmptyComponents: false)
    }

    /// Loose rule, empty components allowed (patterns such as `com..update` or `com.myapp.`):
    /// `^(([^\s\.#]+\.)|\.)*([^\s\.#]+)?$`, which reduces to "no whitespace and no '#'".
    public static func isLooseAllowingEmpty(_ uri: String) -> Bool {
        isLoose(uri.utf8, allowingEmptyComponents: true)
    }

    /// The loose rule on UTF-8 bytes. Without empty components the URI must be non-empty.
    @inlinable
    public static func isLoose<Bytes: Collection>(_ uri: Bytes, allowingEmptyComponents: Bool) -> Bool
    where Bytes.Element == UInt8 {
        var componentLength = 0
        var i = uri.startIndex
        while i != uri.endIndex {
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
            uri.formIndex(after: &i)
        }
        return componentLength > 0 || allowingEmptyComponents
    }

    @inlinable
    static func isASCIIWhitespaceOrNUL(_ byte: UInt8) -> Bool {
        byte == 0 || byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) || (byte >= 0x1C && byte <= 0x1F)
    }

    /// Whether the UTF-8 sequence at `i` encodes U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028,
    /// U+2029, U+202F, U+205F or U+3000 (Unicode White_Space beyond ASCII).
    @inlinable
    static func startsNonASCIIWhitespace<Bytes: Collection>(_ uri: Bytes, at i: Bytes.Index) -> Bool
    where Bytes.Element == UInt8 {
        let lead = uri[i]
        var j = uri.index(after: i)
        guard j != uri.endIndex else { return false }
        let second = uri[j]
        if lead == 0xC2 { return second == 0x85 || second == 0xA0 }
        uri.formIndex(after: &j)
        guard j != uri.endIndex else { return false }
        let third = uri[j]
        switch (lead, second) {
        case (0xE1, 0x9A): return third == 0x80
        case (0xE2, 0x80): return third <= 0x8A && third >= 0x80 || third == 0xA8 || third == 0xA9 || third == 0xAF
        case (0xE2, 0x81): return third == 0x9F
        case (0xE3, 0x80): return third == 0x80
        default: return false
        }
    }
}
