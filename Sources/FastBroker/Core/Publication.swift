// One publication on its way to subscribers. On the loop that received it, it borrows the
// PUBLISH message's bytes (valid only while the PUBLISH is dispatched); for other loops the
// bytes are copied once into a RemotePublication that every destination loop shares.

import BrokerConfig

struct PublisherInfo: Sendable {
    var session: UInt64
    var authid: String
    var authrole: String
}

/// Subscriber black/whitelisting from PUBLISH options: a receiver must be in every eligible
/// list present and in no exclude list.
struct EligibilityRules: Sendable {
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
    /// The topic's UTF-8 bytes (decoded, no quotes).
    var topic: UnsafeRawBufferPointer
    /// Raw JSON bytes of the args array / kwargs object; empty when the PUBLISH had none.
    var args: UnsafeRawBufferPointer
    var kwargs: UnsafeRawBufferPointer
    /// Session id of the publisher, unless it asked to receive its own event (exclude_me = false).
    var excludedSession: UInt64
    var disclosedPublisher: PublisherInfo?
    var rules: EligibilityRules?
}

/// A publication handed to other loops: its bytes copied once, shared (reference-counted) by
/// every destination loop's inbox. Immutable after creation, so any thread may read it.
final class RemotePublication: LoopMessage, @unchecked Sendable {
    let realm: Realm
    let id: UInt64
    let excludedSession: UInt64
    let disclosedPublisher: PublisherInfo?
    let rules: EligibilityRules?
    /// topic | args | kwargs, back to back.
    private let storage: UnsafeMutableRawBufferPointer
    private let topicCount: Int, argsCount: Int, kwargsCount: Int

    init(realm: Realm, _ publication: Publication) {
        self.realm = realm
        id = publication.id
        excludedSession = publication.excludedSession
        disclosedPublisher = publication.disclosedPublisher
        rules = publication.rules
        topicCount = publication.topic.count
        argsCount = publication.args.count
        kwargsCount = publication.kwargs.count
        storage = .allocate(byteCount: max(1, topicCount + argsCount + kwargsCount), alignment: 8)
        super.init(kind: .publication)
        var offset = 0
        for part in [publication.topic, publication.args, publication.kwargs] where part.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: storage[offset..<offset + part.count]).copyMemory(from: part)
            offset += part.count
        }
    }

    deinit { storage.deallocate() }

    /// Bytes of topic, args and kwargs together.
    var byteCount: Int { topicCount + argsCount + kwargsCount }

    var publication: Publication {
        let base = UnsafeRawBufferPointer(storage)
        return Publication(
            id: id,
            topic: UnsafeRawBufferPointer(rebasing: base[0..<topicCount]),
            args: UnsafeRawBufferPointer(rebasing: base[topicCount..<topicCount + argsCount]),
            kwargs: UnsafeRawBufferPointer(rebasing: base[topicCount + argsCount..<topicCount + argsCount + kwargsCount]),
            excludedSession: excludedSession, disclosedPublisher: disclosedPublisher, rules: rules)
    }
}
