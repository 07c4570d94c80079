// JSONStringBytes: the UTF-8 bytes of one JSON string in a JSONFilterDocument, decoded lazily as
// the VM reads them (escapes and surrogate pairs on the fly), so comparing or searching a string
// never allocates or decodes more than it reads.

import WireCodec

/// The decoded UTF-8 bytes of a JSON string, produced lazily from the raw bytes (escapes and
/// surrogate pairs decoded on the fly; a lone surrogate yields U+FFFD). Stops at the closing quote.
public struct JSONStringBytes: IteratorProtocol {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var index: Int
    /// Pending bytes of a decoded escape, least significant byte first.
    @usableFromInline var pending: UInt32 = 0
    @usableFromInline var pendingCount: UInt8 = 0

    @usableFromInline init(bytes: UnsafeRawBufferPointer, index: Int) {
        self.bytes = bytes
        self.index = index
    }

    @inline(__always)
    public mutating func next() -> UInt8? {
        if pendingCount > 0 {
            let b = UInt8(truncatingIfNeeded: pending)
            pending >>= 8
            pendingCount -= 1
            return b
        }
        guard index < bytes.count else { return nil }
        let b = bytes[index]
        if b == 0x22 { return nil }
        if b != 0x5C {
            index += 1
            return b
        }
        return decodeEscape()
    }

    @usableFromInline mutating func hex4(at i: Int) -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let d = JSONEscape.hexDigit(bytes[i + k]) else { return nil }
            value = value << 4 | UInt32(d)
        }
        return value
    }

    @usableFromInline mutating func decodeEscape() -> UInt8? {
        guard index + 1 < bytes.count else {
            index = bytes.count
            return nil
        }
        let e = bytes[index + 1]
        index += 2
        switch e {
        case 0x6E: return 0x0A  // n
        case 0x74: return 0x09  // t
        case 0x72: return 0x0D  // r
        case 0x62: return 0x08  // b
        case 0x66: return 0x0C  // f
        case 0x75:  // u
            guard var scalar = hex4(at: index) else { return 0x3F }
            index += 4
            if scalar >= 0xD800 && scalar < 0xDC00 {
                if index + 6 <= bytes.count && bytes[index] == 0x5C && bytes[index + 1] == 0x75,
                    let low = hex4(at: index + 2), low >= 0xDC00 && low < 0xE000
                {
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    scalar = 0xFFFD
                }
            } else if scalar >= 0xDC00 && scalar < 0xE000 {
                scalar = 0xFFFD
            }
            return emit(scalar)
        default: return e  // \" \\ \/ and, for robustness, anything else verbatim
        }
    }

    @usableFromInline mutating func emit(_ scalar: UInt32) -> UInt8 {
        if scalar < 0x80 { return UInt8(scalar) }
        if scalar < 0x800 {
            pending = 0x80 | scalar & 0x3F
            pendingCount = 1
            return UInt8(0xC0 | scalar >> 6)
        }
        if scalar < 0x10000 {
            pending = (0x80 | scalar >> 6 & 0x3F) | (0x80 | scalar & 0x3F) << 8
            pendingCount = 2
            return UInt8(0xE0 | scalar >> 12)
        }
        pending = (0x80 | scalar >> 12 & 0x3F) | (0x80 | scalar >> 6 & 0x3F) << 8 | (0x80 | scalar & 0x3F) << 16
        pendingCount = 3
        return UInt8(0xF0 | scalar >> 18)
    }
}
