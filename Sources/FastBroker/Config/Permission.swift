// Permission: one static grant of a role (a URI pattern, its match policy, and what it allows),
// with Crossbar's three match policies (MatchPolicy, in the WampURI leaf with the URI rule, since
// sessions match subscriptions by the same definition on the publish path).

// MatchPolicy is part of this module's API (Permission.match, the config's "match" values):
// re-exported, so every importer of BrokerConfig sees it without naming the leaf.
@_exported import WampURI

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

/// What a session asks to do with a URI.
public enum Action: Sendable {
    case publish, subscribe
}
