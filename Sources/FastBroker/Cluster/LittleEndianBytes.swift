// LittleEndianBytes / LittleEndianReader: the integer and length-prefixed field coding shared by
// the cluster envelope and by what travels inside it (the broker's ClusterRules). Every read is
// checked against the buffer, and the error names the field: these bytes come from the network.

public enum LittleEndianBytes {
    /// Appends the low `width` bytes of `value`, least significant first.
    public static func append(_ value: UInt64, bytes width: Int, to out: inout [UInt8]) {
        for i in 0..<width { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}

public struct LittleEndianReader {
    private let buffer: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    public var remaining: Int { buffer.count - offset }

    public mutating func skip(_ count: Int) { offset = min(buffer.count, offset + count) }

    public mutating func integer(_ width: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> UInt64 {
        guard remaining >= width else { throw .truncated(field: field) }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(buffer[offset + i]) << (8 * UInt64(i)) }
        offset += width
        return value
    }

    /// A `lengthBytes`-wide length, then that many bytes.
    public mutating func bytes(lengthBytes: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> [UInt8] {
        let length = Int(try integer(lengthBytes, field + " length"))
        guard remaining >= length else { throw .truncated(field: field) }
        defer { offset += length }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length]))
    }

    /// Like `bytes`, as valid UTF-8 text.
    public mutating func text(lengthBytes: Int, _ field: String) throws(ClusterEnvelope.EnvelopeError) -> String {
        let raw = try bytes(lengthBytes: lengthBytes, field)
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return text
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { offset = buffer.count }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
    }
}
