// Per-delivery subscribe checks for subscribers whose pattern is only partly permitted for
// their role (PatternVerdict.perTopic, see Config/PatternPermission.swift): the concrete topic
// of each publication is checked with the role's first-match rule before the EVENT is queued.
// Verdicts are memoized by (role, topic bytes) so a hit costs one hash lookup on the
// publication's own bytes and allocates nothing. One cache per router (a realm on one loop),
// owned by that loop's thread; bounded in entries and in stored topic bytes, and simply emptied
// when full (a miss only costs a rule scan, so churn from many distinct topics stays cheap).

struct TopicPermissionCache {
    private struct Key: Hashable {
        let role: Int
        let topic: TopicKey
    }
    private var verdicts: [Key: Bool] = [:]
    private var storedBytes = 0
    static let maxEntries = 4096
    static let maxStoredBytes = 256 * 1024

    /// The remembered verdict for role `role` on `topic`, if any (no allocation).
    func verdict(role: Int, topic: UnsafeRawBufferPointer) -> Bool? {
        verdicts[Key(role: role, topic: TopicKey(borrowing: topic))]
    }

    /// Remembers a verdict, emptying the cache first when it would exceed its bounds.
    mutating func record(_ allowed: Bool, role: Int, topic: UnsafeRawBufferPointer) {
        guard topic.count <= Self.maxStoredBytes else { return }
        if verdicts.count >= Self.maxEntries || storedBytes + topic.count > Self.maxStoredBytes {
            verdicts.removeAll(keepingCapacity: true)
            storedBytes = 0
        }
        verdicts[Key(role: role, topic: TopicKey(copying: topic))] = allowed
        storedBytes += topic.count
    }

    var count: Int { verdicts.count }
    var bytes: Int { storedBytes }
}
