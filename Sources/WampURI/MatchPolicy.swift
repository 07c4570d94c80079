// The three ways a URI pattern matches a URI (Crossbar's match policies), on UTF-8 bytes: the one
// definition used by permissions (config) and by subscriptions (the router's index, per
// publication), so the two cannot drift apart. Allocates nothing.

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
