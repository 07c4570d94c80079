// RingBuffer: capacity rounding, the contiguous write region around the seam, reads across the seam,
// recentring when empty, growth keeping the readable bytes, growth only as bytes arrive, and the
// shrink back to the initial capacity (with its hysteresis).

import TestSupport
import XCTest
@testable import BrokerWire

final class RingBufferTests: XCTestCase {
    private func write(_ bytes: [UInt8], to ring: RingBuffer) {
        var done = 0
        while done < bytes.count {
            let region = ring.writableRegion()
            XCTAssertGreaterThan(region.count, 0, "ring full while writing")
            if region.count == 0 { return }
            let n = min(region.count, bytes.count - done)
            for i in 0..<n { region[i] = bytes[done + i] }
            ring.didWrite(n)
            done += n
        }
    }

    private func readable(_ ring: RingBuffer) -> [UInt8] {
        (0..<ring.readableBytes).map { ring.byte(at: $0) }
    }

    func testCapacityRoundsUpToPowerOfTwoAtLeast64() {
        XCTAssertEqual(RingBuffer(capacity: 0).capacity, 64)
        XCTAssertEqual(RingBuffer(capacity: 64).capacity, 64)
        XCTAssertEqual(RingBuffer(capacity: 65).capacity, 128)
        XCTAssertEqual(RingBuffer(capacity: 1000).capacity, 1024)
        let ring = RingBuffer(capacity: 100)
        XCTAssertEqual(ring.readableBytes, 0)
        XCTAssertEqual(ring.writableBytes, 128)
    }

    func testWritableRegionStopsAtTheSeamAndIsEmptyWhenFull() {
        let ring = RingBuffer(capacity: 64, startingAt: 60)
        XCTAssertEqual(ring.writableRegion().count, 4, "only 4 bytes before the seam")
        write([1, 2, 3, 4], to: ring)
        XCTAssertEqual(ring.writableRegion().count, 60, "after the seam the rest of the free space is contiguous")
        write(Array(repeating: 9, count: 60), to: ring)
        XCTAssertEqual(ring.writableBytes, 0)
        XCTAssertEqual(ring.writableRegion().count, 0)
        ring.consume(2)
        XCTAssertEqual(ring.writableRegion().count, 2, "freed space lies at 60..<62, before the read cursor")
    }

    func testReadsAcrossTheSeam() {
        let ring = RingBuffer(capacity: 64, startingAt: 62)
        let bytes: [UInt8] = [10, 11, 12, 13, 14, 15]
        write(bytes, to: ring)
        XCTAssertEqual(readable(ring), bytes)
        XCTAssertNil(ring.contiguousBytes(at: 0, count: 6), "bytes 0..<6 straddle the seam")
        XCTAssertNotNil(ring.contiguousBytes(at: 0, count: 2))
        XCTAssertEqual(ring.contiguousBytes(at: 2, count: 4).map(Array.init), [12, 13, 14, 15])
        var copy = [UInt8](repeating: 0, count: 5)
        copy.withUnsafeMutableBytes { ring.copyBytes(at: 1, count: 5, into: $0.baseAddress!) }
        XCTAssertEqual(copy, [11, 12, 13, 14, 15])
        ring.consume(3)
        XCTAssertEqual(readable(ring), [13, 14, 15])
    }

    func testRecentresWhenEmptyOnlyOutsideTests() {
        let ring = RingBuffer(capacity: 64)
        write(Array(repeating: 1, count: 50), to: ring)
        ring.consume(50)
        XCTAssertEqual(ring.writableRegion().count, 64, "an empty ring offers its whole storage")
        let pinned = RingBuffer(capacity: 64, startingAt: 0)
        write(Array(repeating: 1, count: 50), to: pinned)
        pinned.consume(50)
        XCTAssertEqual(pinned.writableRegion().count, 14, "a pinned ring keeps its cursors")
    }

    func testReserveCapacityKeepsReadableBytesAndLinearisesThem() {
        let ring = RingBuffer(capacity: 64, startingAt: 50)
        let bytes = (0..<40).map { UInt8($0) }
        write(bytes, to: ring)
        ring.consume(5)
        ring.reserveCapacity(100)
        XCTAssertEqual(ring.capacity, 128)
        XCTAssertEqual(readable(ring), Array(bytes[5...]))
        XCTAssertNotNil(ring.contiguousBytes(at: 0, count: 35))
        XCTAssertEqual(ring.writableBytes, 128 - 35)
        ring.reserveCapacity(10)
        XCTAssertEqual(ring.capacity, 128, "never shrinks")
    }

    func testShrinkKeepsReadableBytesOnlyWhenTheyFit() {
        let ring = RingBuffer(capacity: 64)
        ring.reserveCapacity(1000)
        write((0..<100).map { UInt8($0) }, to: ring)
        ring.shrink(toCapacity: 64)
        XCTAssertEqual(ring.capacity, 1024, "100 readable bytes do not fit in 64")
        ring.consume(60)
        ring.shrink(toCapacity: 64)
        XCTAssertEqual(ring.capacity, 64)
        XCTAssertEqual(readable(ring), (60..<100).map { UInt8($0) })
    }

    func testGrowIfFullDoublesOnlyWhenFullAndNeverPastTheFrame() {
        let ring = RingBuffer(capacity: 64)
        write(Array(repeating: 1, count: 10), to: ring)
        ring.growIfFull(forFrameOf: 1 << 20)
        XCTAssertEqual(ring.capacity, 64, "10 bytes of a declared 1 MiB frame reserve nothing more")
        write(Array(repeating: 2, count: 54), to: ring)
        ring.growIfFull(forFrameOf: 1 << 20)
        XCTAssertEqual(ring.capacity, 128, "a full ring doubles, not to the declared length")
        XCTAssertEqual(readable(ring), Array(repeating: 1, count: 10) + Array(repeating: 2, count: 54))
        write(Array(repeating: 3, count: 64), to: ring)
        ring.growIfFull(forFrameOf: 130)
        XCTAssertEqual(ring.capacity, 256, "130 bytes round up to 256, one doubling")
        ring.consume(128)
        write(Array(repeating: 4, count: 256), to: ring)
        ring.growIfFull(forFrameOf: 256)
        XCTAssertEqual(ring.capacity, 256, "a frame that fits the full ring needs no growth")
    }

    func testShrinksToInitialCapacityAtOnceAfterALargeFrame() {
        let ring = RingBuffer(capacity: 16 * 1024)
        let frame = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0) }
        while ring.readableBytes < frame.count {
            let before = ring.readableBytes
            write(Array(frame[before..<min(frame.count, before + ring.writableBytes)]), to: ring)
            ring.growIfFull(forFrameOf: frame.count)
            XCTAssertLessThanOrEqual(ring.capacity, max(16 * 1024, 2 * ring.readableBytes), "reservation ahead of the bytes received")
            ring.shrinkIfIdle()
        }
        XCTAssertEqual(ring.capacity, 1 << 20)
        ring.consume(frame.count - 100)
        ring.shrinkIfIdle()
        XCTAssertEqual(ring.capacity, 16 * 1024, "a drained 1 MiB ring returns to its initial 16 KiB")
        XCTAssertEqual(readable(ring), Array(frame.suffix(100)), "the pending bytes move over")
        ring.shrinkIfIdle()
        XCTAssertEqual(ring.capacity, 16 * 1024)
    }

    func testDoesNotShrinkWhileMoreThanHalfTheInitialCapacityIsPending() {
        let ring = RingBuffer(capacity: 64)
        ring.reserveCapacity(1024)
        write(Array(repeating: 5, count: 33), to: ring)
        ring.shrinkIfIdle()
        XCTAssertEqual(ring.capacity, 1024, "33 bytes pending: more than half of 64")
        ring.consume(1)
        ring.shrinkIfIdle()
        XCTAssertEqual(ring.capacity, 64)
    }

    /// A ring up to retainedGrowthFactor × its initial capacity stays while it is used (no grow and
    /// shrink per medium message) and goes after calmDrainsBeforeShrink drains that did not use it.
    func testMediumGrowthIsKeptUntilTrafficFitsTheInitialCapacityAgain() {
        let ring = RingBuffer(capacity: 64)
        for round in 0..<50 {   // 100-byte frames: the ring stays at 128, always the same storage
            write(Array(repeating: UInt8(round), count: 64), to: ring)
            ring.growIfFull(forFrameOf: 100)
            write(Array(repeating: UInt8(round), count: 36), to: ring)
            ring.consume(100)
            ring.shrinkIfIdle()
            XCTAssertEqual(ring.capacity, 128, "round \(round)")
        }
        let storage = ring.writableRegion().baseAddress
        for drain in 1...RingBuffer.calmDrainsBeforeShrink {   // then small frames only
            write(Array(repeating: 1, count: 20), to: ring)
            ring.consume(20)
            ring.shrinkIfIdle()
            XCTAssertEqual(ring.capacity, drain < RingBuffer.calmDrainsBeforeShrink ? 128 : 64, "calm drain \(drain)")
            if drain < RingBuffer.calmDrainsBeforeShrink { XCTAssertEqual(ring.writableRegion().baseAddress, storage) }
        }
    }

    /// Writes, consumes, growth for random frame sizes and idle shrinks, starting on the seam: the
    /// readable bytes always match the model, and the capacity stays within its bounds.
    func testGrowAndShrinkRandomisedAgainstAnArrayModel() {
        var generator = SplitMix64(seed: 7)
        let ring = RingBuffer(capacity: 64, startingAt: 40)
        var model: [UInt8] = []
        var next: UInt8 = 0
        var (growths, shrinks) = (0, 0)
        for step in 0..<5000 {
            let capacity = ring.capacity
            defer { if ring.capacity > capacity { growths += 1 } else if ring.capacity < capacity { shrinks += 1 } }
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1:   // half of the writes fill the free region, as a fast sender would
                let region = ring.writableRegion()
                let n = Bool.random(using: &generator) ? region.count : Int.random(in: 0...region.count, using: &generator)
                for i in 0..<n { region[i] = next; model.append(next); next &+= 1 }
                ring.didWrite(n)
            case 2:
                let n = Int.random(in: 0...ring.readableBytes, using: &generator)
                ring.consume(n)
                model.removeFirst(n)
            case 3:
                let before = ring.capacity
                ring.growIfFull(forFrameOf: Int.random(in: 1...4096, using: &generator))
                if ring.capacity != before {   // only a full ring grows, and only twofold
                    XCTAssertEqual(ring.readableBytes, before, "step \(step)")
                    XCTAssertEqual(ring.capacity, 2 * before, "step \(step)")
                }
            default:   // a reader that has drained (nearly) everything
                let keep = Int.random(in: 0...min(40, ring.readableBytes), using: &generator)
                model.removeFirst(ring.readableBytes - keep)
                ring.consume(ring.readableBytes - keep)
                ring.shrinkIfIdle()
                if ring.readableBytes <= 32 { XCTAssertLessThanOrEqual(ring.capacity, 256, "step \(step)") }
            }
            XCTAssertEqual(readable(ring), model, "step \(step)")
        }
        XCTAssertGreaterThan(growths, 10)
        XCTAssertGreaterThan(shrinks, 10)
    }

    func testRandomisedAgainstAnArrayModel() {
        var generator = SplitMix64(seed: 42)
        let ring = RingBuffer(capacity: 64, startingAt: 17)
        var model: [UInt8] = []
        var next: UInt8 = 0
        for _ in 0..<5000 {
            if Bool.random(using: &generator) {
                let region = ring.writableRegion()
                let n = Int.random(in: 0...region.count, using: &generator)
                for i in 0..<n { region[i] = next; model.append(next); next &+= 1 }
                ring.didWrite(n)
            } else {
                let n = Int.random(in: 0...ring.readableBytes, using: &generator)
                ring.consume(n)
                model.removeFirst(n)
            }
            XCTAssertEqual(ring.readableBytes, model.count)
            if let first = model.first { XCTAssertEqual(ring.byte(at: 0), first) }
            if let last = model.last { XCTAssertEqual(ring.byte(at: model.count - 1), last) }
        }
        XCTAssertEqual(readable(ring), model)
    }
}
