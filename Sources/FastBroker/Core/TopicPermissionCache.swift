// Per-delivery subscribe checks for subscribers whose pattern is only partly permitted for
// their role (PatternVerdict.perTopic, see Config/PatternPermission.swift): the concrete topic
// of each publication is checked with the role's first-match rule before the EVENT is queued.
// Verdicts are memoized by (role, topic bytes) so a hit costs one hash lookup on the
// publication's own bytes and allocates nothing. One cache per router (a realm on one loop),
// owned by that loop's thread; bounded in entries and in stored topic bytes, and simply emptied
// when full (a miss only costs a rule scan, so churn from many distinct topics stays cheap).

import BrokerConfig

struct TopicPermissionCache {
    private struct Key: Hashable {
        let role: Int
        let topic: TopicKey
    }
    private var verdicts: [Key: Bool] = [:]
    private var storedBytes = 0
    static let maxEntries = 4096
    static let maxStoredBytes = 256 * 1024

    /// Whether role `role` (an index into `roles`) may receive an event on `topic`.
    mutating func allows(role: Int, topic: UnsafeRawBufferPointer, roles: [RoleConfig]) -> Bool {
        if let known = verdicts[Key(role: role, topic: TopicKey(borrowing: topic))] { return known }
        let allowed = roles[role].allowsSubscribe(toTopic: topic)
        if verdicts.count >= Self.maxEntries || storedBytes + topic.count > Self.maxStoredBytes {
            verdicts.removeAll(keepingCapacity: true)
            storedBytes = 0
        }
        if topic.count <= Self.maxStoredBytes {
            verdicts[Key(role: role, topic: TopicKey(copying: topic))] = allowed
            storedBytes += topic.count
        }
        return allowed
    }

    var count: Int { verdicts.count }
}
