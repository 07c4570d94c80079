// MessagePackFilterDocument: the MessagePack reads of BinaryFilterDocument (see there), so filters
// run on wamp.2.msgpack kwargs: headers and skipping from WireCodec's MessagePackReader, numbers
// through the decimal text the JSON form of the same payload carries (BinaryNumberText).

import WireCodec

/// A kwargs map in MessagePack.
public typealias MessagePackFilterDocument = BinaryFilterDocument<MessagePackFilterCodec>

public enum MessagePackFilterCodec: BinaryFilterCodec {
    @inline(__always)
    static func bigEndian(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> UInt64? {
        guard at >= 0, count <= bytes.count - at else { return nil }
        switch count {
        case 1: return UInt64(bytes[at])
        case 2: return UInt64(MessagePackReader.loadBE16(bytes, at))
        case 4: return UInt64(MessagePackReader.loadBE32(bytes, at))
        default: return MessagePackReader.loadBE64(bytes, at)
        }
    }

    public typealias Reader = MessagePackReader
    public static var trueByte: UInt8 { 0xC3 }

    public static func kind(of h: MessagePackHeader) -> (kind: FilterKind, isBinary: Bool) {
        switch h.family {
        case .integer, .float: return (.number, false)
        case .map: return (.map, false)
        case .array: return (.list, false)
        case .string: return (.string, false)
        case .binary: return (.string, true)
        case .false, .true: return (.bool, false)
        case .null, .ext, .neverUsed: return (.null, false)  // ext is never accepted by the broker
        }
    }

    public static func number(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> FilterNumber? {
        guard i >= 0, i < bytes.count else { return nil }
        let b = bytes[i]
        switch b {
        case 0x00...0x7F: return FilterNumber(Int(b))
        case 0xE0...0xFF: return FilterNumber(Int(Int8(bitPattern: b)))
        case 0xCC...0xCF:
            guard let v = bigEndian(bytes, i + 1, 1 << Int(b - 0xCC)) else { return nil }
            return BinaryNumberText.number(unsigned: v)
        case 0xD0...0xD3:
            let width = 1 << Int(b - 0xD0)
            guard let raw = bigEndian(bytes, i + 1, width) else { return nil }
            let shift = UInt64(64 - 8 * width)
            return FilterNumber(Int(Int64(bitPattern: raw << shift) >> shift))  // sign-extend
        case 0xCA:
            guard let raw = bigEndian(bytes, i + 1, 4) else { return nil }
            return BinaryNumberText.number(double: Double(Float(bitPattern: UInt32(raw))))
        case 0xCB:
            guard let raw = bigEndian(bytes, i + 1, 8) else { return nil }
            return BinaryNumberText.number(double: Double(bitPattern: raw))
        default: return nil
        }
    }
}

/// MessagePack and CBOR numbers as DynamoDB N values, through the same decimal text the JSON form carries
/// (digits of an integer; the shortest round-trip text of a double), parsed by FilterNumber's own
/// scanner. The text is built in stack storage: no allocation.
enum BinaryNumberText {
    static func number(double v: Double) -> FilterNumber? {
        guard v.isFinite else { return nil }
        return ShortestDouble.withText(v) { FilterNumber(utf8: $0) }
    }

    static func number(unsigned v: UInt64) -> FilterNumber? {
        if v <= UInt64(Int.max) { return FilterNumber(Int(v)) }
        return DecimalText.withDigits(v) { FilterNumber(utf8: $0) }  // beyond Int: through its digits
    }
}

extension FilterProgram {
    /// The MessagePack and CBOR cases, specialised inside this module (like the JSON one) so callers
    /// in other modules get the fast path without relying on cross-module specialisation.
    public func evaluate(_ document: MessagePackFilterDocument) -> Bool {
        execute(document)
    }

    public func evaluate(_ document: CBORFilterDocument) -> Bool {
        execute(document)
    }
}
