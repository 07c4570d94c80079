// WampMessageView: the top-level array of one scanned WAMP message, JSON or MessagePack. It borrows
// the receive buffer (valid only while that buffer is, i.e. during dispatch) and keeps the element
// spans inline, so reading a message's envelope never allocates. Every accessor reads both formats
// (the spans say which), so the session layer is format-blind. Accessors return nil on a type
// mismatch so the session layer can answer with a protocol violation naming the element.

import WireCodec

public struct WampMessageView {
    /// Inline storage for the spans of up to 8 elements (`JSONScanner.maxMessageElements` is 7),
    /// packed so the whole view stays under 128 bytes: a view is passed and copied per message
    /// several times, and at 232 bytes (eight full JSONSpans) each copy was a memcpy call.
    @usableFromInline
    struct Elements {
        /// Element i's start offset in the low 32 bits of word i, its end in the high 32 (messages
        /// are at most LimitsConfig.maxMessageBytesCeiling, 16 MiB; `append` checks).
        @usableFromInline var bounds: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        /// Element i's JSONKind raw value in byte i.
        @usableFromInline var kinds: UInt64 = 0
        @usableFromInline var storedCount: UInt8 = 0
        /// Bit i set: element i is a JSON string with an escape (so its bytes are not its text).
        /// The JSON validator knows this from its scan; `rawString` need not look again.
        @usableFromInline var escapedStrings: UInt8 = 0
        /// The format of the spans (one per message).
        @usableFromInline var format = WireFormat.json

        @inlinable init() {}

        @inlinable var count: Int { Int(storedCount) }

        @inlinable mutating func append(_ span: JSONSpan) {
            precondition(storedCount < 8 && span.start >= 0 && span.end <= Int(UInt32.max))
            let word = UInt64(truncatingIfNeeded: span.start) | UInt64(truncatingIfNeeded: span.end) << 32
            let slot = Int(storedCount)
            withUnsafeMutableBytes(of: &bounds) { $0.storeBytes(of: word, toByteOffset: slot * 8, as: UInt64.self) }
            kinds |= UInt64(span.kind.rawValue) << (8 * UInt64(slot))
            format = span.format
            storedCount += 1
        }

        /// The JSON validator's records of element `slot` (it has checked the slot, < 8, and the
        /// message length, ≤ UInt32.max): its start when it begins, the rest when it ends. Plain
        /// stores into the fields (little-endian: the start is the low half of the bounds word).
        @inline(__always) mutating func storeStart(_ slot: Int, _ start: Int) {
            assert(slot < 8 && start >= 0 && start <= Int(UInt32.max))
            withUnsafeMutableBytes(of: &bounds) {
                $0.storeBytes(of: UInt32(truncatingIfNeeded: start), toByteOffset: slot &* 8, as: UInt32.self)
            }
        }

        @inline(__always) mutating func storeEnd(_ slot: Int, _ end: Int, kind: JSONKind, escaped: Bool) {
            assert(slot < 8 && end >= 0 && end <= Int(UInt32.max))
            withUnsafeMutableBytes(of: &bounds) {
                $0.storeBytes(of: UInt32(truncatingIfNeeded: end), toByteOffset: slot &* 8 &+ 4, as: UInt32.self)
            }
            withUnsafeMutableBytes(of: &kinds) { $0.storeBytes(of: kind.rawValue, toByteOffset: slot, as: UInt8.self) }
            if escaped { escapedStrings |= 1 &<< UInt8(truncatingIfNeeded: slot) }
        }

        /// The kind of element `index` (< count). A bit cast, not `JSONKind(rawValue:)` (a switch):
        /// the byte was stored from a JSONKind's raw value, and JSONKind's raw values are its tags.
        @inlinable @inline(__always) func kind(_ index: Int) -> JSONKind {
            let byte = UInt8(truncatingIfNeeded: kinds >> (8 * UInt64(truncatingIfNeeded: index)))
            assert(JSONKind(rawValue: byte) == unsafeBitCast(byte, to: JSONKind.self), "JSONKind raw values must equal its tags")
            return unsafeBitCast(byte, to: JSONKind.self)
        }

        /// A switch, not `withUnsafeBytes(of: bounds)`: that copies all eight words to get an address.
        @inlinable @inline(__always) func span(_ index: Int) -> JSONSpan {
            let word: UInt64
            switch index {
            case 0: word = bounds.0
            case 1: word = bounds.1
            case 2: word = bounds.2
            case 3: word = bounds.3
            case 4: word = bounds.4
            case 5: word = bounds.5
            case 6: word = bounds.6
            default: word = bounds.7
            }
            return JSONSpan(start: Int(truncatingIfNeeded: word & 0xFFFF_FFFF), end: Int(truncatingIfNeeded: word >> 32),
                            kind: kind(index), format: format)
        }
    }

    public let buffer: UnsafeRawBufferPointer
    /// The serializer the message arrived in; `bytes(_:)` are in this format.
    public let format: WireFormat
    @usableFromInline var elements: Elements

    init(buffer: UnsafeRawBufferPointer, elements: Elements, format: WireFormat = .json) {
        self.buffer = buffer
        self.elements = elements
        self.format = format
    }

    /// Number of top-level elements.
    @inlinable public var count: Int { elements.count }

    /// The span of element `index`; precondition `index < count`.
    @inlinable @inline(__always) public func span(_ index: Int) -> JSONSpan {
        precondition(index >= 0 && index < elements.count, "WAMP message element index out of range")
        return elements.span(index)
    }

    /// The kind of element `index`, nil when the message is shorter.
    @inlinable public func kind(_ index: Int) -> JSONKind? {
        index >= 0 && index < elements.count ? elements.kind(index) : nil
    }

    /// An exact non-negative integer up to UInt64.max: in JSON a literal without fraction, exponent or
    /// '-'; in MessagePack any int type (of any width) holding a value ≥ 0 (never a float).
    @inlinable @inline(__always)
    public func unsignedInteger(_ index: Int) -> UInt64? {
        guard let kind = kind(index), kind == .number else { return nil }
        let span = elements.span(index)
        // A JSON integer of up to 8 digits (message codes, most request ids) right here, from one
        // 8-byte load (which must fit in the buffer); anything else in JSONScanner.unsignedInteger.
        if elements.format == .json && span.count <= 8 && span.start &+ 8 <= buffer.count {
            let head = buffer.baseAddress.unsafelyUnwrapped.loadUnaligned(fromByteOffset: span.start, as: UInt64.self)
            return SWAR.decimalValue(head, count: span.count)
        }
        return JSONScanner.unsignedInteger(buffer, span)
    }

    /// The decoded string at `index` (allocates; not for per-event use).
    public func string(_ index: Int) -> String? {
        guard let kind = kind(index), kind == .string else { return nil }
        return JSONScanner.decodeString(buffer, elements.span(index))
    }

    /// Compares the string at `index` with `bytes` (UTF-8) without allocating.
    public func stringEquals(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let kind = kind(index), kind == .string else { return false }
        return JSONScanner.stringEquals(buffer, elements.span(index), bytes)
    }

    /// The string at `index` as UTF-8 bytes in place, when no decoding is needed (MessagePack always,
    /// JSON when the string has no escapes); nil otherwise (then use `string(_:)`). No allocation.
    @inlinable
    public func rawString(_ index: Int) -> UnsafeRawBufferPointer? {
        guard let kind = kind(index), kind == .string else { return nil }
        let span = elements.span(index)
        guard elements.format == .json else { return JSONScanner.rawStringContent(buffer, span) }
        // The validator recorded whether the string has an escape: no second look at its bytes.
        guard elements.escapedStrings & (1 << UInt8(truncatingIfNeeded: index)) == 0 else { return nil }
        return UnsafeRawBufferPointer(start: buffer.baseAddress.unsafelyUnwrapped + span.start + 1, count: span.count - 2)
    }

    @inlinable @inline(__always)
    public func object(_ index: Int) -> JSONObjectView? {
        guard let kind = kind(index), kind == .object else { return nil }
        return JSONObjectView(buffer: buffer, span: elements.span(index))
    }

    public func array(_ index: Int) -> JSONArrayView? {
        guard let kind = kind(index), kind == .array else { return nil }
        return JSONArrayView(buffer: buffer, span: elements.span(index))
    }

    /// The raw bytes of element `index` (precondition `index < count`), in the message's `format`,
    /// e.g. PUBLISH args/kwargs to copy verbatim into an EVENT of the same format.
    @inlinable @inline(__always) public func bytes(_ index: Int) -> UnsafeRawBufferPointer {
        let s = span(index)
        return UnsafeRawBufferPointer(rebasing: buffer[s.start..<s.end])
    }
}
