// Permission: one static grant of a role (a URI pattern, its match policy, and what it allows),
// with Crossbar's three match policies. `matches` runs for every PUBLISH/SUBSCRIBE authorization,
// so it walks the UTF-8 views in place and allocates nothing.

/// How a permission's `uri` is compared with the URI being authorized.
public enum MatchPolicy: String, Sendable, CaseIterable {
    /// The URI equals the pattern, byte for byte.
    case exact
    /// The URI starts with the pattern (a plain string prefix, as in Crossbar): `""` matches every
    /// URI, `"com.myrealm."` matches `"com.myrealm.a.b"`.
    case prefix
    /// Same number of dot-separated components; an empty pattern component matches any one
    /// component, any other must be equal: `"com..update"` matches `"com.x.update"`.
    case wildcard
}

/// A grant: URIs matching `uri` under `match` may be published and/or subscribed.
public struct Permission: Sendable, Equatable {
    public var uri: String
    public var match: MatchPolicy
    public var publish: Bool
    public var subscribe: Bool

    public init(uri: String, match: MatchPolicy = .exact, publish: Bool = false, subscribe: Bool = false) {
        self.uri = uri
        self.match = match
        self.publish = publish
        self.subscribe = subscribe
    }

    /// Whether this permission covers `uri`. Comparison is on UTF-8 bytes (not Swift's Unicode
    /// canonical equivalence): URIs are identifiers, and clients compare them bytewise.
    public func matches(_ uri: String) -> Bool {
        match.matches(pattern: self.uri.utf8, uri: uri.utf8)
    }

    /// Whether this permission allows `action` (independent of its URI).
    public func allows(_ action: Action) -> Bool {
        switch action {
        case .publish: return publish
        case .subscribe: return subscribe
        }
    }
}

extension MatchPolicy {
    /// Whether `uri` matches `pattern` under this policy, on UTF-8 bytes — the one definition
    /// used by permissions and by subscriptions: exact = equal; prefix = the URI starts with
    /// the pattern (a string prefix, so "" matches everything); wildcard = component-wise, with
    /// both cursors always at the start of a component, and an empty pattern component matching
    /// any one URI component (which may itself be empty, so a wildcard grant also covers a
    /// wildcard subscription to the same pattern).
    @inlinable
    public func matches<P: Collection, U: Collection>(pattern p: P, uri u: U) -> Bool
    where P.Element == UInt8, U.Element == UInt8 {
        switch self {
        case .exact: return u.elementsEqual(p)
        case .prefix: return u.starts(with: p)
        case .wildcard:
            let dot = UInt8(ascii: ".")
            var pi = p.startIndex
            var ui = u.startIndex
            while true {
                if pi == p.endIndex || p[pi] == dot {
                    while ui != u.endIndex && u[ui] != dot { u.formIndex(after: &ui) }
                } else {
                    while pi != p.endIndex && p[pi] != dot {
                        guard ui != u.endIndex, u[ui] == p[pi] else { return false }
                        p.formIndex(after: &pi)
                        u.formIndex(after: &ui)
                    }
                    if ui != u.endIndex && u[ui] != dot { return false }  // the URI's component is longer
                }
                let patternDone = pi == p.endIndex
                let uriDone = ui == u.endIndex
                if patternDone || uriDone { return patternDone && uriDone }
                p.formIndex(after: &pi)
                u.formIndex(after: &ui)
            }
        }
    }
}

/// What a session asks to do with a URI.
public enum Action: Sendable {
    case publish, subscribe
}
