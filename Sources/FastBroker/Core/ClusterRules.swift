// ClusterRules: a publication's subscriber black/white lists (EligibilityRules) as the bytes of
// the cluster envelope's `options` field, so every node applies the same exclude/eligible rules.
// Layout: nothing at all for "no rules"; otherwise six lists in EligibilityRules' order (exclude,
// eligible, exclude_authid, eligible_authid, exclude_authrole, eligible_authrole), each a byte
// 0 (absent) / 1 (present), then a u32 count and the entries (u64 ids; u16 length + UTF-8
// strings), little-endian (BrokerCluster's LittleEndianBytes/Reader). Decoding checks every
// length and every count against the bytes left: they come from the network.

import BrokerCluster

enum ClusterRules {
    static func encode(_ rules: EligibilityRules?) -> [UInt8] {
        guard let rules, rules.restrictsAnyone else { return [] }
        var out: [UInt8] = []
        func ids(_ list: SortedSessionIDs?) {
            guard let list else { return out.append(0) }
            out.append(1)
            LittleEndianBytes.append(UInt64(list.count), bytes: 4, to: &out)
            for id in list.elements { LittleEndianBytes.append(id, bytes: 8, to: &out) }
        }
        func strings(_ list: SortedByteStrings?) {
            guard let list else { return out.append(0) }
            out.append(1)
            LittleEndianBytes.append(UInt64(list.count), bytes: 4, to: &out)
            for text in list.elements {
                let bytes = Array(text.utf8.prefix(Int(UInt16.max)))
                LittleEndianBytes.append(UInt64(bytes.count), bytes: 2, to: &out)
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
        return bytes.withUnsafeBytes { buffer -> EligibilityRules?? in
            var reader = LittleEndianReader(buffer)
            do throws(ClusterEnvelope.EnvelopeError) {
                var rules = EligibilityRules()
                rules.exclude = try ids(&reader) ?? SortedSessionIDs()
                rules.eligible = try ids(&reader)
                rules.excludeAuthid = try strings(&reader) ?? SortedByteStrings()
                rules.eligibleAuthid = try strings(&reader)
                rules.excludeAuthrole = try strings(&reader) ?? SortedByteStrings()
                rules.eligibleAuthrole = try strings(&reader)
                return reader.remaining == 0 ? .some(rules) : nil
            } catch {
                return nil
            }
        }
    }

    /// A list's entry count, nil when the list is absent. A count the bytes left cannot hold is
    /// refused before anything is allocated for it.
    private static func count(_ reader: inout LittleEndianReader, minimumEntryBytes: Int) throws(ClusterEnvelope.EnvelopeError) -> Int? {
        switch try reader.integer(1, "list tag") {
        case 0: return nil
        case 1:
            let n = try reader.integer(4, "list count")
            guard n <= UInt64(reader.remaining / minimumEntryBytes) else { throw .truncated(field: "list") }
            return Int(n)
        default: throw .notAnEnvelope
        }
    }

    private static func ids(_ reader: inout LittleEndianReader) throws(ClusterEnvelope.EnvelopeError) -> SortedSessionIDs? {
        guard let n = try count(&reader, minimumEntryBytes: 8) else { return nil }
        var list: [UInt64] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try reader.integer(8, "session id")) }
        return SortedSessionIDs(list)
    }

    private static func strings(_ reader: inout LittleEndianReader) throws(ClusterEnvelope.EnvelopeError) -> SortedByteStrings? {
        guard let n = try count(&reader, minimumEntryBytes: 2) else { return nil }
        var list: [String] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try reader.text(lengthBytes: 2, "authid/authrole")) }
        return SortedByteStrings(list)
    }
}
