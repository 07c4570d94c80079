// ShortestDouble: the shortest decimal text that reads back as the same Double (Swift's own
// `description` algorithm: "3.0", "0.1", "1e+16", "5e-324", "-0.0"), written without allocating.
// `Double.description` builds a String, which allocates beyond 15 bytes (most doubles print 17
// digits); `write(to:)` hands the same ASCII to a TextOutputStream's `_writeASCII`, which a stack
// sink can take without making any String. The JSON writer appends the text; FilterVM parses it
// (so a MessagePack double compares as the number its JSON form shows).

public enum ShortestDouble {
    /// The longest form is 24 bytes ("-1.7976931348623157e+308").
    @usableFromInline
    struct Sink: TextOutputStream {
        @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        @usableFromInline var count = 0
        @usableFromInline var overflowed = false

        @usableFromInline init() {}

        @usableFromInline mutating func write(_ string: String) {
            var string = string
            string.withUTF8 { _writeASCII($0) }
        }

        @usableFromInline mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
            guard count + buffer.count <= 32 else {
                overflowed = true
                return
            }
            withUnsafeMutableBytes(of: &storage) { raw in
                for k in 0..<buffer.count { raw[count + k] = buffer[k] }
            }
            count += buffer.count
        }
    }

    /// Calls `body` with the shortest round-trip text of `v` in stack storage (no allocation).
    @inlinable
    public static func withText<R>(_ v: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var sink = Sink()
        v.write(to: &sink)
        if sink.overflowed {  // not expected; stay correct anyway
            var text = v.description
            return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        return withUnsafeBytes(of: sink.storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<sink.count])) }
    }

    /// Appends the shortest round-trip text of a finite `v`.
    @inlinable
    public static func append(_ v: Double, to out: inout [UInt8]) {
        withText(v) { out.append(contentsOf: $0) }
    }
}
