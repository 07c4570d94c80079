// Decoy WAMP-CRA challenges for authids not in the userdb (SPEC §4: no user enumeration). A decoy
// must look like a real user's challenge and, like a real user's, never change: its shape
// (role, salted or not, iterations, keylen) is drawn from the userdb's own users, weighted by how
// many users have it, and its salt is derived — both with HMAC-SHA256 under a secret key kept in
// `<userdb>.decoy-key` (32 random bytes as 64 hex digits, created 0600 on first use). So a decoy
// is the same across attempts and restarts, and without the key nobody can tell which shapes
// and salts are decoys. An unknown authid's ticket is checked with a PBKDF2 shape drawn the same
// way from the ticket users, so that a wrong ticket and an unknown authid cost the same time.

import WireCodec

/// What a challenge looks like apart from its nonce: a real user's or a decoy's.
struct ChallengeProfile: Hashable, Comparable, Sendable {
    var role: String
    /// nil for an unsalted user; else (iterations, keylen).
    var salted: SaltedShape?

    struct SaltedShape: Hashable, Sendable {
        var iterations: Int
        var keyLength: Int
    }

    init(role: String, salted: SaltedShape?) {
        self.role = role
        self.salted = salted
    }

    /// A WAMP-CRA user's profile; nil for a user without a WAMP-CRA credential.
    init?(wampcra record: UserRecord) {
        guard let credential = record.credential else { return nil }
        role = record.role
        if case .salted(_, let iterations, let keyLength, _) = credential {
            salted = SaltedShape(iterations: iterations, keyLength: keyLength)
        }
    }

    /// A ticket user's PBKDF2 shape (the role stays out: a ticket CHALLENGE shows none); nil
    /// for a user without a ticket.
    init?(ticket record: UserRecord) {
        guard let ticket = record.ticket else { return nil }
        role = ""
        salted = SaltedShape(iterations: ticket.iterations, keyLength: ticket.keyLength)
    }

    /// A canonical order, so the same userdb always yields the same draw.
    static func < (a: Self, b: Self) -> Bool {
        let ka = (a.role, a.salted?.iterations ?? 0, a.salted?.keyLength ?? 0)
        let kb = (b.role, b.salted?.iterations ?? 0, b.salted?.keyLength ?? 0)
        return ka < kb
    }
}

/// The userdb's challenge profiles with their user counts, for a weighted draw.
struct DecoyProfiles: Sendable {
    /// For an empty userdb: what `user add` writes.
    static let emptyDatabaseProfile = ChallengeProfile(role: "user", salted: .init(iterations: 1000, keyLength: 32))

    let profiles: [ChallengeProfile]
    /// cumulative[i] = users having profiles[0...i].
    let cumulative: [UInt64]

    /// The WAMP-CRA users' profiles.
    init(records: [UserRecord]) {
        self.init(profiles: records.compactMap(ChallengeProfile.init(wampcra:)))
    }

    /// One profile per user (repeats weigh the draw).
    init(profiles users: [ChallengeProfile]) {
        var counts: [ChallengeProfile: UInt64] = [:]
        for profile in users { counts[profile, default: 0] += 1 }
        if counts.isEmpty { counts[Self.emptyDatabaseProfile] = 1 }
        profiles = counts.keys.sorted()
        var total: UInt64 = 0
        cumulative = profiles.map { total += counts[$0]!; return total }
    }

    /// The profile for a uniform 64-bit draw: `draw·total/2^64` picks a user position, so adding
    /// one user moves only a sliver of authids to another profile.
    func pick(_ draw: UInt64) -> ChallengeProfile {
        let position = draw.multipliedFullWidth(by: cumulative.last!).high
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > position { high = mid } else { low = mid + 1 }
        }
        return profiles[low]
    }
}

/// A decoy's visible parameters.
struct Decoy: Sendable {
    var profile: ChallengeProfile
    /// base64 of 16 bytes, as `user add` writes; nil when the profile is unsalted.
    var salt: String?
}

extension UserDatabase {
    /// The decoy challenge parameters for `authid`: the same for every call with this key file.
    func decoy(for authid: String) -> Decoy {
        decoy(for: authid, domain: "fastbroker.wampcra-decoy", from: table.decoys)
    }

    /// The PBKDF2 shape and salt an unknown authid's ticket is checked with, drawn from the
    /// ticket users' shapes so that the check costs what a real user's does.
    func ticketDecoy(for authid: String) -> Decoy {
        decoy(for: authid, domain: "fastbroker.ticket-decoy", from: table.ticketDecoys)
    }

    private func decoy(for authid: String, domain: String, from profiles: DecoyProfiles) -> Decoy {
        let mac = Crypto.hmacSHA256(key: decoyKey, message: Array("\(domain)\u{0}\(authid)".utf8))
        let draw = mac[16..<24].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let profile = profiles.pick(draw)
        let salt = profile.salted == nil ? nil : Base64.encode(Array(mac[0..<UserDatabase.saltBytes]))
        return Decoy(profile: profile, salt: salt)
    }

    /// Where the decoy key of the userdb at `path` lives.
    public static func decoyKeyPath(forUserDB path: String) -> String { path + ".decoy-key" }

    /// Reads the key file, or creates it (0600, atomically: a concurrent creator's key wins).
    static func loadOrCreateDecoyKey(_ path: String) throws(UserDatabaseError) -> [UInt8] {
        for _ in 0..<2 {
            switch try UserDatabaseFile.load(path) {
            case .contents(let bytes):
                guard let key = parseHexKey(bytes) else {
                    throw UserDatabaseError(file: path, jsonPath: nil, reason:
                        "expected 64 hex digits (the WAMP-CRA decoy key); remove the file to have a new one made")
                }
                return key
            case .missing:
                let key = Crypto.randomBytes(32)
                let text = Hex.encode(key) + "\n"
                let created: Bool
                do {
                    created = try UserDatabaseFile.createExclusively(path, Array(text.utf8))
                } catch {
                    throw UserDatabaseError(file: path, jsonPath: nil, reason: "cannot create the WAMP-CRA decoy key "
                        + "(the userdb's directory must be writable at the first start): \(error.reason)")
                }
                if created { return key }
            }
        }
        throw UserDatabaseError(file: path, jsonPath: nil, reason: "appeared and vanished while being created")
    }

    private static func parseHexKey(_ bytes: [UInt8]) -> [UInt8]? {
        var digits = bytes[...]
        while let last = digits.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { digits = digits.dropLast() }
        guard digits.count == 64 else { return nil }
        return Hex.decode(digits)
    }
}
