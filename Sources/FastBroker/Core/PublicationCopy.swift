// PublicationCopy: one publication copied out of the message it arrived in — its bytes (topic,
// args, kwargs back to back in one allocation) and its metadata as published — for whatever
// keeps it beyond the dispatch of that message: RemotePublication (other loops, groups, the
// cluster) and RetainedEvent (the retained store). One definition of "an owned publication", so
// the two cannot drift apart field by field.

import BrokerSerialization

/// An owned copy of a publication. A plain value over raw storage: its one owner (an immutable
/// class) calls `deallocate()` exactly once, in its deinit; @unchecked Sendable because the
/// storage is never written after init.
struct PublicationCopy: @unchecked Sendable {
    let id: UInt64
    let format: WireFormat
    let excludedSession: UInt64
    let disclosedPublisher: PublisherInfo?
    let rules: EligibilityRules?
    /// topic | args | kwargs, back to back.
    private let storage: UnsafeMutableRawBufferPointer
    private let topicCount: Int, argsCount: Int, kwargsCount: Int

    /// Copies `publication`'s bytes; `excludedSession` overrides the publisher exclusion (a
    /// retained event excludes nobody).
    init(_ publication: Publication, excludedSession: UInt64? = nil) {
        id = publication.id
        format = publication.format
        self.excludedSession = excludedSession ?? publication.excludedSession
        disclosedPublisher = publication.disclosedPublisher
        rules = publication.rules
        topicCount = publication.topic.count
        argsCount = publication.args.count
        kwargsCount = publication.kwargs.count
        storage = .allocate(byteCount: max(1, topicCount + argsCount + kwargsCount), alignment: 8)
        // Raw copies, no slices or array of parts: this runs once per publication that groups
        // or other loops keep.
        let base = storage.baseAddress.unsafelyUnwrapped
        if topicCount > 0 { base.copyMemory(from: publication.topic.baseAddress.unsafelyUnwrapped, byteCount: topicCount) }
        if argsCount > 0 { (base + topicCount).copyMemory(from: publication.args.baseAddress.unsafelyUnwrapped, byteCount: argsCount) }
        if kwargsCount > 0 {
            (base + topicCount + argsCount).copyMemory(from: publication.kwargs.baseAddress.unsafelyUnwrapped, byteCount: kwargsCount)
        }
    }

    /// Frees the bytes; the owner's deinit only.
    func deallocate() { storage.deallocate() }

    /// Bytes of topic, args and kwargs together.
    var byteCount: Int { topicCount + argsCount + kwargsCount }

    /// The topic's bytes (valid while the owner lives).
    var topic: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.baseAddress, count: topicCount) }

    /// The args and kwargs as published (valid while the owner lives).
    var payload: Payload {
        let base = UnsafeRawPointer(storage.baseAddress.unsafelyUnwrapped)
        return Payload(args: UnsafeRawBufferPointer(start: base + topicCount, count: argsCount),
                       kwargs: UnsafeRawBufferPointer(start: base + topicCount + argsCount, count: kwargsCount))
    }

    /// The publication over these bytes (valid while the owner lives).
    var publication: Publication {
        let payload = payload
        return Publication(
            id: id, topic: topic, format: format, args: payload.args, kwargs: payload.kwargs,
            excludedSession: excludedSession, disclosedPublisher: disclosedPublisher, rules: rules)
    }
}
