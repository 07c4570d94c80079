// WAMP URI checks and pattern matching for topics, on UTF-8 bytes: the URI rules a broker
// enforces (WAMP basic profile, "loose" rules as Crossbar applies them) and the exact / prefix /
// wildcard match policies. Runs per publication, so nothing here allocates.

import BrokerConfig

enum URIPattern {
    /// A topic to publish to, or an exact subscription: non-empty dot-separated components with
    /// no whitespace and no '#'.
    static func isValidTopic(_ uri: UnsafeRawBufferPointer) -> Bool {
        validate(uri, allowEmptyComponents: false)
    }

    /// A subscription pattern: wildcard patterns may have empty components, prefix patterns may
    /// end with a dot.
    static func isValidPattern(_ uri: UnsafeRawBufferPointer, policy: MatchPolicy) -> Bool {
        switch policy {
        case .exact: return isValidTopic(uri)
        case .wildcard: return validate(uri, allowEmptyComponents: true)
        case .prefix:
            if uri.isEmpty { return true }
            let trimmed = uri.last == UInt8(ascii: ".") ? UnsafeRawBufferPointer(rebasing: uri.dropLast()) : uri
            return !trimmed.isEmpty && validate(trimmed, allowEmptyComponents: false)
        }
    }

    private static func validate(_ uri: UnsafeRawBufferPointer, allowEmptyComponents: Bool) -> Bool {
        if uri.isEmpty { return false }
        var componentLength = 0
        for byte in uri {
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

    /// The match policies themselves live with the permissions (MatchPolicy.matches), so
    /// subscriptions and permissions cannot drift apart.
    @inline(__always)
    static func matches(pattern: UnsafeRawBufferPointer, policy: MatchPolicy, uri: UnsafeRawBufferPointer) -> Bool {
        policy.matches(pattern: pattern, uri: uri)
    }
}
