// ShortestDouble: the shortest decimal text that reads back as the same Double (Swift's own
// `description` algorithm: "3.0", "0.1", "1e+16", "5e-324", "-0.0"), written without allocating.
// `Double.description` builds a String, which allocates beyond 15 bytes (most doubles print 17
// digits); `write(to:)` hands the same ASCII to a TextOutputStream's `_writeASCII`, which a stack
// sink can take without making any String.

enum ShortestDouble {
    /// The longest form is 24 bytes ("-1.7976931348623157e+308").
    private struct Sink: TextOutputStream {
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        var overflowed = false

        mutating func write(_ string: String) {
            var string = string
            string.withUTF8 { _writeASCII($0) }
        }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
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

    /// Appends the shortest round-trip text of a finite `v`.
    static func append(_ v: Double, to out: inout [UInt8]) {
        var sink = Sink()
        v.write(to: &sink)
        if sink.overflowed {  // not expected; stay correct anyway
            var text = v.description
            text.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        withUnsafeBytes(of: sink.storage) { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<sink.count])) }
    }
}
