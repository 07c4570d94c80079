// LittleEndianBytes / LittleEndianReader: the integer and length-prefixed field coding shared by
// the cluster envelope and by what travels inside it (the broker's ClusterRules). Every read is
// checked against the buffer, and the error names the field: these bytes come from the network.

public enum LittleEndianBytes {
    /// Appends the low `width` bytes of `value`, least significant first.
    public static func append(_ value: UInt64, bytes width: Int, to out: inout [UInt8]) {
        precondition((0...8).contains(width), "an integer field is 0 to 8 bytes wide")
        // One copy of the value's little-endian bytes, not one checked append per byte.
        // (A rebased buffer, not `prefix`: a slice takes the generic element-by-element path.)
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<width])) }
    }

    /// Appends `count` zero bytes (room a caller then fills through one pointer), copied from a
    /// zero page: `repeatElement(0, count:)` goes element by element through generic code in
    /// unoptimised builds — seconds per megabyte under ASan, which held the publisher thread's
    /// lock long enough to stall a node's shutdown.
    public static func appendZeros(_ count: Int, to out: inout [UInt8]) {
        var left = count
        zeroPage.withUnsafeBytes { page in
            while left > 0 {
                let chunk = min(left, page.count)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: page[..<chunk]))
                left -= chunk
            }
        }
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)
}

public struct LittleEndianReader {
    private let buffer: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    public var remaining: Int { buffer.count - offset }

    public mutating func skip(_ count: Int) { offset = min(buffer.count, offset + count) }

    public mutating func integer(_ width: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> UInt64 {
        guard remaining >= width else { throw .truncated(field: field) }
        defer { offset += width }
        if width == 8 { return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(buffer[offset + i]) << (8 * UInt64(i)) }
        return value
    }

    /// A `lengthBytes`-wide length, then that many bytes.
    public mutating func bytes(lengthBytes: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> [UInt8] {
        Array(try prefixed(lengthBytes: lengthBytes, field))
    }

    /// Like `bytes`, as valid UTF-8 text. Read straight from the buffer (no intermediate array);
    /// ASCII — what node names, realms and most topics are — skips the generic validator, which
    /// cost a metadata lookup per field on the delivery thread.
    public mutating func text(lengthBytes: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> String {
        let raw = try prefixed(lengthBytes: lengthBytes, field)
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        if Self.isASCII(raw) { return String(decoding: bytes, as: UTF8.self) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return text
    }

    /// A `lengthBytes`-wide length, then a view of that many bytes (valid while `buffer` is).
    private mutating func prefixed(lengthBytes: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> UnsafeRawBufferPointer {
        guard remaining >= lengthBytes else { throw .truncated(field: field + " length") }
        let length = Int(try integer(lengthBytes, field))
        guard remaining >= length else { throw .truncated(field: field) }
        defer { offset += length }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length])
    }

    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var high: UInt8 = 0
        for byte in bytes { high |= byte }
        return high < 0x80
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { offset = buffer.count }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
    }
}
