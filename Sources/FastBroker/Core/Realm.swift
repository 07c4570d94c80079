// A realm at run time: its configuration (roles, permissions, auth methods), its user database
// and its routers — one per event loop, each holding the pub/sub state of that loop's sessions.

import BrokerConfig
import BrokerSecurity

final class Realm: @unchecked Sendable {
    let config: RealmConfig
    /// Thread-safe; reloaded on SIGHUP.
    let userDatabase: UserDatabase?
    /// routers[i] is owned by loop i's thread.
    let routers: [Router]

    init(config: RealmConfig, loopCount: Int) throws(UserDatabaseError) {
        self.config = config
        if let path = config.wampcraUserDB {
            userDatabase = try UserDatabase(path: path)
        } else {
            userDatabase = nil
        }
        var routers: [Router] = []
        for _ in 0..<loopCount { routers.append(Router()) }
        self.routers = routers
        for router in routers { router.realm = self }
    }

    var name: String { config.name }

    func isAllowed(role: String, action: Action, uri: String) -> Bool {
        config.isAllowed(role: role, action: action, uri: uri)
    }
}
