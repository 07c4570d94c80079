// ClusterRules: a publication's subscriber black/white lists (EligibilityRules) as the bytes of
// the cluster envelope's `options` field, so every node applies the same exclude/eligible rules.
// Layout: nothing at all for "no rules"; otherwise six lists in EligibilityRules' order (exclude,
// eligible, exclude_authid, eligible_authid, exclude_authrole, eligible_authrole), each a byte
// 0 (absent) / 1 (present), then a u32 count and the entries (u64 ids; u16 length + UTF-8
// strings), little-endian. Decoding checks every length: the bytes come from the network.

enum ClusterRules {
    static func encode(_ rules: EligibilityRules?) -> [UInt8] {
        guard let rules, rules.restrictsAnyone else { return [] }
        var out: [UInt8] = []
        func ids(_ list: SortedSessionIDs?) {
            guard let list else { return out.append(0) }
            out.append(1)
            append(UInt64(list.count), width: 4, to: &out)
            for id in list.elements { append(id, width: 8, to: &out) }
        }
        func strings(_ list: SortedByteStrings?) {
            guard let list else { return out.append(0) }
            out.append(1)
            append(UInt64(list.count), width: 4, to: &out)
            for text in list.elements {
                let bytes = Array(text.utf8.prefix(Int(UInt16.max)))
                append(UInt64(bytes.count), width: 2, to: &out)
                out += bytes
            }
        }
        ids(rules.exclude)
        ids(rules.eligible)
        strings(rules.excludeAuthid)
        strings(rules.eligibleAuthid)
        strings(rules.excludeAuthrole)
        strings(rules.eligibleAuthrole)
        return out
    }

    /// nil when the bytes are not rules this encoder wrote; `.some(nil)` for "no rules".
    static func decode(_ bytes: [UInt8]) -> EligibilityRules?? {
        if bytes.isEmpty { return .some(nil) }
        var offset = 0
        func integer(_ width: Int) -> UInt64? {
            guard bytes.count - offset >= width else { return nil }
            var value: UInt64 = 0
            for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            offset += width
            return value
        }
        /// A list's entry count, nil when absent; fails (outer nil) on a bad tag or a count the
        /// remaining bytes cannot hold (so a forged count cannot make us allocate).
        func count(minimumEntryBytes: Int) -> Int?? {
            guard let tag = integer(1), tag <= 1 else { return nil }
            if tag == 0 { return .some(nil) }
            guard let n = integer(4), Int(n) <= (bytes.count - offset) / minimumEntryBytes else { return nil }
            return .some(Int(n))
        }
        func ids() -> SortedSessionIDs?? {
            guard let n = count(minimumEntryBytes: 8) else { return nil }
            guard let n else { return .some(nil) }
            var list: [UInt64] = []
            list.reserveCapacity(n)
            for _ in 0..<n { guard let id = integer(8) else { return nil }; list.append(id) }
            return .some(SortedSessionIDs(list))
        }
        func strings() -> SortedByteStrings?? {
            guard let n = count(minimumEntryBytes: 2) else { return nil }
            guard let n else { return .some(nil) }
            var list: [String] = []
            list.reserveCapacity(n)
            for _ in 0..<n {
                guard let length = integer(2), bytes.count - offset >= Int(length) else { return nil }
                list.append(String(decoding: bytes[offset..<offset + Int(length)], as: UTF8.self))
                offset += Int(length)
            }
            return .some(SortedByteStrings(list))
        }
        guard let exclude = ids(), let eligible = ids(), let excludeAuthid = strings(), let eligibleAuthid = strings(),
            let excludeAuthrole = strings(), let eligibleAuthrole = strings(), offset == bytes.count
        else { return nil }
        var rules = EligibilityRules()
        rules.exclude = exclude ?? SortedSessionIDs()
        rules.eligible = eligible
        rules.excludeAuthid = excludeAuthid ?? SortedByteStrings()
        rules.eligibleAuthid = eligibleAuthid
        rules.excludeAuthrole = excludeAuthrole ?? SortedByteStrings()
        rules.eligibleAuthrole = eligibleAuthrole
        return .some(rules)
    }

    private static func append(_ value: UInt64, width: Int, to out: inout [UInt8]) {
        for i in 0..<width { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}
