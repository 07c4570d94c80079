// ClusterBatch: several publication envelopes on one subject in one NATS message. Every process
// of a cluster pays per NATS message (both nats-servers, both libnats ends), so the publisher
// thread packs consecutive publications of one drained batch that share a subject (ClusterNode
// `send`); it never waits for more — only what the drain already holds is packed. Layout,
// integers little-endian:
//
//   "FB" 0x81 count:u32                 (0x81 where an envelope has its version: 1 or 2)
//   count × (length:u32, envelope)      (each a ClusterEnvelope, never a batch)
//
// A batch of one is sent as the bare envelope, so single publications, group forwards and
// retained entries are the envelope alone, as before. Receivers accept both (`forEachEnvelope`).
// Untrusted input: the framing (count ≥ 1, every length inside the message, nothing after the
// last envelope) is checked whole before any envelope is handed over, so a framing lie drops the
// message and delivers nothing. Inside sound framing each envelope stands alone, as if it had
// come in its own message: one that does not decode is counted and skipped, the others delivered.

public enum ClusterBatch {
    static let marker: UInt8 = 0x81
    /// "FB", the marker, the count.
    static let headerBytes = 7
    /// A message grows past this only when its first envelope alone is larger (it goes alone).
    public static let maxBytes = 64 << 10

    public enum BatchError: Error, Equatable {
        case empty
        case truncated(entry: Int)
        case trailingBytes(Int)
    }

    /// Calls `body` with each envelope of `bytes`: the message itself when it is not a batch, else
    /// each envelope in order once the whole framing has been checked (nothing handed over when not).
    @inline(__always)
    public static func forEachEnvelope(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws(BatchError) {
        guard bytes.count >= 3, bytes[0] == ClusterEnvelope.magic[0], bytes[1] == ClusterEnvelope.magic[1], bytes[2] == marker else {
            return body(bytes)
        }
        let count = try checkFraming(bytes)
        var offset = headerBytes
        for _ in 0..<count {
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
            body(UnsafeRawBufferPointer(rebasing: bytes[offset + 4..<offset + 4 + length]))
            offset += 4 + length
        }
    }

    /// The envelope count, once every length is known to lie inside `bytes` and to end at its end.
    private static func checkFraming(_ bytes: UnsafeRawBufferPointer) throws(BatchError) -> Int {
        guard bytes.count >= headerBytes else { throw .truncated(entry: 0) }
        let count = Int(bytes.loadUnaligned(fromByteOffset: 3, as: UInt32.self).littleEndian)
        guard count > 0 else { throw .empty }
        var offset = headerBytes
        // Each entry consumes at least its 4 length bytes, so a lying count ends the loop early.
        for entry in 0..<count {
            guard bytes.count - offset >= 4 else { throw .truncated(entry: entry) }
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
            guard bytes.count - offset - 4 >= length else { throw .truncated(entry: entry) }
            offset += 4 + length
        }
        guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
        return count
    }

    /// Publisher side: the NATS message being filled — one subject, one buffer reused from one
    /// message to the next (its capacity capped after a large one, so memory stays bounded).
    public struct Writer {
        public private(set) var subject: String?
        public private(set) var count = 0
        private var bytes: [UInt8] = []

        public init() {}

        /// Whether an envelope of `size` bytes on `subject` may join the message being filled
        /// (an empty writer takes anything: one envelope over the cap goes alone).
        public func accepts(subject: String, size: Int) -> Bool {
            count == 0 || (subject == self.subject && bytes.count + 4 + size <= ClusterBatch.maxBytes)
        }

        /// Appends `publication`'s envelope; on a throw the writer is as it was.
        public mutating func append(_ publication: ClusterPublication, subject: String) throws(ClusterEnvelope.EnvelopeError) {
            if count == 0 {
                self.subject = subject
                bytes.removeAll(keepingCapacity: true)
                bytes += ClusterEnvelope.magic
                bytes.append(ClusterBatch.marker)
                LittleEndianBytes.append(0, bytes: 4, to: &bytes)   // the count, set by `take`
            }
            let lengthAt = bytes.count
            LittleEndianBytes.append(0, bytes: 4, to: &bytes)   // the length, set below
            do {
                try ClusterEnvelope.encode(publication, into: &bytes)
            } catch {
                bytes.removeSubrange(lengthAt...)
                throw error
            }
            let length = UInt32(truncatingIfNeeded: bytes.count - lengthAt - 4)
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: length.littleEndian, toByteOffset: lengthAt, as: UInt32.self) }
            count += 1
        }

        /// Calls `body` with the message to publish (the bare envelope when it holds one), then
        /// empties the writer. Not called on an empty writer.
        public mutating func take<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
            precondition(count > 0, "an empty batch is never sent")
            defer {
                count = 0
                subject = nil
                // Capacity kept for the next message, but not a 64 MB payload's worth.
                if bytes.capacity > 1 << 20 { bytes = [] }
            }
            let total = UInt32(truncatingIfNeeded: count)
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: total.littleEndian, toByteOffset: 3, as: UInt32.self) }
            let start = count == 1 ? ClusterBatch.headerBytes + 4 : 0
            return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        }
    }
}
