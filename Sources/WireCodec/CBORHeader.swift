// CBORHeader: reading one CBOR (RFC 8949) initial byte and argument, and skipping whole values —
// the part of the format both the broker's scanner and views (BrokerSerialization) and FilterVM's
// CBOR document need, the twin of MessagePackHeader (skipping: CountedItems.swift). Tags, indefinite
// lengths and break codes are reported as their own families (the broker's scanner refuses them
// before anything else reads the bytes); skip stops at them. Every read stays inside the given
// limit, so unvalidated bytes cannot make it read out of bounds.

/// What an initial byte introduces.
public enum CBORFamily: UInt8, Sendable {
    /// Major type 0 (`argument` is the value) and 1 (the value is -1 - `argument`).
    case unsigned, negative
    /// Major types 2 and 3 (`length` payload bytes from `dataStart`).
    case bytes, text
    /// Major types 4 and 5 (`length` elements / pairs from `dataStart`).
    case array, map
    /// Major type 6 (`argument` is the tag number; the tagged item starts at `dataStart`).
    case tag
    case `false`, `true`, null, undefined
    /// Half, single and double floats (`length` = 2, 4, 8 payload bytes).
    case float
    /// Any other simple value (major type 7, additional information 0…19 or 24).
    case simple
    /// An indefinite-length string, array or map (additional information 31 on major types 2–5);
    /// `argument` holds the major type.
    case indefinite
    /// The break code 0xFF, or additional information 28…30 (reserved) / 31 on major types 0, 1, 6.
    case breakCode, reserved
}

/// The decoded initial byte and argument of one CBOR item.
public typealias CBORHeader = ItemHeader<CBORFamily>

extension CBORFamily: ItemFamily {
    @inlinable public var stopsSkip: Bool {
        self == .tag || self == .indefinite || self == .breakCode || self == .reserved
    }
}

public enum CBORReader: CountedItemReader {
    public typealias Family = CBORFamily

    /// The header at `i`, or nil when the header itself (initial byte and argument) does not fit
    /// before `limit`. Declared lengths are not checked against `limit` (callers name them in errors).
    @inlinable @inline(__always)
    public static func header(_ buffer: UnsafeRawBufferPointer, _ i: Int, _ limit: Int) -> CBORHeader? {
        guard i >= 0, i < limit else { return nil }
        let b = buffer[i]
        let major = b >> 5
        let info = b & 0x1F
        var argument: UInt64
        var dataStart = i + 1
        switch info {
        case 0...23: argument = UInt64(info)
        case 24:
            guard limit - i >= 2 else { return nil }
            argument = UInt64(buffer[i + 1])
            dataStart = i + 2
        case 25:
            guard limit - i >= 3 else { return nil }
            argument = UInt64(MessagePackReader.loadBE16(buffer, i + 1))
            dataStart = i + 3
        case 26:
            guard limit - i >= 5 else { return nil }
            argument = UInt64(MessagePackReader.loadBE32(buffer, i + 1))
            dataStart = i + 5
        case 27:
            guard limit - i >= 9 else { return nil }
            argument = MessagePackReader.loadBE64(buffer, i + 1)
            dataStart = i + 9
        case 31:
            switch major {
            case 2, 3, 4, 5: return CBORHeader(.indefinite, i + 1, 0, UInt64(major))
            case 7: return CBORHeader(.breakCode, i + 1, 0, 0)
            default: return CBORHeader(.reserved, i + 1, 0, UInt64(info))
            }
        default:
            return CBORHeader(.reserved, i + 1, 0, UInt64(info))
        }
        let length = argument > UInt64(Int.max) ? Int.max : Int(argument)
        switch major {
        case 0: return CBORHeader(.unsigned, dataStart, 0, argument)
        case 1: return CBORHeader(.negative, dataStart, 0, argument)
        case 2: return CBORHeader(.bytes, dataStart, length, argument)
        case 3: return CBORHeader(.text, dataStart, length, argument)
        case 4: return CBORHeader(.array, dataStart, length, argument)
        case 5: return CBORHeader(.map, dataStart, length, argument)
        case 6: return CBORHeader(.tag, dataStart, 0, argument)
        default:
            switch info {
            case 20: return CBORHeader(.false, i + 1, 0, 20)
            case 21: return CBORHeader(.true, i + 1, 0, 21)
            case 22: return CBORHeader(.null, i + 1, 0, 22)
            case 23: return CBORHeader(.undefined, i + 1, 0, 23)
            case 25: return CBORHeader(.float, i + 1, 2, 0)
            case 26: return CBORHeader(.float, i + 1, 4, 0)
            case 27: return CBORHeader(.float, i + 1, 8, 0)
            default: return CBORHeader(.simple, dataStart, 0, argument)
            }
        }
    }

    /// The value of an IEEE 754 half-precision float (RFC 8949 Appendix D), exactly (NaN payloads too).
    @inlinable
    public static func halfToDouble(_ half: UInt16) -> Double {
        let exponent = Int((half >> 10) & 0x1F)
        let mantissa = Double(half & 0x3FF)
        let magnitude: Double
        if exponent == 0 {
            magnitude = mantissa * 0x1p-24
        } else if exponent == 31 {
            // Infinity, or NaN with its payload kept (as a hardware half → double conversion does).
            return Double(bitPattern: UInt64(half & 0x8000) << 48 | 0x7FF0_0000_0000_0000 | UInt64(half & 0x3FF) << 42)
        } else {
            magnitude = (mantissa + 1024) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
        return half & 0x8000 != 0 ? -magnitude : magnitude
    }

    /// The value of a float item whose payload (2, 4 or 8 bytes) starts at `at`.
    @inlinable
    public static func float(_ buffer: UnsafeRawBufferPointer, _ at: Int, width: Int) -> Double {
        switch width {
        case 2: return halfToDouble(MessagePackReader.loadBE16(buffer, at))
        case 4: return Double(Float(bitPattern: MessagePackReader.loadBE32(buffer, at)))
        default: return Double(bitPattern: MessagePackReader.loadBE64(buffer, at))
        }
    }
}
