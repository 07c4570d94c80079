// A ByteToMessageDecoderVerifier-style harness (after SwiftNIO's NIOTestUtils): feeds one byte
// stream to a fresh decoder in many ways (all at once, byte by byte, seeded random splits, with the
// ring's cursors started at every offset so frames straddle the seam) and checks that every way
// yields exactly the expected events.

import TestSupport
import XCTest
@testable import BrokerWire

struct DecoderVerifier<Output: Equatable> {
    /// Makes a fresh decoder and returns its step: the next decoded output (payload copied out), or
    /// nil for needMore.
    let makeStep: () -> (RingBuffer) -> Output?
    /// Outputs after which the stream is dead (failures, close).
    let isTerminal: (Output) -> Bool
    /// Whether the decoder gives memory back (RingBuffer.shrinkIfIdle): then every needMore that
    /// leaves at most half the initial capacity readable must find the ring within the retained
    /// bound (RingBuffer.retainedGrowthFactor times its initial capacity).
    var returnsMemory = false

    /// Decodes `stream` written into `ring` in chunks of the given sizes (the last one repeats).
    func decode(_ stream: [UInt8], ring: RingBuffer, chunkSizes: [Int],
                file: StaticString = #filePath, line: UInt = #line) -> [Output] {
        let step = makeStep()
        var outputs: [Output] = []
        var stopped = false
        func drain() {
            while !stopped, let output = step(ring) {
                outputs.append(output)
                if isTerminal(output) { stopped = true }
            }
            if returnsMemory && !stopped { checkMemory() }
        }
        func checkMemory() {
            let retained = ring.initialCapacity * RingBuffer.retainedGrowthFactor
            if ring.readableBytes <= ring.initialCapacity / 2 && ring.capacity > retained {
                XCTFail("ring of \(ring.capacity) bytes kept with \(ring.readableBytes) readable (initial \(ring.initialCapacity))",
                        file: file, line: line)
            }
        }
        var position = 0
        var chunkIndex = 0
        while position < stream.count && !stopped {
            let want = min(max(chunkSizes[min(chunkIndex, chunkSizes.count - 1)], 1), stream.count - position)
            chunkIndex += 1
            var written = 0
            while written < want && !stopped {
                let region = ring.writableRegion()
                if region.count == 0 {
                    drain()
                    if stopped { break }
                    if ring.writableRegion().count == 0 {
                        XCTFail("decoder said needMore with a full ring (\(ring.capacity) bytes): it would stall",
                                file: file, line: line)
                        return outputs
                    }
                    continue
                }
                let n = min(region.count, want - written)
                stream.withUnsafeBytes { source in
                    region.baseAddress!.copyMemory(from: source.baseAddress! + position + written, byteCount: n)
                }
                ring.didWrite(n)
                written += n
            }
            position += want
            drain()
        }
        return outputs
    }

    /// Runs every feeding strategy and asserts each yields `expected`.
    func verify(_ stream: [UInt8], expected: [Output], seamRingCapacity: Int = 256, randomRuns: Int = 40,
                file: StaticString = #filePath, line: UInt = #line) {
        func check(_ got: [Output], _ how: String) {
            if got != expected {
                XCTFail("\(how): got \(got), expected \(expected)", file: file, line: line)
            }
        }
        check(decode(stream, ring: RingBuffer(capacity: 1 << 20), chunkSizes: [stream.count]), "all at once, large ring")
        check(decode(stream, ring: RingBuffer(capacity: 64), chunkSizes: [stream.count]), "all at once, 64-byte ring")
        check(decode(stream, ring: RingBuffer(capacity: 64), chunkSizes: [1]), "one byte at a time")
        var generator = SplitMix64(seed: 0x5EED_0001)
        for run in 0..<randomRuns {
            var sizes: [Int] = []
            var total = 0
            while total < stream.count {
                let size = Int.random(in: 1...max(1, min(97, stream.count)), using: &generator)
                sizes.append(size)
                total += size
            }
            let capacity = [64, 128, 4096].randomElement(using: &generator)!
            check(decode(stream, ring: RingBuffer(capacity: capacity), chunkSizes: sizes),
                  "random split run \(run) (ring \(capacity), chunks \(sizes))")
        }
        for start in 0..<seamRingCapacity {
            check(decode(stream, ring: RingBuffer(capacity: seamRingCapacity, startingAt: start), chunkSizes: [stream.count]),
                  "seam at offset \(start), all at once")
            check(decode(stream, ring: RingBuffer(capacity: seamRingCapacity, startingAt: start), chunkSizes: [7]),
                  "seam at offset \(start), chunks of 7")
        }
    }

    /// For inputs without a known answer (garbage, fuzz seeds): every strategy must agree with the
    /// all-at-once decoding, which is returned.
    @discardableResult
    func verifyConsistent(_ stream: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [Output] {
        let reference = decode(stream, ring: RingBuffer(capacity: 1 << 20), chunkSizes: [max(stream.count, 1)])
        verify(stream, expected: reference, seamRingCapacity: 64, randomRuns: 4, file: file, line: line)
        return reference
    }
}
