// Subscriber black/whitelisting from PUBLISH options (exclude, eligible, exclude_authid, ...).
// Built once per publication, then asked once per candidate subscriber per event, so each list
// is sorted and deduplicated at build time and `admits` costs a binary search per list present
// (≤ 11 probes for a 1000-entry list), never a walk. Authids and authroles compare by UTF-8
// bytes, like every other identifier in the broker: Swift's String == would treat canonically
// equivalent spellings ("caf\u{E9}" and "cafe\u{301}") as one identity.

import Glibc   // memcmp: libc's vectorised byte compare, on the per-publication lookup path

struct EligibilityRules: Sendable {
    /// A receiver must be in every eligible list present and in no exclude list.
    var exclude = SortedSessionIDs()
    var eligible: SortedSessionIDs? = nil
    var excludeAuthid = SortedByteStrings()
    var eligibleAuthid: SortedByteStrings? = nil
    var excludeAuthrole = SortedByteStrings()
    var eligibleAuthrole: SortedByteStrings? = nil

    /// Whether the rules restrict anyone; a publication with no restriction carries no rules, so
    /// the per-subscriber check is skipped entirely.
    var restrictsAnyone: Bool {
        !exclude.isEmpty || eligible != nil || !excludeAuthid.isEmpty || eligibleAuthid != nil
            || !excludeAuthrole.isEmpty || eligibleAuthrole != nil
    }

    func admits(session: UInt64, authid: String, authrole: String) -> Bool {
        if exclude.contains(session) { return false }
        if let eligible, !eligible.contains(session) { return false }
        if !excludeAuthid.isEmpty && excludeAuthid.contains(authid) { return false }
        if let eligibleAuthid, !eligibleAuthid.contains(authid) { return false }
        if !excludeAuthrole.isEmpty && excludeAuthrole.contains(authrole) { return false }
        if let eligibleAuthrole, !eligibleAuthrole.contains(authrole) { return false }
        return true
    }
}

/// Session ids, sorted and unique, for membership by binary search.
struct SortedSessionIDs: Sendable {
    private var ids: [UInt64] = []

    init() {}

    init(_ unsorted: [UInt64]) {
        var ids = unsorted
        ids.sort()
        var unique = 0
        for id in ids where unique == 0 || ids[unique - 1] != id {
            ids[unique] = id
            unique += 1
        }
        ids.removeLast(ids.count - unique)
        self.ids = ids
    }

    var isEmpty: Bool { ids.isEmpty }
    /// The ids in order (the cluster envelope carries them: ClusterRules).
    var elements: [UInt64] { ids }
    var count: Int { ids.count }

    func contains(_ id: UInt64) -> Bool {
        var low = 0, high = ids.count
        while low < high {
            let mid = (low + high) / 2
            if ids[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low < ids.count && ids[low] == id
    }
}

/// UTF-8 strings (authids, authroles) stored back to back, sorted by bytes and unique, for
/// byte-exact membership by binary search. One allocation for the bytes, one for the ranges.
struct SortedByteStrings: Sendable {
    private var bytes: [UInt8] = []
    private var ranges: [Range<Int>] = []

    init() {}

    /// Collects strings one by one (in any order), then `sorted()` builds the set.
    struct Builder {
        private var bytes: [UInt8] = []
        private var ranges: [Range<Int>] = []

        mutating func append(_ string: UnsafeRawBufferPointer) {
            let start = bytes.count
            bytes.append(contentsOf: string)
            ranges.append(start..<bytes.count)
        }

        var count: Int { ranges.count }

        func sorted() -> SortedByteStrings {
            var set = SortedByteStrings()
            set.bytes = bytes
            set.ranges = bytes.withUnsafeBytes { all in
                var sorted = ranges.sorted { SortedByteStrings.compare(all, $0, all[$1]) < 0 }
                var unique = 0
                for range in sorted where unique == 0 || SortedByteStrings.compare(all, sorted[unique - 1], all[range]) != 0 {
                    sorted[unique] = range
                    unique += 1
                }
                sorted.removeLast(sorted.count - unique)
                return sorted
            }
            return set
        }
    }

    init(_ strings: [String]) {
        var builder = Builder()
        for string in strings {
            var string = string
            string.withUTF8 { builder.append(UnsafeRawBufferPointer($0)) }
        }
        self = builder.sorted()
    }

    var isEmpty: Bool { ranges.isEmpty }
    /// The strings in order (the cluster envelope carries them: ClusterRules).
    var elements: [String] { ranges.map { String(decoding: bytes[$0], as: UTF8.self) } }
    var count: Int { ranges.count }

    /// Byte-exact membership of `string`'s UTF-8; no allocation for native strings.
    func contains(_ string: String) -> Bool {
        if let found = string.utf8.withContiguousStorageIfAvailable({ contains(UnsafeRawBufferPointer($0)) }) {
            return found
        }
        return Array(string.utf8).withUnsafeBytes { contains($0) }
    }

    func contains(_ key: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBytes { all in
            var low = 0, high = ranges.count
            while low < high {
                let mid = (low + high) / 2
                if Self.compare(all, ranges[mid], key) < 0 { low = mid + 1 } else { high = mid }
            }
            return low < ranges.count && Self.compare(all, ranges[low], key) == 0
        }
    }

    /// Orders `all[range]` against `key` by unsigned bytes, a proper prefix first (memcmp order).
    private static func compare(_ all: UnsafeRawBufferPointer, _ range: Range<Int>, _ key: UnsafeRawBufferPointer) -> Int {
        let length = min(range.count, key.count)
        if length > 0 {
            let order = memcmp(all.baseAddress! + range.lowerBound, key.baseAddress!, length)
            if order != 0 { return Int(order) }
        }
        return range.count - key.count
    }

    private static func compare(_ all: UnsafeRawBufferPointer, _ range: Range<Int>, _ other: Slice<UnsafeRawBufferPointer>) -> Int {
        compare(all, range, UnsafeRawBufferPointer(rebasing: other))
    }
}
