// One publication on its way to subscribers. Borrows the PUBLISH message's args/kwargs bytes
// (valid only while the PUBLISH is being dispatched); every EVENT built from it copies them.

import BrokerConfig

struct PublisherInfo {
    var session: UInt64
    var authid: String
    var authrole: String
}

/// Subscriber black/whitelisting from PUBLISH options: a receiver must be in every eligible
/// list present and in no exclude list.
struct EligibilityRules {
    var exclude: [UInt64] = []
    var eligible: [UInt64]? = nil
    var excludeAuthid: [String] = []
    var eligibleAuthid: [String]? = nil
    var excludeAuthrole: [String] = []
    var eligibleAuthrole: [String]? = nil

    func admits(session: UInt64, authid: String, authrole: String) -> Bool {
        if exclude.contains(session) { return false }
        if let eligible, !eligible.contains(session) { return false }
        if excludeAuthid.contains(authid) { return false }
        if let eligibleAuthid, !eligibleAuthid.contains(authid) { return false }
        if excludeAuthrole.contains(authrole) { return false }
        if let eligibleAuthrole, !eligibleAuthrole.contains(authrole) { return false }
        return true
    }
}

struct Publication {
    var id: UInt64
    var topic: String
    /// Raw JSON bytes of the args array / kwargs object; empty when the PUBLISH had none.
    var args: UnsafeRawBufferPointer
    var kwargs: UnsafeRawBufferPointer
    /// The publishing session, unless it asked to receive its own event (exclude_me = false).
    var excludedSession: Session?
    var disclosedPublisher: PublisherInfo?
    var rules: EligibilityRules?
}
