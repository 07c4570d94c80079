// A realm's authentication (SPEC §4): which methods it offers, each method's userdb, and the
// choice a HELLO leads to. The session's handshake asks `decide(hello:session:)` and then either
// welcomes an anonymous session, refuses, or sends the returned challenge and later calls its
// `verify`. The client's authmethods are tried in the client's order; the first the realm offers
// and the HELLO carries what it needs for (an authid for wampcra and ticket, authextra.pubkey
// for cryptosign) is used.

import BrokerSerialization

public final class RealmAuthenticator: Sendable {
    public let realmName: String
    public let allowsAnonymous: Bool
    /// Each method's userdb (nil = the method is not offered); methods naming one file share one
    /// instance. All are thread-safe and reloaded on SIGHUP.
    public let wampcra: UserDatabase?
    public let ticket: UserDatabase?
    public let cryptosign: UserDatabase?
    /// Every distinct userdb of the realm.
    public let databases: [UserDatabase]

    public enum HelloDecision: Sendable {
        /// Open an anonymous session; `requestedAuthid` is the HELLO's authid, if any.
        case anonymous(requestedAuthid: String?)
        /// Send `[4, method, extra]` and check the AUTHENTICATE with `verify`.
        case challenge(AuthChallenge)
        /// ABORT `wamp.error.not_authorized` with this message.
        case refuse(String)
        /// A malformed HELLO.Details field: ABORT `wamp.error.protocol_violation` with this message.
        case malformed(String)
    }

    public init(realmName: String, allowsAnonymous: Bool, wampcraUserDB: String?, ticketUserDB: String?,
                cryptosignUserDB: String?) throws(UserDatabaseError) {
        var opened: [String: UserDatabase] = [:]
        var order: [UserDatabase] = []
        func open(_ path: String?) throws(UserDatabaseError) -> UserDatabase? {
            guard let path else { return nil }
            if let database = opened[path] { return database }
            let database = try UserDatabase(path: path)
            opened[path] = database
            order.append(database)
            return database
        }
        self.realmName = realmName
        self.allowsAnonymous = allowsAnonymous
        self.wampcra = try open(wampcraUserDB)
        self.ticket = try open(ticketUserDB)
        self.cryptosign = try open(cryptosignUserDB)
        self.databases = order
    }

    /// Whether `authid` names a user of any of the realm's userdbs (SPEC §3: such an authid is
    /// never kept for an anonymous session).
    public func knowsUser(_ authid: String) -> Bool {
        databases.contains { $0.lookup(authid) != nil }
    }

    /// What to do with a HELLO whose Details are `details`; `session` is the id the WELCOME will carry.
    public func decide(hello details: JSONObjectView, session: UInt64) -> HelloDecision {
        let methods = details.stringArray(forKey: "authmethods")
        if details.value(forKey: "authmethods") != nil && methods == nil {
            return .malformed("HELLO.Details.authmethods must be a list of strings")
        }
        let authid = details.string(forKey: "authid")
        if details.value(forKey: "authid") != nil && authid == nil {
            return .malformed("HELLO.Details.authid must be a string")
        }
        var pubkey: String?
        var channelBinding = false
        if details.value(forKey: "authextra") != nil {
            guard let authextra = details.object(forKey: "authextra") else {
                return .malformed("HELLO.Details.authextra must be a dict")
            }
            pubkey = authextra.string(forKey: "pubkey")
            if authextra.value(forKey: "pubkey") != nil && pubkey == nil {
                return .malformed("HELLO.Details.authextra.pubkey must be a string")
            }
            if let binding = authextra.value(forKey: "channel_binding"), binding.kind != .null { channelBinding = true }
        }
        let requested = methods.flatMap { $0.isEmpty ? nil : $0 } ?? ["anonymous"]
        for method in requested {
            switch method {
            case "anonymous" where allowsAnonymous:
                return .anonymous(requestedAuthid: authid)
            case "wampcra":
                if let wampcra, let authid {
                    return .challenge(WampCRA.authChallenge(authid: authid, session: session, database: wampcra))
                }
            case "ticket":
                if let ticket, let authid {
                    return .challenge(TicketAuthenticator.challenge(authid: authid, database: ticket))
                }
            case "cryptosign":
                if let cryptosign, let pubkey {
                    guard !channelBinding else {
                        return .refuse("cryptosign with TLS channel binding (authextra.channel_binding) is not offered yet; "
                            + "connect without channel_binding")
                    }
                    return .challenge(CryptosignAuthenticator.challenge(pubkey: pubkey, authid: authid, database: cryptosign))
                }
            default:
                break
            }
        }
        return .refuse(noUsableMethod(requested))
    }

    /// Says what the realm offers and what each method needs from the HELLO.
    private func noUsableMethod(_ requested: [String]) -> String {
        var offered: [String] = []
        if allowsAnonymous { offered.append("anonymous") }
        if wampcra != nil { offered.append("wampcra (needs authid)") }
        if ticket != nil { offered.append("ticket (needs authid)") }
        if cryptosign != nil { offered.append("cryptosign (needs authextra.pubkey)") }
        return "realm \(realmName) does not accept authentication by \(requested.joined(separator: ", ")) "
            + "with what this HELLO carries; it offers \(offered.joined(separator: ", "))"
    }
}
