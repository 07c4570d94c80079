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
        var offset = 0
        for part in [publication.topic, publication.args, publication.kwargs] where part.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: storage[offset..<offset + part.count]).copyMemory(from: part)
            offset += part.count
        }
    }

    /// Frees the bytes; the owner's deinit only.
    func deallocate() { storage.deallocate() }

    /// Bytes of topic, args and kwargs together.
    var byteCount: Int { topicCount + argsCount + kwargsCount }

    /// The publication over these bytes (valid while the owner lives).
    var publication: Publication {
        let base = UnsafeRawBufferPointer(storage)
        return Publication(
            id: id,
            topic: UnsafeRawBufferPointer(rebasing: base[0..<topicCount]),
            format: format,
            args: UnsafeRawBufferPointer(rebasing: base[topicCount..<topicCount + argsCount]),
            kwargs: UnsafeRawBufferPointer(rebasing: base[topicCount + argsCount..<topicCount + argsCount + kwargsCount]),
            excludedSession: excludedSession, disclosedPublisher: disclosedPublisher, rules: rules)
    }
}
