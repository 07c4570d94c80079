// Subscribe permission for subscription patterns. SPEC §3's rule (first matching permission
// decides, none = denied) is defined on concrete topics, but a prefix or wildcard SUBSCRIBE
// stands for a set of topics — its match set — and a session must never receive an event on a
// topic its role may not subscribe to, whatever pattern it used. So a SUBSCRIBE is classified
// once against the role's ordered permissions:
//   .permitted  every topic the pattern can match is granted (deliveries need no check),
//   .denied     no topic the pattern can match is granted (the SUBSCRIBE is refused),
//   .perTopic   some may be granted, some not (accepted; each delivered topic is checked with
//               RoleConfig.allowsSubscribe(toTopic:), cached per loop by the router).
// The answer is proven over every byte string (a superset of the valid topics), and whenever the
// proof is out of reach it is .perTopic, which is always safe: delivery then applies the exact
// first-match rule to the concrete topic. Exact subscriptions are one topic, so for them this is
// the plain first-match check. Nothing here recurses or allocates per component: patterns and
// permission URIs are walked in place, in time linear in their lengths per permission.

/// What a role's permissions grant a subscription pattern (see the file header).
public enum PatternVerdict: Sendable, Equatable {
    case permitted, denied, perTopic
}

extension RoleConfig {
    /// Classifies a SUBSCRIBE to `pattern` under `match` for this role. Walks the permissions in
    /// order: one that provably matches no topic of the pattern decides none of them; the first
    /// that matches all of them decides every topic not already decided by an earlier partial
    /// one; any other (partial, or not provably disjoint) decides some.
    public func subscribeVerdict(pattern: String, match: MatchPolicy) -> PatternVerdict {
        var someGranted = false   // an earlier partial permission grants subscribe to some topics
        var someDenied = false    // an earlier partial permission denies it to some topics
        for permission in permissions {
            switch permission.relation(toPattern: pattern, match: match) {
            case .disjoint:
                continue
            case .partial:
                if permission.subscribe { someGranted = true } else { someDenied = true }
            case .covers:
                if permission.subscribe { return someDenied ? .perTopic : .permitted }
                return someGranted ? .perTopic : .denied
            }
        }
        // Topics no permission matches are denied.
        return someGranted ? .perTopic : .denied
    }

    /// The first-match rule on one concrete topic's UTF-8 bytes (the per-delivery check).
    public func allowsSubscribe<U: Collection>(toTopic topic: U) -> Bool where U.Element == UInt8 {
        for permission in permissions where permission.match.matches(pattern: permission.uri.utf8, uri: topic) {
            return permission.subscribe
        }
        return false
    }
}

extension RealmConfig {
    /// The role's position in `roles` (stable: roles are not reloaded), or nil for an unknown role.
    public func roleIndex(named name: String) -> Int? {
        roles.firstIndex { $0.name == name }
    }

    /// `RoleConfig.subscribeVerdict` for the role named `role`; unknown roles are denied.
    public func subscribeVerdict(role: String, pattern: String, match: MatchPolicy) -> PatternVerdict {
        self.role(named: role)?.subscribeVerdict(pattern: pattern, match: match) ?? .denied
    }
}

/// How a permission's URI set relates to a pattern's match set.
enum PatternRelation: Equatable {
    /// Provably no topic of the pattern matches the permission.
    case disjoint
    /// Provably every topic of the pattern matches the permission.
    case covers
    /// Some do, or it could not be proven either way.
    case partial
}

extension Permission {
    /// Relation of this permission to the topics `pattern` matches under `match`. Matching of
    /// whole URIs is `MatchPolicy.matches` (the one definition); the set reasoning is below.
    func relation(toPattern pattern: String, match: MatchPolicy) -> PatternRelation {
        let rule = self.uri.utf8
        let sub = pattern.utf8
        switch (match, self.match) {
        case (.exact, _):
            return self.match.matches(pattern: rule, uri: sub) ? .covers : .disjoint
        case (.prefix, .exact):
            // Infinitely many topics vs one: never covered; met when the URI extends the pattern.
            return MatchPolicy.prefix.matches(pattern: sub, uri: rule) ? .partial : .disjoint
        case (.prefix, .prefix):
            if MatchPolicy.prefix.matches(pattern: rule, uri: sub) { return .covers }
            return MatchPolicy.prefix.matches(pattern: sub, uri: rule) ? .partial : .disjoint
        case (.prefix, .wildcard):
            // A wildcard has a fixed number of components, a prefix set has every count: never covered.
            return URIComponentWalk.prefix(sub, meetsWildcard: rule) ? .partial : .disjoint
        case (.wildcard, .exact):
            guard MatchPolicy.wildcard.matches(pattern: sub, uri: rule) else { return .disjoint }
            // Without empty components a wildcard pattern matches exactly its own text.
            return URIComponentWalk.firstEmptyComponentStart(sub) == nil ? .covers : .partial
        case (.wildcard, .prefix):
            // Every topic of the pattern starts with its text up to the first empty component
            // (and no longer prefix is shared by all of them).
            let fixedHead = sub[..<(URIComponentWalk.firstEmptyComponentStart(sub) ?? sub.endIndex)]
            if MatchPolicy.prefix.matches(pattern: rule, uri: fixedHead) { return .covers }
            return URIComponentWalk.prefix(rule, meetsWildcard: sub) ? .partial : .disjoint
        case (.wildcard, .wildcard):
            return URIComponentWalk.wildcard(rule, relationTo: sub)
        }
    }
}

/// Component-wise walks over dot-separated URIs, in place (no arrays of components, no recursion).
enum URIComponentWalk {
    static let dot = UInt8(ascii: ".")

    /// The component starting at `start`: its end (a dot or the end of the URI).
    static func componentEnd<C: Collection>(_ uri: C, from start: C.Index) -> C.Index where C.Element == UInt8 {
        uri[start...].firstIndex(of: dot) ?? uri.endIndex
    }

    /// Where the first empty component of `uri` starts, or nil when it has none.
    static func firstEmptyComponentStart<C: Collection>(_ uri: C) -> C.Index? where C.Element == UInt8 {
        var start = uri.startIndex
        while true {
            let end = componentEnd(uri, from: start)
            if end == start { return start }
            if end == uri.endIndex { return nil }
            start = uri.index(after: end)
        }
    }

    /// Walks the components of `a` and `b` side by side: `visit` gets each pair with whether it
    /// is the last of its URI, and decides (non-nil) at the latest when either is the last.
    static func lockstep<A: Collection, B: Collection, Result>(
        _ a: A, _ b: B, _ visit: (A.SubSequence, B.SubSequence, _ aLast: Bool, _ bLast: Bool) -> Result?
    ) -> Result where A.Element == UInt8, B.Element == UInt8 {
        var i = a.startIndex
        var j = b.startIndex
        while true {
            let iEnd = componentEnd(a, from: i)
            let jEnd = componentEnd(b, from: j)
            let aLast = iEnd == a.endIndex, bLast = jEnd == b.endIndex
            if let result = visit(a[i..<iEnd], b[j..<jEnd], aLast, bLast) { return result }
            precondition(!aLast && !bLast, "lockstep: no decision at the last component")
            i = a.index(after: iEnd)
            j = b.index(after: jEnd)
        }
    }

    /// Whether some URI starts with `prefix` and matches the wildcard pattern `wildcard`: each
    /// whole component of the prefix must agree with the wildcard's (equal, or the wildcard's is
    /// empty), and its last, possibly unfinished component must begin the wildcard's (or meet an
    /// empty one); the wildcard may have more components, not fewer.
    static func prefix<P: Collection, W: Collection>(_ prefix: P, meetsWildcard wildcard: W) -> Bool
    where P.Element == UInt8, W.Element == UInt8 {
        lockstep(prefix, wildcard) { pComponent, wComponent, pLast, wLast in
            if pLast { return wComponent.isEmpty || wComponent.starts(with: pComponent) }
            if !wComponent.isEmpty && !wComponent.elementsEqual(pComponent) { return false }
            return wLast ? false : nil   // at the wildcard's end the prefix has more components
        }
    }

    /// Relation of the wildcard permission `rule` to the wildcard pattern `pattern`: disjoint
    /// when the component counts differ or two fixed components differ; covered when every
    /// fixed component of the rule is fixed and equal in the pattern.
    static func wildcard<R: Collection, S: Collection>(_ rule: R, relationTo pattern: S) -> PatternRelation
    where R.Element == UInt8, S.Element == UInt8 {
        var covers = true
        return lockstep(rule, pattern) { rComponent, sComponent, rLast, sLast in
            if !rComponent.isEmpty {
                if sComponent.isEmpty {
                    covers = false   // the pattern's component is free, the rule's fixed
                } else if !rComponent.elementsEqual(sComponent) {
                    return .disjoint
                }
            }
            guard rLast || sLast else { return nil }
            return rLast && sLast ? (covers ? .covers : .partial) : .disjoint
        }
    }
}
