// MessageValidator: what JSONScanner, MessagePackScanner and CBORScanner share — one single-pass
// validator per format (JSONValidator, MessagePackValidator, CBORValidator hold each format's rules)
// and the entry points over it: a whole WAMP message, any one value, a decoded tree. The entries
// only wrap the validator's outcome, so every format reports and records spans the same way.
// WireFormat picks the validator; the scanner namespaces (WireScanner) name a fixed format.

/// A single-pass validator of one wire format over a whole buffer.
protocol MessageValidator {
    /// The format of the spans and views it produces.
    static var format: WireFormat { get }
    init(_ buffer: UnsafeRawBufferPointer)
    /// Validates the buffer; with `message`, requires a top-level array of at most
    /// `JSONScanner.maxMessageElements` and records their spans in `elements`. Returns the top span.
    mutating func run(message: Bool, elements: inout WampMessageView.Elements) throws(JSONScanError) -> JSONSpan
}

extension MessageValidator {
    /// The error for what is wrong at byte `at`, marked with this format.
    @inline(__always)
    func fail(_ at: Int, _ message: String) -> JSONScanError {
        JSONScanError(offset: at, message: message, format: Self.format)
    }

    /// A whole WAMP message (the hot path: no allocation on success).
    @inline(__always)
    static func scanMessage(_ buffer: UnsafeRawBufferPointer) -> Result<WampMessageView, JSONScanError> {
        var elements = WampMessageView.Elements()
        var validator = Self(buffer)
        do {
            _ = try validator.run(message: true, elements: &elements)
        } catch {
            return .failure(error)
        }
        return .success(WampMessageView(buffer: buffer, elements: elements, format: format))
    }

    /// Any single value with the same rules; its span.
    static func scanValue(_ buffer: UnsafeRawBufferPointer) -> Result<JSONSpan, JSONScanError> {
        var elements = WampMessageView.Elements()
        var validator = Self(buffer)
        do {
            return .success(try validator.run(message: false, elements: &elements))
        } catch {
            return .failure(error)
        }
    }
}

/// JSONScanner, MessagePackScanner and CBORScanner: the scanning entries for one fixed format
/// (each file's header spells out that format's rules).
public protocol WireScanner {
    static var format: WireFormat { get }
}

extension WireScanner {
    /// Deepest nesting accepted; the top-level array of a message counts as level 1.
    @inlinable public static var maxDepth: Int { 64 }
    /// The longest WAMP message (ERROR with args and kwargs) has 7 elements.
    @inlinable public static var maxMessageElements: Int { 7 }

    /// Validates the whole message, requires a top-level array of at most 7 elements, and records
    /// their spans in inline storage. Does not allocate on success.
    @inlinable
    public static func scanMessage(_ buffer: UnsafeRawBufferPointer) -> Result<WampMessageView, JSONScanError> {
        format.scanMessage(buffer)
    }

    /// Validates any single value with the same rules and returns its span (CBOR: the self-describe
    /// tag, when present, is left out of the span). For configuration, tests, tools and transcoding.
    @inlinable
    public static func scanValue(_ buffer: UnsafeRawBufferPointer) -> Result<JSONSpan, JSONScanError> {
        format.scanValue(buffer)
    }

    /// Validates and decodes a whole value into an allocating tree (off the hot path).
    public static func parse(_ buffer: UnsafeRawBufferPointer) -> Result<JSONValue, JSONScanError> {
        scanValue(buffer).map { JSONScanner.decodeValue(buffer, $0) }
    }

    /// Convenience over `parse(_:)` for byte arrays.
    public static func parse(_ bytes: [UInt8]) -> Result<JSONValue, JSONScanError> {
        bytes.withUnsafeBytes { parse($0) }
    }
}
