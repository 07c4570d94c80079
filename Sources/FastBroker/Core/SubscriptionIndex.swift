// A subscription (one per distinct topic pattern, match policy, filter and group on a loop) and
// what makes two SUBSCRIBEs the same subscription. The index that finds them by topic is
// TopicIndex. Owned by the router's loop thread.

import BrokerConfig
import FilterVM

final class Subscription {
    let id: UInt64
    /// `id` with its decimal digits made once, for the JSON EVENT head.
    let decimalID: DecimalID
    let key: SubscriptionKey
    /// The topic or pattern, as bytes.
    let topic: TopicKey
    /// The subscribed sessions. Owned by the router's loop thread.
    var subscribers = SubscriberList<Session>()
    /// Sessions whose role is granted only some topics of this pattern (PatternVerdict.perTopic):
    /// each delivery checks the topic for their role first. Kept apart so subscriptions without
    /// them pay nothing. Owned by the router's loop thread.
    var checkedSubscribers = SubscriberList<CheckedSubscriber>()
    /// The content filter, shared by every subscription with the same bound program.
    let filter: FilterProgram?
    /// The router's memo slot for `filter`'s result during one publication.
    let filterSlot: Int
    /// Set on the index entry of a consumer group (on the group's home loop).
    var group: ConsumerGroup?

    init(id: UInt64, key: SubscriptionKey, filter: FilterProgram?, filterSlot: Int) {
        self.id = id
        decimalID = DecimalID(id)
        self.key = key
        self.topic = key.topic
        self.filter = filter
        self.filterSlot = filterSlot
    }
}

/// What makes two SUBSCRIBEs the same subscription (SPEC §5: identical topic, match, filter
/// with its bound values — compared by the compiled program's canonical fingerprint — and, with
/// consumer groups, type and group). Client text is compared as bytes (TopicKey,
/// BytewiseString): canonically equivalent topics are different subscriptions.
struct SubscriptionKey: Hashable, Sendable {
    var topic: TopicKey
    var match: MatchPolicy
    var filterFingerprint: BytewiseString? = nil
    var groupType: GroupType? = nil
    var group: BytewiseString? = nil
}

extension SubscriptionKey {
    /// A key from the SUBSCRIBE's strings, each kept as its bytes.
    init(topic: String, match: MatchPolicy, filterFingerprint: String? = nil, groupType: GroupType? = nil, group: String? = nil) {
        self.init(topic: TopicKey(owning: topic), match: match, filterFingerprint: filterFingerprint.map { BytewiseString($0) },
                  groupType: groupType, group: group.map { BytewiseString($0) })
    }
}

/// The router's index of its subscriptions, by topic pattern.
typealias SubscriptionIndex = TopicIndex<Subscription>

extension TopicIndex where Entry == Subscription {
    func insert(_ subscription: Subscription) {
        insert(subscription, pattern: subscription.topic.bytes, policy: subscription.key.match)
    }

    func remove(_ subscription: Subscription) {
        remove(subscription, pattern: subscription.topic.bytes, policy: subscription.key.match)
    }
}
