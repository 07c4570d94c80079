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
    /// TopicHash.value(topic), computed once by the publishing session for both of its lookups
    /// (permission cache, index); 0 when not computed (copies, meta events), which `topicKey`
    /// then computes.
    var topicHash: UInt64 = 0

    var payload: Payload { Payload(args: args, kwargs: kwargs) }

    /// `topicHash`, computed here when the publication does not carry it.
    var knownTopicHash: UInt64 {
        @inline(__always) get { topicHash != 0 ? topicHash : TopicHash.value(topic) }
    }
}

/// A payload transcoded into another format, owned: made at most once per publication and format
/// (per loop for the publisher's loop, then shared with every other loop through
/// RemotePublication). Transcodings of one publication into the other formats form a short
/// immutable chain (`next`, at most two links), so one reference hands on all of them.
final class TranscodedPayload: @unchecked Sendable {   // immutable after init (raw storage)
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
/// every destination loop's inbox. One allocation per publication (`Storage`, a ManagedBuffer):
/// the header, then the three transcoding slots, then topic | args | kwargs — made per event a
/// consumer group or another loop keeps, so the bytes cost no malloc and free of their own.
/// A struct over that one reference (as cheap to copy as a class reference): ManagedBuffer may
/// not be Sendable, this may — the storage is immutable after `make` but for the transcoding
/// slots, which are atomic.
struct RemotePublication: LoopMessage, @unchecked Sendable {
    fileprivate let storage: Storage

    /// Copies `publication` (its bytes into the same allocation); the publishing loop's
    /// transcodings (a chain, one link per format) fill their slots.
    static func make(realm: Realm, _ publication: Publication, transcoded: TranscodedPayload? = nil) -> RemotePublication {
        let storage = Storage.make(realm: realm, publication)
        var link = transcoded
        while let current = link {
            if current.format != publication.format {
                storage.withSlot(current.format) { $0.store(Unmanaged.passRetained(current), ordering: .relaxed) }
            }
            link = current.next
        }
        return RemotePublication(storage: storage)
    }

    var realm: Realm { storage.header.realm }
    var id: UInt64 { storage.header.copy.id }
    /// Bytes of topic, args and kwargs together (what a cross-loop backlog counts, plus a fixed
    /// 64 per message for the rest).
    var byteCount: Int { storage.header.copy.byteCount }
    var publication: Publication { storage.header.copy.publication }

    /// The payload in `target` format: the original bytes, or the transcoding shared by all loops.
    func payload(in target: WireFormat) -> Payload {
        // Read in place: a copy of `copy` would retain and release its extras.
        if target == storage.header.copy.format { return storage.header.copy.payload }
        let transcoding = storage.withSlot(target) { transcoded(to: target, slot: $0) }
        return transcoding?.payload ?? Payload(args: UnsafeRawBufferPointer(start: nil, count: 0), kwargs: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// The slot's transcoding, made and installed (compare-and-swap) when the slot is empty.
    /// Lock-free (the publish path takes no lock): two loops may race to transcode, the first
    /// to install its result wins and the other frees its copy. Each slot holds +1.
    private func transcoded(to target: WireFormat, slot: borrowing Storage.Slot) -> TranscodedPayload? {
        if let existing = slot.load(ordering: .acquiring) { return existing.takeUnretainedValue() }
        let copy = storage.header.copy
        guard let made = TranscodedPayload(copy.payload, from: copy.format, to: target) else { return nil }
        let candidate = Unmanaged.passRetained(made)
        let (installed, current) = slot.compareExchange(expected: nil, desired: candidate, ordering: .acquiringAndReleasing)
        if installed { return made }
        candidate.release()   // another loop was first: use its transcoding
        return current!.takeUnretainedValue()
    }

    struct Header {
        let realm: Realm
        /// The metadata, over the bytes in the tail (never deallocated: they go with the object).
        let copy: PublicationCopy
    }

    /// The one allocation: header, then `slotCount` words of transcoding slots (one per format,
    /// `slotIndex`), then the bytes.
    final class Storage: ManagedBuffer<Header, UInt64> {
        typealias Slot = Atomic<Unmanaged<TranscodedPayload>?>
        private static let slotCount = 3

        private static func slotIndex(_ format: WireFormat) -> Int {
            switch format {
            case .json: 0
            case .msgpack: 1
            case .cbor: 2
            }
        }

        static func make(realm: Realm, _ publication: Publication) -> Storage {
            let words = slotCount + (PublicationCopy.byteCount(of: publication) + 7) / 8
            let made = create(minimumCapacity: words) { buffer in
                buffer.withUnsafeMutablePointerToElements { tail in
                    let slots = UnsafeMutableRawPointer(tail).bindMemory(to: Slot.self, capacity: slotCount)
                    for i in 0..<slotCount { (slots + i).initialize(to: Slot(nil)) }
                    return Header(realm: realm, copy: PublicationCopy(publication, into: UnsafeMutableRawPointer(tail + slotCount)))
                }
            }
            return unsafeDowncast(made, to: Storage.self)
        }

        deinit {
            withUnsafeMutablePointerToElements { tail in
                let slots = UnsafeMutableRawPointer(tail).assumingMemoryBound(to: Slot.self)
                for i in 0..<Self.slotCount { slots[i].load(ordering: .acquiring)?.release() }
                slots.deinitialize(count: Self.slotCount)
            }
            // ManagedBuffer destroys the header (realm, copy); the bytes go with the object.
        }

        /// Runs `body` on `format`'s slot (in the tail: at a fixed address while the object lives).
        func withSlot<R>(_ format: WireFormat, _ body: (borrowing Slot) -> R) -> R {
            withUnsafeMutablePointerToElements { tail in
                body(UnsafeMutableRawPointer(tail).assumingMemoryBound(to: Slot.self)[Self.slotIndex(format)])
            }
        }
    }
}

/// The same copy (one allocation): what identity means for a class reference.
func === (lhs: RemotePublication?, rhs: RemotePublication?) -> Bool { lhs?.storage === rhs?.storage }
