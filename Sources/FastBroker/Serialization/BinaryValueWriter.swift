// BinaryValueWriter: what MessagePackWriter and CBORWriter have in common. Each writes its own
// headers and integers by pointer (appended to byte arrays through the same code); the code that needs only those (strings from UTF-8 with invalid sequences
// as U+FFFD, binary, raw bytes, whole JSONValue trees, JSONNumber) is written once here, and the
// payload transcoder writes either format through the same requirements.

import WireCodec

public protocol BinaryValueWriter {
    // The heads and integers, written at `offset` of `base`, which has room for
    // `maxHeadBytes` there; each returns the offset after what it wrote. The `append…`
    // versions below (for byte arrays) go through these, so each rule exists once, and the
    // per-event EVENT is written with them straight into its buffer (WampEncoder).
    /// The header of an array of `count` elements (which must follow).
    static func writeArrayHeader(count: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int
    /// The header of a map of `count` pairs (string keys and values must follow).
    static func writeMapHeader(count: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int
    /// The header of a text string of `byteCount` bytes of UTF-8.
    static func writeStringHeader(byteCount: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int
    /// The header of a byte string of `byteCount` bytes.
    static func writeBinaryHeader(byteCount: Int, to base: UnsafeMutableRawPointer, at offset: Int) -> Int
    /// The smallest integer encoding of `v`.
    static func writeUInt(_ v: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int
    static func writeInt(_ v: Int64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int
    /// The format's one-byte false, true and nil, and the marker of a big-endian 64-bit float.
    static var markers: BinaryMarkers { get }
}

/// The one-byte values and the float 64 marker of a binary format.
public struct BinaryMarkers: Sendable {
    public let `false`: UInt8, `true`: UInt8, `nil`: UInt8, float64: UInt8

    @inlinable
    public init(false f: UInt8, true t: UInt8, nil n: UInt8, float64: UInt8) {
        self.false = f
        self.true = t
        self.nil = n
        self.float64 = float64
    }
}

/// Big-endian integers and the sized heads both formats use: a value below `fixLimit` fits in the
/// head byte itself (`fixBase | v`), a larger one follows a marker in 8, 16, 32 or 64 bits,
/// whichever is the narrowest the format has (a marker of 0: the format has no such form).
/// Written by pointer (unaligned stores); `append` runs a writer into a byte array.
@usableFromInline
enum BinaryHead {
    @inlinable @inline(__always)
    static func writeByte(_ v: UInt8, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
        return offset + 1
    }

    @inlinable @inline(__always)
    static func writeBE16(_ v: UInt16, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt16.self)
        return offset + 2
    }

    @inlinable @inline(__always)
    static func writeBE32(_ v: UInt32, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self)
        return offset + 4
    }

    @inlinable @inline(__always)
    static func writeBE64(_ v: UInt64, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt64.self)
        return offset + 8
    }

    @inlinable @inline(__always)
    static func write(_ v: UInt64, fixBase: UInt8, fixLimit: UInt64, _ marker8: UInt8, _ marker16: UInt8,
                      _ marker32: UInt8, _ marker64: UInt8, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        if v < fixLimit {
            return writeByte(fixBase | UInt8(truncatingIfNeeded: v), to: base, at: offset)
        } else if marker8 != 0 && v <= UInt64(UInt8.max) {
            return writeByte(UInt8(truncatingIfNeeded: v), to: base, at: writeByte(marker8, to: base, at: offset))
        } else if v <= UInt64(UInt16.max) {
            return writeBE16(UInt16(truncatingIfNeeded: v), to: base, at: writeByte(marker16, to: base, at: offset))
        } else if v <= UInt64(UInt32.max) {
            return writeBE32(UInt32(truncatingIfNeeded: v), to: base, at: writeByte(marker32, to: base, at: offset))
        } else {
            return writeBE64(v, to: base, at: writeByte(marker64, to: base, at: offset))
        }
    }

    /// Appends to `out` what `write` writes (at most 16 bytes) at the pointer it is given. The
    /// one-byte heads (small integers, short strings, arrays and maps: most of a payload) take
    /// Array's single-element append, cheaper than a sequence append.
    @inlinable @inline(__always)
    static func append(to out: inout [UInt8], _ write: (UnsafeMutableRawPointer) -> Int) {
        var scratch: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &scratch) { room in
            let count = write(room.baseAddress!)
            if count == 1 {
                out.append(room[0])
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(start: room.baseAddress!, count: count))
            }
        }
    }
}

extension BinaryValueWriter {
    /// The most bytes one head or integer takes: a marker and a 64-bit argument.
    @inlinable public static var maxHeadBytes: Int { 9 }

    // The byte-array forms of the heads and integers: each runs its pointer writer.

    @inlinable
    public static func appendArrayHeader(count: Int, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeArrayHeader(count: count, to: $0, at: 0) }
    }

    @inlinable
    public static func appendMapHeader(count: Int, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeMapHeader(count: count, to: $0, at: 0) }
    }

    @inlinable
    public static func appendStringHeader(byteCount: Int, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeStringHeader(byteCount: byteCount, to: $0, at: 0) }
    }

    @inlinable
    public static func appendBinaryHeader(byteCount: Int, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeBinaryHeader(byteCount: byteCount, to: $0, at: 0) }
    }

    @inlinable
    public static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeUInt(v, to: $0, at: 0) }
    }

    @inlinable
    public static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { writeInt(v, to: $0, at: 0) }
    }

    @inlinable
    public static func appendBool(_ v: Bool, to out: inout [UInt8]) {
        out.append(v ? markers.true : markers.false)
    }

    @inlinable
    public static func appendNil(to out: inout [UInt8]) {
        out.append(markers.nil)
    }

    /// A 64-bit float, always (NaN and infinities included).
    @inlinable
    public static func appendDouble(_ v: Double, to out: inout [UInt8]) {
        BinaryHead.append(to: &out) { BinaryHead.writeBE64(v.bitPattern, to: $0, at: BinaryHead.writeByte(markers.float64, to: $0, at: 0)) }
    }

    @inlinable
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s  // withUTF8 is mutating; a native String is already contiguous, so this does not copy.
        s.withUTF8 { utf8 in
            appendStringHeader(byteCount: utf8.count, to: &out)
            out.append(contentsOf: utf8)
        }
    }

    @inlinable
    public static func appendString(_ s: StaticString, to out: inout [UInt8]) {
        s.withUTF8Buffer { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// A string from UTF-8 bytes; each byte of an invalid sequence is written as U+FFFD.
    @inlinable
    public static func appendString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // Valid (the common case: checked 8 ASCII bytes at a time), the bytes go as they are.
        guard UTF8Sequence.firstInvalid(utf8, 0, utf8.count) != nil else {
            appendStringHeader(byteCount: utf8.count, to: &out)
            out.append(contentsOf: utf8)
            return
        }
        appendStringReplacingInvalid(utf8, to: &out)
    }

    /// appendString's slow path, for `utf8` holding an invalid sequence.
    @usableFromInline
    static func appendStringReplacingInvalid(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // First pass: the output length.
        var length = 0
        var i = 0
        while i < utf8.count {
            let n = utf8[i] < 0x80 ? 1 : UTF8Sequence.length(utf8, i)
            length += n > 0 ? n : 3
            i += max(n, 1)
        }
        appendStringHeader(byteCount: length, to: &out)
        i = 0
        while i < utf8.count {
            let n = utf8[i] < 0x80 ? 1 : UTF8Sequence.length(utf8, i)
            if n > 0 {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[i..<(i + n)]))
                i += n
            } else {
                out.append(0xEF)
                out.append(0xBF)
                out.append(0xBD)
                i += 1
            }
        }
    }

    @inlinable
    public static func appendBinary(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendBinaryHeader(byteCount: bytes.count, to: &out)
        out.append(contentsOf: bytes)
    }

    /// Bytes copied verbatim (already valid in this format, e.g. PUBLISH args/kwargs into an EVENT).
    @inlinable
    public static func appendRaw(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: bytes)
    }

    /// A whole tree. Numbers: an integer literal within Int64 or UInt64 becomes an integer, anything
    /// else its double; `.binary` becomes a byte string.
    public static func appendValue(_ v: JSONValue, to out: inout [UInt8]) {
        switch v {
        case .null: appendNil(to: &out)
        case .bool(let b): appendBool(b, to: &out)
        case .number(let n): appendNumber(n, to: &out)
        case .string(let s): appendString(s, to: &out)
        case .binary(let bytes): bytes.withUnsafeBytes { appendBinary($0, to: &out) }
        case .array(let elements):
            appendArrayHeader(count: elements.count, to: &out)
            for e in elements { appendValue(e, to: &out) }
        case .object(let members):
            appendMapHeader(count: members.count, to: &out)
            for m in members {
                appendString(m.key, to: &out)
                appendValue(m.value, to: &out)
            }
        }
    }

    public static func appendNumber(_ n: JSONNumber, to out: inout [UInt8]) {
        if let i = n.integer {
            appendInt(i, to: &out)
            return
        }
        var text = n.text
        let unsigned = text.withUTF8 { utf8 in
            JSONScanner.unsignedInteger(UnsafeRawBufferPointer(utf8), JSONSpan(start: 0, end: utf8.count, kind: .number))
        }
        if let unsigned {
            appendUInt(unsigned, to: &out)
        } else {
            appendDouble(n.double, to: &out)
        }
    }
}
