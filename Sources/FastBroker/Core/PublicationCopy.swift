// PublicationCopy: one publication copied out of the message it arrived in — its bytes (topic,
// args, kwargs back to back in one allocation) and its metadata as published — for whatever
// keeps it beyond the dispatch of that message: RemotePublication (other loops, groups, the
// cluster) and RetainedEvent (the retained store). One definition of "an owned publication", so
// the two cannot drift apart field by field.

import BrokerSerialization
import Glibc   // malloc/free: see init

/// An owned copy of a publication. A plain value over raw storage: its one owner (an immutable
/// class) either holds the bytes in its own allocation (RemotePublication: `init(_:into:)`) or
/// calls `deallocate()` exactly once, in its deinit; @unchecked Sendable because the storage is
/// never written after init.
struct PublicationCopy: @unchecked Sendable {
    let id: UInt64
    let format: WireFormat
    let excludedSession: UInt64
    /// The disclosed publisher and eligibility rules, boxed, nil when the publication had
    /// neither (nearly always): copying a nil class reference is free, where copying these
    /// optionals is a runtime value-witness call each, even for nil.
    private let extras: Extras?
    private final class Extras: Sendable {
        let disclosedPublisher: PublisherInfo?
        let rules: EligibilityRules?
        init(_ disclosedPublisher: PublisherInfo?, _ rules: EligibilityRules?) {
            self.disclosedPublisher = disclosedPublisher
            self.rules = rules
        }
    }
    /// topic | args | kwargs, back to back.
    private let storage: UnsafeMutableRawPointer
    private let topicCount: Int, argsCount: Int, kwargsCount: Int

    /// Bytes a copy of `publication` takes: topic, args and kwargs.
    @inline(__always)   // per copy: three loads and two adds, not worth a call
    static func byteCount(of publication: borrowing Publication) -> Int {
        publication.topic.count + publication.args.count + publication.kwargs.count
    }

    /// Copies `publication`'s bytes into storage of its own (freed by `deallocate`);
    /// `excludedSession` overrides the publisher exclusion (a retained event excludes nobody).
    init(_ publication: borrowing Publication, excludedSession: UInt64? = nil) {   // borrowing: an init would take (copy) it
        // malloc, not UnsafeMutableRawBufferPointer.allocate: that one always takes the runtime's
        // aligned path (posix_memalign, ~3× the cost); malloc's 16-byte alignment is plenty.
        let base = malloc(max(1, Self.byteCount(of: publication)))!   // nil only when memory is exhausted: trap
        self.init(publication, excludedSession: excludedSession, into: base)
    }

    /// Copies `publication`'s bytes into `base` (`byteCount(of:)` bytes), which the caller owns
    /// and keeps alive as long as this copy: `deallocate` must not be called then.
    init(_ publication: borrowing Publication, excludedSession: UInt64? = nil, into base: UnsafeMutableRawPointer) {
        id = publication.id
        format = publication.format
        self.excludedSession = excludedSession ?? publication.excludedSession
        if case .none = publication.disclosedPublisher, case .none = publication.rules {
            extras = nil
        } else {
            extras = Extras(publication.disclosedPublisher, publication.rules)
        }
        topicCount = publication.topic.count
        argsCount = publication.args.count
        kwargsCount = publication.kwargs.count
        storage = base
        // Raw copies, no slices or array of parts: this runs once per publication that groups
        // or other loops keep.
        if topicCount > 0 { base.copyMemory(from: publication.topic.baseAddress.unsafelyUnwrapped, byteCount: topicCount) }
        if argsCount > 0 { (base + topicCount).copyMemory(from: publication.args.baseAddress.unsafelyUnwrapped, byteCount: argsCount) }
        if kwargsCount > 0 {
            (base + topicCount + argsCount).copyMemory(from: publication.kwargs.baseAddress.unsafelyUnwrapped, byteCount: kwargsCount)
        }
    }

    /// Frees the bytes of a copy made with storage of its own; the owner's deinit only.
    func deallocate() { free(storage) }

    /// Bytes of topic, args and kwargs together.
    var byteCount: Int { topicCount + argsCount + kwargsCount }

    /// The topic's bytes (valid while the owner lives).
    var topic: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: topicCount) }

    /// The args and kwargs as published (valid while the owner lives).
    var payload: Payload {
        let base = UnsafeRawPointer(storage)
        return Payload(args: UnsafeRawBufferPointer(start: base + topicCount, count: argsCount),
                       kwargs: UnsafeRawBufferPointer(start: base + topicCount + argsCount, count: kwargsCount))
    }

    /// The publication over these bytes (valid while the owner lives).
    var publication: Publication {
        let payload = payload
        guard let extras else {
            return Publication(id: id, topic: topic, format: format, args: payload.args, kwargs: payload.kwargs,
                               excludedSession: excludedSession, disclosedPublisher: nil, rules: nil)
        }
        return Publication(id: id, topic: topic, format: format, args: payload.args, kwargs: payload.kwargs,
                           excludedSession: excludedSession, disclosedPublisher: extras.disclosedPublisher, rules: extras.rules)
    }
}
