// WampMessageView: the top-level array of one scanned WAMP message, JSON or MessagePack. It borrows
// the receive buffer (valid only while that buffer is, i.e. during dispatch) and keeps the element
// spans inline, so reading a message's envelope never allocates. Every accessor reads both formats
// (the spans say which), so the session layer is format-blind. Accessors return nil on a type
// mismatch so the session layer can answer with a protocol violation naming the element.

public struct WampMessageView {
    /// Inline storage for the spans of up to `JSONScanner.maxMessageElements` elements.
    @usableFromInline
    struct Elements {
        @usableFromInline var count = 0
        // A tuple, not an Array: fixed inline storage keeps scanMessage free of heap allocation.
        @usableFromInline var spans: (JSONSpan, JSONSpan, JSONSpan, JSONSpan, JSONSpan, JSONSpan, JSONSpan, JSONSpan) =
            (empty, empty, empty, empty, empty, empty, empty, empty)
        @usableFromInline static let empty = JSONSpan(start: 0, end: 0, kind: .null)

        @inlinable mutating func append(_ span: JSONSpan) {
            precondition(count < 8)
            withUnsafeMutableBytes(of: &spans) {
                $0.storeBytes(of: span, toByteOffset: count * MemoryLayout<JSONSpan>.stride, as: JSONSpan.self)
            }
            count += 1
        }

        /// A switch, not `withUnsafeBytes(of: spans)`: that copies all eight spans (a memcpy per
        /// accessor call, several per message) to get an address.
        @inlinable func span(_ index: Int) -> JSONSpan {
            switch index {
            case 0: spans.0
            case 1: spans.1
            case 2: spans.2
            case 3: spans.3
            case 4: spans.4
            case 5: spans.5
            case 6: spans.6
            default: spans.7
            }
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
    @inlinable public func span(_ index: Int) -> JSONSpan {
        precondition(index >= 0 && index < elements.count, "WAMP message element index out of range")
        return elements.span(index)
    }

    /// The kind of element `index`, nil when the message is shorter.
    @inlinable public func kind(_ index: Int) -> JSONKind? {
        index >= 0 && index < elements.count ? elements.span(index).kind : nil
    }

    /// An exact non-negative integer up to UInt64.max: in JSON a literal without fraction, exponent or
    /// '-'; in MessagePack any int type (of any width) holding a value ≥ 0 (never a float).
    public func unsignedInteger(_ index: Int) -> UInt64? {
        guard let kind = kind(index), kind == .number else { return nil }
        return JSONScanner.unsignedInteger(buffer, elements.span(index))
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
    public func rawString(_ index: Int) -> UnsafeRawBufferPointer? {
        guard let kind = kind(index), kind == .string else { return nil }
        return JSONScanner.rawStringContent(buffer, elements.span(index))
    }

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
    @inlinable public func bytes(_ index: Int) -> UnsafeRawBufferPointer {
        let s = span(index)
        return UnsafeRawBufferPointer(rebasing: buffer[s.start..<s.end])
    }
}
