// Which topics and subscription patterns a session may use, on UTF-8 bytes: the one WAMP URI
// rule (WampURI/WAMPURIRule, shared with the configuration) applied per match policy, and the
// match policies themselves. Runs per publication, so nothing here allocates.

import WampURI

enum URIPattern {
    /// A topic to publish to, or an exact subscription: non-empty dot-separated components with
    /// no whitespace and no '#'.
    static func isValidTopic(_ uri: UnsafeRawBufferPointer) -> Bool {
        WAMPURIRule.isLoose(uri, allowingEmptyComponents: false)
    }

    /// A subscription pattern: wildcard patterns may have empty components (but not be empty),
    /// prefix patterns may be empty or end with a dot.
    static func isValidPattern(_ uri: UnsafeRawBufferPointer, policy: MatchPolicy) -> Bool {
        switch policy {
        case .exact: return isValidTopic(uri)
        case .wildcard: return !uri.isEmpty && WAMPURIRule.isLoose(uri, allowingEmptyComponents: true)
        case .prefix:
            if uri.isEmpty { return true }
            let trimmed = uri.last == UInt8(ascii: ".") ? UnsafeRawBufferPointer(rebasing: uri.dropLast()) : uri
            return isValidTopic(trimmed)
        }
    }

    /// The match policies themselves live with the permissions (MatchPolicy.matches), so
    /// subscriptions and permissions cannot drift apart.
    @inline(__always)
    static func matches(pattern: UnsafeRawBufferPointer, policy: MatchPolicy, uri: UnsafeRawBufferPointer) -> Bool {
        policy.matches(pattern: pattern, uri: uri)
    }
}
