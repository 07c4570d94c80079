// MessagePackHeader: reading one MessagePack type header, and (CountedItems.swift) skipping whole
// values — the part of the format both the broker's scanner and views (BrokerSerialization) and
// FilterVM's MessagePack document need. Each maps `MessagePackFamily` to its own kinds. Every read
// stays inside the given limit, so unvalidated bytes cannot make it read out of bounds.

/// What a type byte introduces.
public enum MessagePackFamily: UInt8, Sendable {
    case null, `false`, `true`, integer, float, string, binary, array, map
    /// ext 8/16/32 and fixext 1/2/4/8/16 (`dataStart` is past the ext type byte).
    case ext
    /// 0xC1, which the format never uses.
    case neverUsed
}

/// The decoded type header of one MessagePack value.
public typealias MessagePackHeader = ItemHeader<MessagePackFamily>

extension MessagePackFamily: ItemFamily {
    /// ext values are skipped as their data, 0xC1 as one byte.
    @inlinable public var stopsSkip: Bool { false }
}

public enum MessagePackReader: CountedItemReader {
    public typealias Family = MessagePackFamily

    @inlinable @inline(__always)
    public static func loadBE16(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public static func loadBE32(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    @inlinable @inline(__always)
    public static func loadBE64(_ buffer: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    /// The header at `i`, or nil when the header itself (type byte and length field) does not fit
    /// before `limit`. Declared lengths are not checked against `limit` (callers name them in errors).
    @inlinable @inline(__always)
    public static func header(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int) -> MessagePackHeader? {
        guard i >= 0, i < limit else { return nil }
        let b = buffer[i]
        switch b {
        case 0x00...0x7F, 0xE0...0xFF: return MessagePackHeader(.integer, i + 1, 0)
        case 0x80...0x8F: return MessagePackHeader(.map, i + 1, Int(b & 0x0F))
        case 0x90...0x9F: return MessagePackHeader(.array, i + 1, Int(b & 0x0F))
        case 0xA0...0xBF: return MessagePackHeader(.string, i + 1, Int(b & 0x1F))
        case 0xC0: return MessagePackHeader(.null, i + 1, 0)
        case 0xC1: return MessagePackHeader(.neverUsed, i + 1, 0)
        case 0xC2: return MessagePackHeader(.false, i + 1, 0)
        case 0xC3: return MessagePackHeader(.true, i + 1, 0)
        case 0xCA: return MessagePackHeader(.float, i + 1, 4)
        case 0xCB: return MessagePackHeader(.float, i + 1, 8)
        case 0xCC, 0xD0: return MessagePackHeader(.integer, i + 1, 1)
        case 0xCD, 0xD1: return MessagePackHeader(.integer, i + 1, 2)
        case 0xCE, 0xD2: return MessagePackHeader(.integer, i + 1, 4)
        case 0xCF, 0xD3: return MessagePackHeader(.integer, i + 1, 8)
        case 0xC4, 0xD9:  // bin8, str8
            guard limit - i >= 2 else { return nil }
            return MessagePackHeader(b == 0xC4 ? .binary : .string, i + 2, Int(buffer[i + 1]))
        case 0xC5, 0xDA, 0xDC, 0xDE:  // bin16, str16, array16, map16
            guard limit - i >= 3 else { return nil }
            let family: MessagePackFamily = b == 0xC5 ? .binary : b == 0xDA ? .string : b == 0xDC ? .array : .map
            return MessagePackHeader(family, i + 3, Int(loadBE16(buffer, i + 1)))
        case 0xC6, 0xDB, 0xDD, 0xDF:  // bin32, str32, array32, map32
            guard limit - i >= 5 else { return nil }
            let family: MessagePackFamily = b == 0xC6 ? .binary : b == 0xDB ? .string : b == 0xDD ? .array : .map
            return MessagePackHeader(family, i + 5, Int(loadBE32(buffer, i + 1)))
        case 0xC7:  // ext 8: length, type byte, data
            guard limit - i >= 2 else { return nil }
            return MessagePackHeader(.ext, i + 3, Int(buffer[i + 1]))
        case 0xC8:
            guard limit - i >= 3 else { return nil }
            return MessagePackHeader(.ext, i + 4, Int(loadBE16(buffer, i + 1)))
        case 0xC9:
            guard limit - i >= 5 else { return nil }
            return MessagePackHeader(.ext, i + 6, Int(loadBE32(buffer, i + 1)))
        default:  // fixext 1/2/4/8/16 (0xD4...0xD8): type byte, data
            return MessagePackHeader(.ext, i + 2, 1 << Int(b &- 0xD4))
        }
    }
}
