// BinaryPayloadWalk: the MessagePack/CBOR side of PayloadTranscoder (see its conversion rules).
// One recursive walk over a validated binary payload (depth bounded like the scanners') hands each
// value to a sink: JSONSink writes JSON text, BinarySink writes MessagePack or CBOR through its
// BinaryValueWriter, so MessagePack → JSON, CBOR → JSON and MessagePack ↔ CBOR share one walk.

/// Where BinaryPayloadWalk writes: JSON text, or MessagePack/CBOR through their writer.
protocol PayloadSink {
    static func null(_ out: inout [UInt8])
    static func bool(_ v: Bool, _ out: inout [UInt8])
    static func unsigned(_ v: UInt64, _ out: inout [UInt8])
    static func signed(_ v: Int64, _ out: inout [UInt8])
    static func double(_ v: Double, _ out: inout [UInt8])
    static func string(_ utf8: UnsafeRawBufferPointer, _ out: inout [UInt8])
    static func binary(_ bytes: UnsafeRawBufferPointer, _ out: inout [UInt8])
    static func open(object: Bool, count: Int, _ out: inout [UInt8])
    /// Before member `index` of a container (JSON: the comma) and after a key (JSON: the colon).
    static func separator(_ index: Int, _ out: inout [UInt8])
    static func afterKey(_ out: inout [UInt8])
    static func close(object: Bool, _ out: inout [UInt8])
}

enum JSONSink: PayloadSink {
    static func null(_ out: inout [UInt8]) { JSONWriter.appendNull(to: &out) }
    static func bool(_ v: Bool, _ out: inout [UInt8]) { JSONWriter.appendBool(v, to: &out) }
    static func unsigned(_ v: UInt64, _ out: inout [UInt8]) { JSONWriter.appendUInt(v, to: &out) }
    static func signed(_ v: Int64, _ out: inout [UInt8]) { JSONWriter.appendInt(v, to: &out) }
    static func double(_ v: Double, _ out: inout [UInt8]) { JSONWriter.appendDouble(v, to: &out) }  // non-finite → null
    static func string(_ utf8: UnsafeRawBufferPointer, _ out: inout [UInt8]) { JSONWriter.appendValidString(utf8, to: &out) }
    static func binary(_ bytes: UnsafeRawBufferPointer, _ out: inout [UInt8]) { JSONWriter.appendBinary(bytes, to: &out) }
    static func open(object: Bool, count: Int, _ out: inout [UInt8]) { out.append(object ? UInt8(ascii: "{") : UInt8(ascii: "[")) }
    static func separator(_ index: Int, _ out: inout [UInt8]) { if index > 0 { out.append(UInt8(ascii: ",")) } }
    static func afterKey(_ out: inout [UInt8]) { out.append(UInt8(ascii: ":")) }
    static func close(object: Bool, _ out: inout [UInt8]) { out.append(object ? UInt8(ascii: "}") : UInt8(ascii: "]")) }
}

/// Each value to its twin in `W`'s format (floats of every width as 64-bit floats).
enum BinarySink<W: BinaryValueWriter>: PayloadSink {
    static func null(_ out: inout [UInt8]) { W.appendNil(to: &out) }
    static func bool(_ v: Bool, _ out: inout [UInt8]) { W.appendBool(v, to: &out) }
    static func unsigned(_ v: UInt64, _ out: inout [UInt8]) { W.appendUInt(v, to: &out) }
    static func signed(_ v: Int64, _ out: inout [UInt8]) { W.appendInt(v, to: &out) }
    static func double(_ v: Double, _ out: inout [UInt8]) { W.appendDouble(v, to: &out) }
    static func string(_ utf8: UnsafeRawBufferPointer, _ out: inout [UInt8]) {
        W.appendStringHeader(byteCount: utf8.count, to: &out)
        out.append(contentsOf: utf8)
    }
    static func binary(_ bytes: UnsafeRawBufferPointer, _ out: inout [UInt8]) { W.appendBinary(bytes, to: &out) }
    static func open(object: Bool, count: Int, _ out: inout [UInt8]) {
        if object { W.appendMapHeader(count: count, to: &out) } else { W.appendArrayHeader(count: count, to: &out) }
    }
    static func separator(_ index: Int, _ out: inout [UInt8]) {}
    static func afterKey(_ out: inout [UInt8]) {}
    static func close(object: Bool, _ out: inout [UInt8]) {}
}

/// MessagePack/CBOR → JSON, MessagePack or CBOR in one recursive pass (depth bounded like the
/// scanners').
struct BinaryPayloadWalk<Sink: PayloadSink> {
    let input: UnsafeRawBufferPointer
    let format: WireFormat

    /// Writes the value at `i`; returns the offset just past it, nil when malformed.
    func value(_ i: Int, depth: Int, _ out: inout [UInt8]) -> Int? {
        let n = input.count
        guard let h = ValidatedBinary.header(format, input, i, n), let kind = h.kind else { return nil }
        let scalarEnd = h.length <= n - h.dataStart ? h.dataStart + h.length : n + 1  // past n: does not fit
        switch kind {
        case .null: Sink.null(&out)
        case .true: Sink.bool(true, &out)
        case .false: Sink.bool(false, &out)
        case .number:
            guard scalarEnd <= n else { return nil }
            let span = JSONSpan(start: i, end: scalarEnd, kind: .number, format: format)
            switch ValidatedBinary.integer(input, span) {
            case .unsigned(let v)?: Sink.unsigned(v, &out)
            case .signed(let v)?: Sink.signed(v, &out)
            case nil: Sink.double(ValidatedBinary.float(input, span) ?? .nan, &out)
            }
        case .string, .binary:
            guard scalarEnd <= n else { return nil }
            let payload = UnsafeRawBufferPointer(rebasing: input[h.dataStart..<scalarEnd])
            if kind == .string { Sink.string(payload, &out) } else { Sink.binary(payload, &out) }
        case .array, .object:
            guard depth <= JSONScanner.maxDepth, h.length <= n - h.dataStart else { return nil }
            let isObject = kind == .object
            Sink.open(object: isObject, count: h.length, &out)
            var k = h.dataStart
            for m in 0..<h.length {
                Sink.separator(m, &out)
                if isObject {
                    guard ValidatedBinary.header(format, input, k, n)?.kind == .string,
                          let keyEnd = value(k, depth: depth + 1, &out) else { return nil }
                    Sink.afterKey(&out)
                    k = keyEnd
                }
                guard let end = value(k, depth: depth + 1, &out) else { return nil }
                k = end
            }
            Sink.close(object: isObject, &out)
            return k
        }
        return scalarEnd
    }
}
