// Writes one WAMP message (JSON text here; MessagePack in MessageWriter+MessagePack) into a connection's scratch memory: static pieces,
// decimal integers and padding, without allocating. The connection then frames it (RawSocket
// header, or masked WebSocket frame) into its output buffer.

struct MessageWriter {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    var count = 0

    init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    func ensureRoom(_ extra: Int) {
        precondition(count + extra <= capacity, "message of more than \(capacity) bytes does not fit the scratch buffer")
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        ensureRoom(text.utf8CodeUnitCount)
        (base + count).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        ensureRoom(bytes.count)
        if let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    /// Set-up messages only: a String's UTF-8 (may allocate for a non-native string).
    mutating func append(_ text: String) {
        var copy = text
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(decimal value: UInt64) {
        let digits = MessageWriter.decimalDigits(value)
        ensureRoom(digits)
        var rest = value
        var position = count + digits
        repeat {
            position -= 1
            base.storeBytes(of: UInt8(truncatingIfNeeded: 48 + rest % 10), toByteOffset: position, as: UInt8.self)
            rest /= 10
        } while rest > 0
        count += digits
    }

    @inline(__always)
    mutating func append(repeating byte: UInt8, count repeats: Int) {
        guard repeats > 0 else { return }
        ensureRoom(repeats)
        (base + count).initializeMemory(as: UInt8.self, repeating: byte, count: repeats)
        count += repeats
    }

    /// The event's first argument `[TS,N,"xxx…"]`, padded to `payloadBytes` bytes (longer only
    /// when the numbers alone do not fit).
    @inline(__always)
    mutating func appendStampedPayload(timestamp: UInt64, publication: UInt64, payloadBytes: Int) {
        append("[")
        append(decimal: timestamp)
        append(",")
        append(decimal: publication)
        append(",\"")
        append(repeating: 0x78, count: payloadBytes - 6 - MessageWriter.decimalDigits(timestamp) - MessageWriter.decimalDigits(publication))
        append("\"]")
    }

    @inline(__always)
    static func decimalDigits(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 { rest /= 10; digits += 1 }
        return digits
    }
}
