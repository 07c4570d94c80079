// ClusterEnvelope: the bytes one publication travels in between nodes — a compact binary header
// followed by the publication's original payload bytes, untouched (a receiving node transcodes
// only when its own subscribers need another serializer). Layout, integers little-endian:
//
//   "FB" version:u8 format:u8 flags:u8 (1 = disclose_me, 2 = exclude_me)
//   originEpoch:u64 originSequence:u64 publicationID:u64 publisherSession:u64
//   subjectStream:u64 subjectSequence:u64   (version 2; version 1 lacks them: read as 0, untracked)
//   originNode, realm, topic, authid, authrole: u16 length + UTF-8 bytes each
//   options: u32 length + bytes  (the subscriber black/white lists — exclude, eligible and their
//                                 authid/authrole forms — as the broker side encodes them; opaque here)
//   args: u32 length + bytes     (the args list as published, in `format`; empty when absent)
//   kwargs: the rest             (the kwargs dict as published, in `format`; empty when absent)
//
// (originNode, originEpoch, originSequence) identifies a publication cluster-wide: the receiver
// drops copies it has already handed over (overlapping subscriptions) and its own echoes.
// (subjectStream, subjectSequence) count per origin and subject, so a receiver can count what NATS
// silently lost (ClusterSequenceGaps).
// Decoding checks every length against the buffer: bytes from NATS are untrusted.

public struct ClusterPublication: Sendable, Equatable {
    public var originNode: String
    /// Random per process start, so a restarted node's sequence numbers are not taken for replays.
    public var originEpoch: UInt64
    /// 1, 2, 3, … per origin process, in publish order.
    public var originSequence: UInt64
    /// Per (origin, subject): see ClusterSequenceGaps. Stream 0: not tracked.
    public var subjectStream: UInt64 = 0
    public var subjectSequence: UInt64 = 0
    public var realm: String
    public var topic: String
    /// The id the publisher's PUBLISHED carried; EVENTs on every node use it (SPEC §7).
    public var publicationID: UInt64
    public var publisherSession: UInt64
    public var authid: String
    public var authrole: String
    public var discloseMe: Bool
    /// The publisher does not want its own event (WAMP exclude_me, default true); it matters on
    /// the publisher's node only, but travels so every node applies the same rule.
    public var excludeMe: Bool
    /// Serializer of `args` and `kwargs` (WireFormat's raw value on the broker side).
    public var format: UInt8
    public var options: [UInt8]
    public var args: [UInt8]
    public var kwargs: [UInt8]

    public init(
        originNode: String = "", originEpoch: UInt64 = 0, originSequence: UInt64 = 0, realm: String, topic: String,
        publicationID: UInt64, publisherSession: UInt64, authid: String, authrole: String, discloseMe: Bool,
        excludeMe: Bool = true, format: UInt8, options: [UInt8], args: [UInt8], kwargs: [UInt8]
    ) {
        self.originNode = originNode
        self.originEpoch = originEpoch
        self.originSequence = originSequence
        self.realm = realm
        self.topic = topic
        self.publicationID = publicationID
        self.publisherSession = publisherSession
        self.authid = authid
        self.authrole = authrole
        self.discloseMe = discloseMe
        self.excludeMe = excludeMe
        self.format = format
        self.options = options
        self.args = args
        self.kwargs = kwargs
    }
}

public enum ClusterEnvelope {
    static let magic: [UInt8] = [UInt8(ascii: "F"), UInt8(ascii: "B")]
    static let version: UInt8 = 2
    /// Still read (from nodes not yet upgraded): no subject sequence.
    static let versionWithoutSubjectSequence: UInt8 = 1
    static let discloseMeFlag: UInt8 = 1
    static let excludeMeFlag: UInt8 = 2

    public enum EnvelopeError: Error, Equatable {
        case notAnEnvelope
        case unsupportedVersion(UInt8)
        case truncated(field: String)
        case fieldTooLong(field: String)
        case invalidUTF8(field: String)
    }

    public static func encode(_ p: ClusterPublication) throws(EnvelopeError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(p, into: &out)
        return out
    }

    /// Appends `p`'s envelope to `out` (the publisher thread reuses one buffer: no allocation
    /// per publication). Every length is checked before a byte is written: a throw leaves `out`
    /// as it was.
    public static func encode(_ p: ClusterPublication, into out: inout [UInt8]) throws(EnvelopeError) {
        // Field by field, not through an array of (name, value) pairs: that array cost an
        // allocation per publication.
        guard p.originNode.utf8.count <= 0xFFFF else { throw .fieldTooLong(field: "origin node") }
        guard p.realm.utf8.count <= 0xFFFF else { throw .fieldTooLong(field: "realm") }
        guard p.topic.utf8.count <= 0xFFFF else { throw .fieldTooLong(field: "topic") }
        guard p.authid.utf8.count <= 0xFFFF else { throw .fieldTooLong(field: "authid") }
        guard p.authrole.utf8.count <= 0xFFFF else { throw .fieldTooLong(field: "authrole") }
        guard p.options.count <= UInt32.max else { throw .fieldTooLong(field: "options") }
        guard p.args.count <= UInt32.max else { throw .fieldTooLong(field: "args") }
        // Grown once, then filled through one pointer: appending field by field cost a capacity
        // check and a copy call per integer, a third of the publisher thread's time.
        let start = out.count
        let size = encodedSize(p)
        LittleEndianBytes.appendZeros(size, to: &out)
        out.withUnsafeMutableBytes { buffer in
            var cursor = EnvelopeCursor(buffer: buffer, offset: start)
            cursor.byte(magic[0])
            cursor.byte(magic[1])
            cursor.byte(version)
            cursor.byte(p.format)
            cursor.byte((p.discloseMe ? discloseMeFlag : 0) | (p.excludeMe ? excludeMeFlag : 0))
            cursor.integer(p.originEpoch)
            cursor.integer(p.originSequence)
            cursor.integer(p.publicationID)
            cursor.integer(p.publisherSession)
            cursor.integer(p.subjectStream)
            cursor.integer(p.subjectSequence)
            cursor.text(p.originNode)
            cursor.text(p.realm)
            cursor.text(p.topic)
            cursor.text(p.authid)
            cursor.text(p.authrole)
            cursor.field(p.options)
            cursor.field(p.args)
            p.kwargs.withUnsafeBytes { cursor.raw($0) }
            assert(cursor.offset == start + size, "encodedSize and encode agree")
        }
    }

    /// The exact size of `p`'s envelope (the publisher sizes batches with it before encoding).
    public static func encodedSize(_ p: ClusterPublication) -> Int {
        5 + 6 * 8 + 5 * 2 + p.originNode.utf8.count + p.realm.utf8.count + p.topic.utf8.count + p.authid.utf8.count
            + p.authrole.utf8.count + 4 + p.options.count + 4 + p.args.count + p.kwargs.count
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(EnvelopeError) -> ClusterPublication {
        var reader = LittleEndianReader(bytes)
        guard bytes.count >= 5, bytes[0] == magic[0], bytes[1] == magic[1] else { throw .notAnEnvelope }
        guard bytes[2] == version || bytes[2] == versionWithoutSubjectSequence else { throw .unsupportedVersion(bytes[2]) }
        reader.skip(5)
        let format = bytes[3]
        let flags = bytes[4]
        let hasSubjectSequence = bytes[2] == version
        let words = hasSubjectSequence ? 6 : 4
        // The fixed-width words in one bounds check (the delivery thread decodes every publication);
        // a message too short for them takes the field-by-field reads, which name the missing one.
        guard bytes.count >= 5 + 8 * words else {
            _ = try reader.integer(8, "origin epoch")
            _ = try reader.integer(8, "origin sequence")
            _ = try reader.integer(8, "publication id")
            _ = try reader.integer(8, "publisher session")
            _ = try reader.integer(8, "subject stream")
            _ = try reader.integer(8, "subject sequence")
            throw .truncated(field: "header")   // not reached: one of the reads above throws
        }
        func word(_ index: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 5 + 8 * index, as: UInt64.self)) }
        let (epoch, sequence, publicationID, session) = (word(0), word(1), word(2), word(3))
        let (subjectStream, subjectSequence) = hasSubjectSequence ? (word(4), word(5)) : (0, 0)
        reader.skip(8 * words)
        let origin = try reader.text(lengthBytes: 2, "origin node")
        let realm = try reader.text(lengthBytes: 2, "realm")
        let topic = try reader.text(lengthBytes: 2, "topic")
        let authid = try reader.text(lengthBytes: 2, "authid")
        let authrole = try reader.text(lengthBytes: 2, "authrole")
        let options = try reader.bytes(lengthBytes: 4, "options")
        let args = try reader.bytes(lengthBytes: 4, "args")
        let kwargs = reader.rest()
        var publication = ClusterPublication(
            originNode: origin, originEpoch: epoch, originSequence: sequence, realm: realm, topic: topic,
            publicationID: publicationID, publisherSession: session, authid: authid, authrole: authrole,
            discloseMe: flags & discloseMeFlag != 0, excludeMe: flags & excludeMeFlag != 0, format: format,
            options: options, args: args, kwargs: kwargs)
        (publication.subjectStream, publication.subjectSequence) = (subjectStream, subjectSequence)
        return publication
    }
}

/// Writes an envelope into space already sized for it (ClusterEnvelope.encode): lengths were
/// checked by the caller, so every write is in bounds.
private struct EnvelopeCursor {
    let buffer: UnsafeMutableRawBufferPointer
    var offset: Int

    mutating func byte(_ value: UInt8) {
        buffer[offset] = value
        offset += 1
    }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer.baseAddress! + offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }

    /// A u16 length, then the UTF-8 bytes.
    mutating func text(_ text: String) {
        let utf8 = text.utf8
        integer(UInt16(utf8.count))
        let copied: Void? = utf8.withContiguousStorageIfAvailable { raw(UnsafeRawBufferPointer($0)) }
        if copied == nil { for unit in utf8 { byte(unit) } }
    }

    /// A u32 length, then the bytes.
    mutating func field(_ bytes: [UInt8]) {
        integer(UInt32(bytes.count))
        bytes.withUnsafeBytes { raw($0) }
    }
}
