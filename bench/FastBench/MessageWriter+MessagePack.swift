// MessagePack and CBOR pieces for MessageWriter: the headers and integers of a PUBLISH written straight
// into scratch memory, without allocating (BrokerSerialization's MessagePackWriter appends to an
// Array, which is fine for set-up messages but not per publication).

extension MessageWriter {
    /// One raw byte (a MessagePack marker or fix-type).
    @inline(__always)
    mutating func append(byte: UInt8) {
        ensureRoom(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// An unsigned integer in its shortest MessagePack form.
    @inline(__always)
    mutating func appendMessagePack(unsigned value: UInt64) {
        if value < 0x80 {
            append(byte: UInt8(value))
        } else if value <= 0xFF {
            append(byte: 0xCC); append(byte: UInt8(value))
        } else if value <= 0xFFFF {
            append(byte: 0xCD); appendBigEndian(UInt16(value))
        } else if value <= 0xFFFF_FFFF {
            append(byte: 0xCE); appendBigEndian(UInt32(value))
        } else {
            append(byte: 0xCF); appendBigEndian(value)
        }
    }

    /// Always uint 64 (9 bytes), so the argument's size does not depend on the value.
    @inline(__always)
    mutating func appendMessagePack(uint64 value: UInt64) {
        append(byte: 0xCF)
        appendBigEndian(value)
    }

    /// A str header for `length` bytes of UTF-8 (fixstr, str 8, 16 or 32).
    @inline(__always)
    mutating func appendMessagePackStringHeader(length: Int) {
        if length < 32 {
            append(byte: 0xA0 | UInt8(length))
        } else if length <= 0xFF {
            append(byte: 0xD9); append(byte: UInt8(length))
        } else if length <= 0xFFFF {
            append(byte: 0xDA); appendBigEndian(UInt16(length))
        } else {
            append(byte: 0xDB); appendBigEndian(UInt32(length))
        }
    }

    /// Bytes of the str header `appendMessagePackStringHeader` writes for `length`.
    static func messagePackStringHeaderBytes(length: Int) -> Int {
        length < 32 ? 1 : length <= 0xFF ? 2 : length <= 0xFFFF ? 3 : 5
    }

    /// A CBOR head: `major` with the shortest encoding of `argument`.
    @inline(__always)
    mutating func appendCBOR(major: UInt8, _ argument: UInt64) {
        let m = major << 5
        if argument < 24 {
            append(byte: m | UInt8(argument))
        } else if argument <= 0xFF {
            append(byte: m | 24); append(byte: UInt8(argument))
        } else if argument <= 0xFFFF {
            append(byte: m | 25); appendBigEndian(UInt16(argument))
        } else if argument <= 0xFFFF_FFFF {
            append(byte: m | 26); appendBigEndian(UInt32(argument))
        } else {
            append(byte: m | 27); appendBigEndian(argument)
        }
    }

    /// Always an 8-byte CBOR unsigned (9 bytes), like `appendMessagePack(uint64:)`.
    @inline(__always)
    mutating func appendCBOR(uint64 value: UInt64) {
        append(byte: 0x1B)
        appendBigEndian(value)
    }

    /// Bytes of the head `appendCBOR(major:_:)` writes for `argument`.
    static func cborHeadBytes(_ argument: UInt64) -> Int {
        argument < 24 ? 1 : argument <= 0xFF ? 2 : argument <= 0xFFFF ? 3 : argument <= 0xFFFF_FFFF ? 5 : 9
    }

    @inline(__always)
    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        ensureRoom(MemoryLayout<T>.size)
        (base + count).storeBytes(of: value.bigEndian, as: T.self)
        count += MemoryLayout<T>.size
    }
}
