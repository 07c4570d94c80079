// RealmConfig / RoleConfig: a realm's authentication set-up and its roles' static permissions.
// `isAllowed` is the broker's authorization question; first matching permission decides, none
// means denied (SPEC §3). It scans arrays in place and allocates nothing. A SUBSCRIBE to a
// prefix or wildcard pattern is judged on the topics it can match (PatternPermission.swift).

public struct RoleConfig: Sendable, Equatable {
    public var name: String
    /// In configuration order; the first that matches a URI decides.
    public var permissions: [Permission]

    public init(name: String, permissions: [Permission]) {
        self.name = name
        self.permissions = permissions
    }

    /// The first permission whose pattern matches `uri`, or nil (denied).
    public func permission(for uri: String) -> Permission? {
        for permission in permissions where permission.matches(uri) { return permission }
        return nil
    }
}

public struct RealmConfig: Sendable, Equatable {
    public var name: String
    /// WAMP-CRA user database, resolved against the configuration file's directory; nil = no wampcra.
    public var wampcraUserDB: String?
    /// Ticket and cryptosign user databases (same resolution; nil = method not offered). Several
    /// methods may name one file.
    public var ticketUserDB: String?
    public var cryptosignUserDB: String?
    /// Role given to anonymous sessions; nil = anonymous HELLOs are refused.
    public var anonymousRole: String?
    /// `auth.anonymous.keep_authid`: an anonymous HELLO's authid is kept (unless it names a userdb
    /// user); false = the broker always picks a random one (SPEC §3).
    public var anonymousKeepsAuthid: Bool
    public var roles: [RoleConfig]

    public init(name: String, wampcraUserDB: String? = nil, anonymousRole: String? = nil,
                anonymousKeepsAuthid: Bool = false, roles: [RoleConfig], ticketUserDB: String? = nil,
                cryptosignUserDB: String? = nil) {
        self.name = name
        self.wampcraUserDB = wampcraUserDB
        self.ticketUserDB = ticketUserDB
        self.cryptosignUserDB = cryptosignUserDB
        self.anonymousRole = anonymousRole
        self.anonymousKeepsAuthid = anonymousKeepsAuthid
        self.roles = roles
    }

    public func role(named name: String) -> RoleConfig? {
        for role in roles where role.name == name { return role }
        return nil
    }

    /// Whether a session with `role` may do `action` on `uri`. Unknown roles are denied.
    public func isAllowed(role: String, action: Action, uri: String) -> Bool {
        guard let permission = self.role(named: role)?.permission(for: uri) else { return false }
        return permission.allows(action)
    }
}
