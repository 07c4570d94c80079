// One publication on its way to subscribers. On the loop that received it, it borrows the
// PUBLISH message's bytes (valid only while the PUBLISH is dispatched); whatever keeps it longer
// (consumer groups, other loops, the cluster) shares one RemotePublication, its bytes copied
// once (Router.sharedCopy).

import BrokerConfig
import BrokerSerialization
import Synchronization

struct PublisherInfo: Sendable {
    var session: UInt64
    var authid: String
    var authrole: String
}

/// A publication's args list and kwargs dict as encoded bytes in one format (each empty when the
/// PUBLISH had none).
struct Payload {
    var args: UnsafeRawBufferPointer
    var kwargs: UnsafeRawBufferPointer
}

struct Publication {
    var id: UInt64
    /// The topic's UTF-8 bytes (decoded, no quotes).
    var topic: UnsafeRawBufferPointer
    /// The format args/kwargs arrived in.
    var format: WireFormat
    /// Raw bytes of the args list / kwargs dict, as they arrived; empty when the PUBLISH had none.
    var args: UnsafeRawBufferPointer
    var kwargs: UnsafeRawBufferPointer
    /// Session id of the publisher, unless it asked to receive its own event (exclude_me = false).
    var excludedSession: UInt64
    var disclosedPublisher: PublisherInfo?
    var rules: EligibilityRules?

    var payload: Payload { Payload(args: args, kwargs: kwargs) }
}

/// A payload transcoded into another format, owned: made at most once per publication and format
/// (per loop for the publisher's loop, then shared with every other loop through
/// RemotePublication). Transcodings of one publication into the other formats form a short
/// immutable chain (`next`, at most two links), so one reference hands on all of them.
final class TranscodedPayload: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer
    private let argsCount: Int
    private let kwargsCount: Int
    let format: WireFormat
    let next: TranscodedPayload?

    /// Transcodes `payload` from `source` to `format`; nil when the bytes do not transcode
    /// (they were validated on arrival, so this does not happen in practice).
    init?(_ payload: Payload, from source: WireFormat, to format: WireFormat, next: TranscodedPayload? = nil) {
        var args: [UInt8] = [], kwargs: [UInt8] = []
        guard PayloadTranscoder.transcode(payload.args, from: source, to: format, into: &args),
              PayloadTranscoder.transcode(payload.kwargs, from: source, to: format, into: &kwargs) else { return nil }
        self.format = format
        self.next = next
        argsCount = args.count
        kwargsCount = kwargs.count
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, args.count + kwargs.count), alignment: 8)
        args.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: storage[0..<args.count]).copyMemory(from: $0) }
        kwargs.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: storage[args.count..<args.count + kwargs.count]).copyMemory(from: $0) }
        self.storage = storage
    }

    deinit { storage.deallocate() }

    /// The transcoding into `target` in this chain, if made.
    func inFormat(_ target: WireFormat) -> TranscodedPayload? {
        var link: TranscodedPayload? = self
        while let current = link, current.format != target { link = current.next }
        return link
    }

    var payload: Payload {
        let base = UnsafeRawBufferPointer(storage)
        return Payload(args: UnsafeRawBufferPointer(rebasing: base[0..<argsCount]),
                       kwargs: UnsafeRawBufferPointer(rebasing: base[argsCount..<argsCount + kwargsCount]))
    }
}

/// A publication handed to other loops: its bytes copied once, shared (reference-counted) by
/// every destination loop's inbox. Immutable after creation, so any thread may read it.
final class RemotePublication: LoopMessage, @unchecked Sendable {
    let realm: Realm
    let id: UInt64
    let format: WireFormat
    /// The payload in the other formats, each made by whichever loop first needs it.
    private let transcoded: Mutex<TranscodedPayload?>
    let excludedSession: UInt64
    let disclosedPublisher: PublisherInfo?
    let rules: EligibilityRules?
    /// topic | args | kwargs, back to back.
    private let storage: UnsafeMutableRawBufferPointer
    private let topicCount: Int, argsCount: Int, kwargsCount: Int

    init(realm: Realm, _ publication: Publication, transcoded: TranscodedPayload? = nil) {
        self.realm = realm
        id = publication.id
        format = publication.format
        self.transcoded = Mutex(transcoded)
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

    /// The payload in `target` format: the original bytes, or the transcoding shared by all loops.
    func payload(in target: WireFormat) -> Payload {
        if target == format { return publication.payload }
        let transcoding = transcoded.withLock { cached -> TranscodedPayload? in
            if let made = cached?.inFormat(target) { return made }
            cached = TranscodedPayload(publication.payload, from: format, to: target, next: cached) ?? cached
            return cached?.inFormat(target)
        }
        return transcoding?.payload ?? Payload(args: UnsafeRawBufferPointer(start: nil, count: 0), kwargs: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Bytes of topic, args and kwargs together.
    var byteCount: Int { topicCount + argsCount + kwargsCount }

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
