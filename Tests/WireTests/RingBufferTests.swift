// RingBuffer: capacity rounding, the contiguous write region around the seam, reads across the seam,
// recentring when empty, and growth keeping the readable bytes.

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

    func testRandomisedAgainstAnArrayModel() {
        var generator = SeededGenerator(seed: 42)
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
