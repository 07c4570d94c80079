// CBORDefiniteLengths: rewrites a CBOR message that uses indefinite-length items (RFC 8949 §3.2.2,
// §3.2.3) into the same message with definite lengths, so the scanner and every view keep reading
// strings in place and containers by count. Only messages the scanner refused for an indefinite
// length come here (no common WAMP client sends them), so this is a cold path: one linear pass counts
// the members of each indefinite container and the bytes of each chunked string (pre-order, into
// an array), a second pass writes — definite items are copied verbatim, chunks are concatenated.
// Everything else (tags, undefined, bad UTF-8…) is copied as it is for the scanner to refuse with
// its usual message. Recursion is bounded by the scanner's depth limit (tags count as a level).

import WireCodec

public enum CBORDefiniteLengths {
    /// nil when `input` holds no indefinite-length item before its first malformation (the
    /// scanner's own error then stands); else the rewritten message, or what stopped the rewrite.
    public static func rewrite(_ input: UnsafeRawBufferPointer) -> Result<[UInt8], JSONScanError>? {
        var counter = IndefiniteCounter(input: input)
        let end: Int
        do {
            end = try counter.item(0, depth: 1)
        } catch {
            return counter.counts.isEmpty ? nil : .failure(error)
        }
        guard !counter.counts.isEmpty else { return nil }
        guard end == input.count else {
            return .failure(JSONScanError(offset: end, message: "unexpected data after the top-level item (\(input.count - end) trailing bytes)", format: .cbor))
        }
        var writer = DefiniteWriter(input: input, counts: counter.counts)
        writer.out.reserveCapacity(input.count + 16)
        _ = writer.item(0)
        return .success(writer.out)
    }
}

/// Pass 1: validates the structure and records, in pre-order, each indefinite container's member
/// count (items; pairs for maps) and each chunked string's total byte count.
private struct IndefiniteCounter {
    let input: UnsafeRawBufferPointer
    var counts: [Int] = []

    private func fail(_ at: Int, _ message: String) -> JSONScanError {
        JSONScanError(offset: at, message: message, format: .cbor)
    }

    private func header(_ i: Int) throws(JSONScanError) -> CBORHeader {
        guard let h = CBORReader.header(input, i, input.count) else {
            throw fail(input.count, i < input.count ? "unexpected end of input in the \(ValidatedCBOR.typeName(input[i])) header at byte \(i)"
                                                    : "unexpected end of input, expected an item")
        }
        return h
    }

    /// Offset just past the item at `i`.
    mutating func item(_ i: Int, depth: Int) throws(JSONScanError) -> Int {
        let n = input.count
        let h = try header(i)
        switch h.family {
        case .array, .map, .tag, .indefinite:
            guard depth <= CBORScanner.maxDepth else { throw fail(i, "nesting deeper than \(CBORScanner.maxDepth) levels") }
        default: break
        }
        switch h.family {
        case .array, .map:
            let isMap = h.family == .map
            // Each member takes at least one byte: a longer count is a lie, refused before the loop.
            guard h.length <= (n - h.dataStart) / (isMap ? 2 : 1) else {
                throw fail(i, "\(isMap ? "map" : "array") at byte \(i) declares \(h.argument) \(isMap ? "pairs" : "elements"), only \(n - h.dataStart) bytes remain")
            }
            var k = h.dataStart
            for _ in 0..<(isMap ? 2 * h.length : h.length) {
                guard k < n else { throw fail(n, "unexpected end of input in the \(isMap ? "map" : "array") at byte \(i)") }
                k = try item(k, depth: depth + 1)
            }
            return k
        case .tag:
            // A tag counts as a level (so a chain of tags cannot recurse unboundedly), except the
            // self-describe tag in front of the message, which the scanner does not count either.
            return try item(h.dataStart, depth: i == 0 ? depth : depth + 1)
        case .indefinite:
            let slot = counts.count
            counts.append(0)
            let major = UInt8(h.argument)
            var k = h.dataStart
            var total = 0
            while true {
                guard k < n else { throw fail(n, "unexpected end of input, the indefinite-length \(ValidatedCBOR.typeName(input[i])) at byte \(i) has no break code") }
                if input[k] == 0xFF {
                    k += 1
                    break
                }
                if major == 2 || major == 3 {
                    let chunk = try header(k)
                    guard chunk.family == (major == 2 ? .bytes : .text) else {
                        throw fail(k, "a chunk of the indefinite-length \(major == 2 ? "byte" : "text") string at byte \(i) must be a definite-length \(major == 2 ? "byte" : "text") string, found \(ValidatedCBOR.typeName(input[k]))")
                    }
                    guard chunk.length <= n - chunk.dataStart else {
                        throw fail(n, "\(ValidatedCBOR.typeName(input[k])) at byte \(k) declares \(chunk.argument) bytes, only \(n - chunk.dataStart) remain")
                    }
                    total += chunk.length
                    k = chunk.scalarEnd
                } else {
                    k = try item(k, depth: depth + 1)
                    total += 1
                }
            }
            if major == 5 {
                guard total % 2 == 0 else { throw fail(k - 1, "the indefinite-length map at byte \(i) ends after a key, without its value") }
                total /= 2
            }
            counts[slot] = total
            return k
        case .breakCode:
            throw fail(i, "unexpected CBOR break code 0xFF at byte \(i)")
        case .reserved:
            throw fail(i, "reserved CBOR additional information \(h.argument) at byte \(i)")
        case .bytes, .text, .float:
            guard h.length <= n - h.dataStart else {
                throw fail(n, "\(ValidatedCBOR.typeName(input[i])) at byte \(i) declares \(h.argument) bytes, only \(n - h.dataStart) remain")
            }
            return h.scalarEnd
        case .unsigned, .negative, .false, .true, .null, .undefined, .simple:
            return h.scalarEnd
        }
    }
}

/// Pass 2: writes the definite form, taking the counts in the same pre-order (input already checked).
private struct DefiniteWriter {
    let input: UnsafeRawBufferPointer
    let counts: [Int]
    var next = 0
    var out: [UInt8] = []

    /// Writes the item at `i`; returns the offset just past it in the input.
    mutating func item(_ i: Int) -> Int {
        let h = CBORReader.header(input, i, input.count)!
        switch h.family {
        case .array, .map:
            out.append(contentsOf: input[i..<h.dataStart])
            var k = h.dataStart
            for _ in 0..<(h.family == .map ? 2 * h.length : h.length) { k = item(k) }
            return k
        case .tag:
            out.append(contentsOf: input[i..<h.dataStart])
            return item(h.dataStart)
        case .indefinite:
            let count = counts[next]
            next += 1
            let major = UInt8(h.argument)
            CBORWriter.appendHead(major: major, UInt64(count), to: &out)
            var k = h.dataStart
            while input[k] != 0xFF {
                if major == 2 || major == 3 {
                    let chunk = CBORReader.header(input, k, input.count)!
                    out.append(contentsOf: input[chunk.dataStart..<chunk.scalarEnd])
                    k = chunk.scalarEnd
                } else {
                    k = item(k)
                }
            }
            return k + 1
        default:
            out.append(contentsOf: input[i..<h.scalarEnd])
            return h.scalarEnd
        }
    }
}
