// SUBSCRIBE options read in one pass over the options dict (JSON or MessagePack), beside
// PublishOptions: the match policy, the consumer-group type and name (SPEC §5.2; `_type` and
// `_group` are accepted too, the plain key winning), and the content filter (SPEC §5.1, compiled
// by SubscriptionFilter). Runs once per SUBSCRIBE, not per event.
//
// The pass only remembers where each known option's value is, then each is checked in a fixed
// order, so the first problem reported is the same whatever the order of the keys. A repeated
// key: the last one wins (the rule of every message view, JSONObjectView). Unknown options are
// ignored, as the WAMP spec requires.

import BrokerConfig
import BrokerSerialization
import FilterVM

struct SubscribeOptions {
    var match = MatchPolicy.exact
    /// Set for a consumer-group subscription.
    var groupType: GroupType? = nil
    /// The group's name ("" when the options name none).
    var groupName = ""
    var filter: FilterProgram? = nil
    /// Send the retained events the subscription matches after SUBSCRIBED (SPEC §5).
    var getRetained = false

    static func parse(_ options: JSONObjectView) -> Result<SubscribeOptions, SubscribeRefusal> {
        let buffer = options.buffer
        var matchSpan: JSONSpan?
        var typeSpan: JSONSpan?, underscoredTypeSpan: JSONSpan?
        var groupSpan: JSONSpan?, underscoredGroupSpan: JSONSpan?
        var getRetainedSpan: JSONSpan?
        for (key, value) in options {
            if JSONScanner.stringEquals(buffer, key, "match") { matchSpan = value }
            else if JSONScanner.stringEquals(buffer, key, "type") { typeSpan = value }
            else if JSONScanner.stringEquals(buffer, key, "_type") { underscoredTypeSpan = value }
            else if JSONScanner.stringEquals(buffer, key, "group") { groupSpan = value }
            else if JSONScanner.stringEquals(buffer, key, "_group") { underscoredGroupSpan = value }
            else if JSONScanner.stringEquals(buffer, key, "get_retained") { getRetainedSpan = value }
        }

        var parsed = SubscribeOptions()
        if let span = matchSpan {
            guard let policy = matchPolicy(buffer, span) else {
                return .failure(.invalidArgument("options.match must be \"exact\", \"prefix\" or \"wildcard\""))
            }
            parsed.match = policy
        }
        if let span = typeSpan ?? underscoredTypeSpan {
            guard span.kind == .string, let type = GroupType(rawValue: JSONScanner.decodeString(buffer, span)) else {
                return .failure(.invalidArgument("options.type must be \"exclusive\", \"shared\" or \"failover\""))
            }
            parsed.groupType = type
        }
        if let span = groupSpan ?? underscoredGroupSpan {
            guard span.kind == .string else { return .failure(.invalidArgument("options.group must be a string")) }
            guard parsed.groupType != nil else {
                return .failure(.invalidArgument("options.group needs options.type (exclusive, shared or failover)"))
            }
            parsed.groupName = JSONScanner.decodeString(buffer, span)
        }
        if let span = getRetainedSpan {
            switch span.kind {
            case .true: parsed.getRetained = true
            case .false: parsed.getRetained = false
            default: return .failure(.invalidArgument("options.get_retained must be a bool"))
            }
        }
        switch SubscriptionFilter.compile(from: options) {
        case .failure(let refusal)?: return .failure(refusal)
        case .success(let program)?: parsed.filter = program
        case nil: break
        }
        return .success(parsed)
    }

    /// The policy a `match` value names, compared in place.
    private static func matchPolicy(_ buffer: UnsafeRawBufferPointer, _ span: JSONSpan) -> MatchPolicy? {
        for policy in MatchPolicy.allCases {
            var name = policy.rawValue
            if name.withUTF8({ JSONScanner.stringEquals(buffer, span, UnsafeRawBufferPointer($0)) }) { return policy }
        }
        return nil
    }
}
