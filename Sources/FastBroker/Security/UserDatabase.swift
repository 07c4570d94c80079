// The WAMP-CRA user database: the userdb file loaded into an immutable table that loop threads
// read concurrently and that a SIGHUP reload swaps whole (SPEC §3). A failed reload keeps the old
// table, so a half-edited file never locks everyone out.

import Synchronization

/// Thread-safe: lookups from any loop thread; `reload` replaces the whole table atomically.
public final class UserDatabase: Sendable {
    public let path: String
    // protected by the mutex; the table it holds is immutable, so readers copy the reference out
    // and use it without the lock
    private let current: Mutex<UserTable>

    /// Loads `path` now. A missing file is an error here (unlike `addUser`, which creates it).
    public init(path: String) throws(UserDatabaseError) {
        self.path = path
        self.current = Mutex(try UserTable(records: Self.loadRecords(path)))
    }

    public func lookup(_ authid: String) -> UserRecord? {
        table.byAuthid[authid]
    }

    /// Re-reads the file. On any error the old table stays in force and the error is thrown.
    public func reload() throws(UserDatabaseError) {
        let fresh = UserTable(records: try Self.loadRecords(path))
        current.withLock { $0 = fresh }
    }

    /// Roles used by the users (the configuration checks that each exists in the realm).
    public var roles: Set<String> { table.roles }

    /// Number of users in the current table.
    public var count: Int { table.byAuthid.count }

    /// What a challenge for an unknown authid looks like (see `WampCRA.makeChallenge`).
    var decoyProfile: DecoyProfile { table.decoy }

    private var table: UserTable { current.withLock { $0 } }

    private static func loadRecords(_ path: String) throws(UserDatabaseError) -> [UserRecord] {
        switch try UserDatabaseFile.load(path) {
        case .missing:
            throw UserDatabaseError(file: path, jsonPath: nil, reason: "cannot open: No such file or directory")
        case .contents(let bytes):
            return try parse(bytes, fileName: path)
        }
    }
}

/// The shape of the decoy challenge for authids not in the database, taken from the database's
/// own users so a decoy looks like a typical real challenge.
struct DecoyProfile: Sendable, Equatable {
    /// Defaults for an empty database: what the WAMP-CRA spec and `user add` use.
    static let defaultIterations = 1000
    static let defaultKeyLength = 32
    static let defaultRole = "user"

    var salted: Bool
    var iterations: Int
    var keyLength: Int
    var role: String

    init(records: [UserRecord]) {
        var saltedParameters: [SaltedParameters] = []
        for record in records {
            if case .salted(_, let iterations, let keyLength, _) = record.credential {
                saltedParameters.append(SaltedParameters(iterations: iterations, keyLength: keyLength))
            }
        }
        // Ties (and the empty database) go to salted: it is the form `user add` writes.
        salted = saltedParameters.count * 2 >= records.count
        let usual = mostCommon(saltedParameters)
        iterations = usual?.iterations ?? Self.defaultIterations
        keyLength = usual?.keyLength ?? Self.defaultKeyLength
        role = mostCommon(records.map(\.role)) ?? Self.defaultRole
    }

    private struct SaltedParameters: Hashable {
        var iterations: Int
        var keyLength: Int
    }
}

/// The most frequent value; ties go to the one that appears first.
private func mostCommon<T: Hashable>(_ values: [T]) -> T? {
    var counts: [T: Int] = [:]
    var best: T?
    var bestCount = 0
    for value in values {
        let n = (counts[value] ?? 0) + 1
        counts[value] = n
        if n > bestCount {
            best = value
            bestCount = n
        }
    }
    return best
}

/// One immutable generation of the database.
final class UserTable: Sendable {
    let byAuthid: [String: UserRecord]
    let roles: Set<String>
    let decoy: DecoyProfile

    init(records: [UserRecord]) {
        var byAuthid: [String: UserRecord] = [:]
        for record in records { byAuthid[record.authid] = record }
        self.byAuthid = byAuthid
        self.roles = Set(records.map(\.role))
        self.decoy = DecoyProfile(records: records)
    }
}
