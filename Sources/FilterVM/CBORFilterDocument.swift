// CBORFilterDocument: the CBOR reads of BinaryFilterDocument (see there), so filters run on
// wamp.2.cbor kwargs: headers and skipping from WireCodec's CBORReader, numbers through the decimal
// text the JSON form of the same payload carries (BinaryNumberText): integers exactly, half/single/
// double floats by their shortest round-trip text, a negative integer below Int64.min as the
// nearest double (as the transcoder writes it).

import WireCodec

/// A kwargs map in CBOR.
public typealias CBORFilterDocument = BinaryFilterDocument<CBORFilterCodec>

public enum CBORFilterCodec: BinaryFilterCodec {
    public typealias Reader = CBORReader
    public static var trueByte: UInt8 { 0xF5 }

    public static func kind(of h: CBORHeader) -> (kind: FilterKind, isBinary: Bool) {
        switch h.family {
        case .unsigned, .negative, .float: return (.number, false)
        case .map: return (.map, false)
        case .array: return (.list, false)
        case .text: return (.string, false)
        case .bytes: return (.string, true)
        case .false, .true: return (.bool, false)
        // Never accepted by the broker's scanner.
        case .null, .tag, .undefined, .simple, .indefinite, .breakCode, .reserved: return (.null, false)
        }
    }

    public static func number(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> FilterNumber? {
        guard let h = CBORReader.header(bytes, i, bytes.count) else { return nil }
        switch h.family {
        case .unsigned: return BinaryNumberText.number(unsigned: h.argument)
        case .negative:
            if h.argument <= UInt64(Int.max) { return FilterNumber(-1 - Int(h.argument)) }
            return BinaryNumberText.number(double: -1 - Double(h.argument))
        case .float:
            guard h.length <= bytes.count - h.dataStart else { return nil }
            return BinaryNumberText.number(double: CBORReader.float(bytes, h.dataStart, width: h.length))
        default: return nil
        }
    }
}
