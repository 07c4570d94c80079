// A realm at run time: its configuration (roles, permissions, auth methods), its user databases,
// the subscription ids and retained events shared by all loops, and its routers — one per event loop, each holding
// the pub/sub state of that loop's sessions.

import BrokerConfig
import BrokerSecurity

/// @unchecked Sendable: every field is immutable after init or thread-safe itself (UserDatabase,
/// AuthThrottle, SubscriptionRegistry, Counter); the exception is `routers`, whose element i
/// only loop i uses (Router's entry points check with assertInLoopThread).
final class Realm: @unchecked Sendable {
    let config: RealmConfig
    /// Auth methods and their userdbs (thread-safe; the userdbs are reloaded on SIGHUP).
    let authenticator: RealmAuthenticator
    /// Thread-safe; slows repeated failed authentications (SPEC §4), shared by all loops.
    let authThrottle = AuthThrottle()
    let subscriptionIDs = SubscriptionRegistry()
    /// routers[i] is owned by loop i's thread.
    let routers: [Router]
    /// Subscriptions held by each loop's router; written by that loop, read by publishers on
    /// other loops to skip loops with nobody to deliver to.
    let subscriptionsPerLoop: [Counter]
    /// Thread-safe; the retained events of this realm, shared by all loops (in a cluster, also
    /// every other node's, mirrored by ClusterRetainedMirror).
    let retainedEvents: RetainedEvents

    init(config: RealmConfig, loopCount: Int, retainedByteLimit: Int = LimitsConfig().maxRetainedBytes) throws(UserDatabaseError) {
        self.config = config
        retainedEvents = RetainedEvents(byteLimit: retainedByteLimit)
        authenticator = try RealmAuthenticator(
            realmName: config.name, allowsAnonymous: config.anonymousRole != nil, wampcraUserDB: config.wampcraUserDB,
            ticketUserDB: config.ticketUserDB, cryptosignUserDB: config.cryptosignUserDB)
        routers = (0..<loopCount).map { _ in Router() }
        subscriptionsPerLoop = (0..<loopCount).map { _ in Counter() }
        for (i, router) in routers.enumerated() {
            router.realm = self
            router.loopIndex = i
        }
    }

    var name: String { config.name }

    func isAllowed(role: String, action: Action, uri: String) -> Bool {
        config.isAllowed(role: role, action: action, uri: uri)
    }
}
