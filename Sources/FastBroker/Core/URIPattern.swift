// WAMP URI checks and pattern matching shared by subscriptions: the URI rules a broker enforces
// on topics (WAMP basic profile, "loose" rules as Crossbar applies them) and the exact / prefix /
// wildcard policies.

import BrokerConfig

enum URIPattern {
    /// A topic to publish to, or an exact subscription: non-empty dot-separated components with
    /// no whitespace and no '#'.
    static func isValidTopic(_ uri: String) -> Bool {
        validate(uri, allowEmptyComponents: false)
    }

    /// A subscription pattern: wildcard patterns may have empty components, prefix patterns may
    /// end with a dot.
    static func isValidPattern(_ uri: String, policy: MatchPolicy) -> Bool {
        switch policy {
        case .exact: return isValidTopic(uri)
        case .wildcard: return validate(uri, allowEmptyComponents: true)
        case .prefix:
            if uri.isEmpty { return true }
            let trimmed = uri.hasSuffix(".") ? String(uri.dropLast()) : uri
            return trimmed.isEmpty ? false : validate(trimmed, allowEmptyComponents: false)
        }
    }

    private static func validate(_ uri: String, allowEmptyComponents: Bool) -> Bool {
        if uri.isEmpty { return false }
        var componentLength = 0
        for byte in uri.utf8 {
            switch byte {
            case UInt8(ascii: "."):
                if componentLength == 0 && !allowEmptyComponents { return false }
                componentLength = 0
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"), 0:
                return false
            default:
                componentLength += 1
            }
        }
        return componentLength > 0 || allowEmptyComponents
    }

    static func matches(pattern: String, policy: MatchPolicy, uri: String) -> Bool {
        switch policy {
        case .exact: return pattern == uri
        case .prefix: return uri.utf8.starts(with: pattern.utf8)
        case .wildcard:
            var p = pattern.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).makeIterator()
            var u = uri.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).makeIterator()
            while true {
                switch (p.next(), u.next()) {
                case (nil, nil): return true
                case (let pc?, let uc?):
                    if !pc.isEmpty && !pc.elementsEqual(uc) { return false }
                default: return false
                }
            }
        }
    }
}
