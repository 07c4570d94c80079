// The HTTP/1.1 request head (RFC 9112 §2-5) that opens a WebSocket connection or asks for metrics.
// A resumable line-by-line parser over the connection's RingBuffer: each complete line is parsed and
// consumed, so the ring only ever has to hold one line. Runs once per connection, so it may allocate.
// The body of a request, if any, is left in the ring.

public struct HTTPRequestHead: Sendable {
    public var method: String
    public var target: String
    /// "HTTP/1.1" as sent.
    public var version: String
    /// In arrival order; names as sent, values with surrounding whitespace removed.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, version: String, headers: [(name: String, value: String)]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The value of header `name` (case-insensitive); repeated headers joined with ", "; nil when absent.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        var joined: String?
        for (n, v) in headers where n.lowercased() == wanted {
            joined = joined.map { $0 + ", " + v } ?? v
        }
        return joined
    }
}

public enum HTTPHeadEvent {
    case needMore
    case head(HTTPRequestHead)
    /// The request is malformed; answer 400 (431 when the head is too large) and close.
    case failure(String)
}

/// One per connection, held by it and used only on its loop thread.
public struct HTTPRequestParser {
    /// Limit on request line + headers + the blank line, counted in bytes as received.
    public let maxHeadBytes: Int
    /// Head bytes already consumed from the ring for the request being parsed.
    private var consumedHeadBytes = 0
    /// Bytes of the current (unterminated) line already searched for LF; resumes the search.
    private var scannedBytes = 0
    /// Request line fields, set once the request line is parsed.
    private var requestLine: (method: String, target: String, version: String)?
    private var headers: [(name: String, value: String)] = []
    /// Set once the head is broken; sticky.
    private var failedMessage: String?

    public init(maxHeadBytes: Int = 16384) {
        precondition(maxHeadBytes > 0, "maxHeadBytes must be positive")
        self.maxHeadBytes = maxHeadBytes
    }

    /// Parses as many complete lines as the ring holds. On `.head`, every byte of the head (through the
    /// blank line) has been consumed, and the parser is reset for a next request. Grows the ring (up to
    /// about maxHeadBytes) when one line does not fit in it.
    public mutating func next(_ ring: RingBuffer) -> HTTPHeadEvent {
        if let message = failedMessage { return .failure(message) }
        while true {
            let readable = ring.readableBytes
            var lineFeed = -1
            var i = scannedBytes
            while i < readable {
                if ring.byte(at: i) == 0x0A { lineFeed = i; break }
                i += 1
            }
            guard lineFeed >= 0 else {
                scannedBytes = readable
                if consumedHeadBytes + readable > maxHeadBytes {
                    return fail("request head exceeds \(maxHeadBytes) bytes")
                }
                if ring.writableBytes == 0 { ring.reserveCapacity(ring.capacity * 2) }
                return .needMore
            }
            let lineBytes = lineFeed + 1
            if consumedHeadBytes + lineBytes > maxHeadBytes {
                return fail("request head exceeds \(maxHeadBytes) bytes")
            }
            var line = [UInt8](repeating: 0, count: lineFeed)
            line.withUnsafeMutableBytes { ring.copyBytes(at: 0, count: lineFeed, into: $0.baseAddress!) }
            if line.last == 0x0D { line.removeLast() }
            let lineNumber = requestLine == nil ? 1 : headers.count + 2
            ring.consume(lineBytes)
            consumedHeadBytes += lineBytes
            scannedBytes = 0

            if requestLine == nil {
                // RFC 9112 §2.2: a server should ignore empty lines received before the request line.
                if line.isEmpty { continue }
                switch HTTPRequestParser.parseRequestLine(line) {
                case .success(let parsed): requestLine = parsed
                case .failure(let error): return fail(error.message)
                }
                continue
            }
            if line.isEmpty {
                let (method, target, version) = requestLine!
                let head = HTTPRequestHead(method: method, target: target, version: version, headers: headers)
                requestLine = nil
                headers = []
                consumedHeadBytes = 0
                return .head(head)
            }
            switch HTTPRequestParser.parseHeaderLine(line, lineNumber: lineNumber) {
            case .success(let header): headers.append(header)
            case .failure(let error): return fail(error.message)
            }
        }
    }

    private mutating func fail(_ message: String) -> HTTPHeadEvent {
        failedMessage = "HTTP: " + message
        return .failure(failedMessage!)
    }

    struct LineError: Error { let message: String }

    /// method SP request-target SP HTTP-version, with single spaces.
    static func parseRequestLine(_ line: [UInt8]) -> Result<(method: String, target: String, version: String), LineError> {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        func bad(_ why: String) -> Result<(method: String, target: String, version: String), LineError> {
            .failure(LineError(message: "bad request line (\(why)): \(quoted(line))"))
        }
        guard parts.count == 3 else { return bad("expected METHOD SP TARGET SP VERSION") }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { return bad("method is not a token") }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return bad("target is empty or has control characters")
        }
        let v = Array(version)
        guard v.count == 8, v[0..<5].elementsEqual("HTTP/".utf8), isDigit(v[5]), v[6] == 0x2E, isDigit(v[7]) else {
            return bad("version is not HTTP/x.y")
        }
        return .success((String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self),
                         String(decoding: version, as: UTF8.self)))
    }

    /// field-name ":" OWS field-value OWS.
    static func parseHeaderLine(_ line: [UInt8], lineNumber: Int) -> Result<(name: String, value: String), LineError> {
        func bad(_ why: String) -> Result<(name: String, value: String), LineError> {
            .failure(LineError(message: "bad header on line \(lineNumber) (\(why)): \(quoted(line))"))
        }
        if line.first == 0x20 || line.first == 0x09 { return bad("obsolete line folding is not accepted") }
        guard let colon = line.firstIndex(of: 0x3A) else { return bad("no colon") }
        let name = line[..<colon]
        guard !name.isEmpty else { return bad("empty name") }
        guard name.allSatisfy(isTokenByte) else { return bad("name is not a token") }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value.removeFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value.removeLast() }
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return bad("control character in value")
        }
        return .success((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// tchar of RFC 9110 §5.6.2.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// A printable, length-bounded rendering of untrusted bytes for error messages.
    static func quoted(_ bytes: [UInt8]) -> String {
        var out = "\""
        for b in bytes.prefix(80) {
            if b >= 0x20 && b < 0x7F && b != 0x22 && b != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let h = String(b, radix: 16, uppercase: true)
                out += "\\x" + (h.count == 1 ? "0" + h : h)
            }
        }
        out += bytes.count > 80 ? "\"…" : "\""
        return out
    }
}
