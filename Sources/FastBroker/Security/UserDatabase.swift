// The user database (wampcra, ticket and cryptosign credentials): the userdb file loaded into an immutable table that loop threads
// read concurrently and that a SIGHUP reload swaps whole (SPEC §3). A failed reload keeps the old
// table, so a half-edited file never locks everyone out.

import Synchronization

/// Thread-safe: lookups from any loop thread; `reload` replaces the whole table atomically.
public final class UserDatabase: Sendable {
    public let path: String
    // protected by the mutex; the table it holds is immutable, so readers copy the reference out
    // and use it without the lock
    private let current: Mutex<UserTable>
    /// HMAC key for decoy challenges (UserDatabase+Decoy.swift), from `decoyKeyPath(forUserDB:)`.
    let decoyKey: [UInt8]

    /// Loads `path` now, and its decoy key (created on first use). A missing userdb is an error
    /// here (unlike `addUser`, which creates it).
    public init(path: String) throws(UserDatabaseError) {
        self.path = path
        self.current = Mutex(try UserTable(records: Self.loadRecords(path)))
        self.decoyKey = try Self.loadOrCreateDecoyKey(Self.decoyKeyPath(forUserDB: path))
    }

    /// By UTF-8 bytes: an authid spelled with another Unicode normalization is another authid
    /// (Swift's String equality would treat "caf\u{e9}" and "cafe\u{301}" as one).
    public func lookup(_ authid: String) -> UserRecord? {
        table.byAuthid[Array(authid.utf8)]
    }

    /// The user holding the raw Ed25519 `publicKey` (the userdb gives each key one owner).
    public func lookup(publicKey: [UInt8]) -> UserRecord? {
        table.byPublicKey[publicKey]
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

    var table: UserTable { current.withLock { $0 } }

    private static func loadRecords(_ path: String) throws(UserDatabaseError) -> [UserRecord] {
        switch try UserDatabaseFile.load(path) {
        case .missing:
            throw UserDatabaseError(file: path, jsonPath: nil, reason: "cannot open: No such file or directory")
        case .contents(let bytes):
            return try parse(bytes, fileName: path)
        }
    }
}

/// One immutable generation of the database.
final class UserTable: Sendable {
    /// Keyed by the authid's UTF-8 bytes (see `UserDatabase.lookup`).
    let byAuthid: [[UInt8]: UserRecord]
    /// Keyed by raw Ed25519 public key (cryptosign).
    let byPublicKey: [[UInt8]: UserRecord]
    let roles: Set<String>
    /// The shapes decoy WAMP-CRA challenges are drawn from (UserDatabase+Decoy.swift).
    let decoys: DecoyProfiles
    /// The PBKDF2 shapes of the ticket users, for an unknown authid's equally costly check.
    let ticketDecoys: DecoyProfiles

    init(records: [UserRecord]) {
        var byAuthid: [[UInt8]: UserRecord] = [:]
        var byPublicKey: [[UInt8]: UserRecord] = [:]
        for record in records {
            byAuthid[Array(record.authid.utf8)] = record
            for key in record.cryptosignKeys { byPublicKey[key] = record }
        }
        self.byAuthid = byAuthid
        self.byPublicKey = byPublicKey
        self.roles = Set(records.map(\.role))
        self.decoys = DecoyProfiles(records: records)
        self.ticketDecoys = DecoyProfiles(profiles: records.compactMap(ChallengeProfile.init(ticket:)))
    }
}
