// The outbound queue over a real socket whose reader stalls: thousands of frames (header +
// shared payload) are queued faster than the peer reads, so writes go partial, the remainder
// rides a queued uv_write, and the slot ring grows while that write still points into it. The
// peer then reads everything and checks every frame arrived whole and in order.

@testable import FastBroker
import BrokerLoop
import Foundation
import Glibc
import XCTest

private final class Writer: TCPStreamDelegate {
    let queue = OutboundQueue()
    var finished: (() -> Void)?
    private var scratch = [UInt8](repeating: 0, count: 4096)
    func streamReadBuffer(_ stream: TCPStream) -> UnsafeMutableRawBufferPointer {
        scratch.withUnsafeMutableBytes { $0 }
    }
    func stream(_ stream: TCPStream, didRead count: Int) {}
    func streamDidEnd(_ stream: TCPStream, error: UVError?) {}
    func streamDidFinishWrite(_ stream: TCPStream, error: UVError?) {
        XCTAssertNil(error)
        queue.writeDidFinish()
        pump(stream)
    }
    func streamDidClose(_ stream: TCPStream) {}
    func pump(_ stream: TCPStream) {
        XCTAssertNil(queue.flush(to: stream))
        if queue.isEmpty && !stream.writeInFlight { finished?() }
    }
}

final class OutboundQueueTests: XCTestCase {
    func testPartialAndQueuedWritesDeliverEveryFrameInOrder() throws {
        let pool = MessageBufferPool()
        let payloadSize = 700
        // Three shared payloads, as an EVENT shared by many subscribers would be.
        let payloads = (0..<3).map { p -> MessageBuffer in
            let m = pool.take(capacity: payloadSize)
            m.append(contentsOf: (0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ p) })
            // The test keeps using these while earlier frames are written: hold a use, as the
            // router does until it has queued a buffer on every subscriber.
            m.retainUse()
            return m
        }
        let queue = try writeToStalledReader(frames: 20_000, pumpEvery: 1000, payload: { Array(payloads[$0 % 3].bytes) }) { queue, i, header in
            queue.append(header: header, headerLength: 4, message: payloads[i % 3])
        }
        XCTAssertEqual(queue.queuedBytes, 0)
        XCTAssertEqual(pool.pooledCount, 0, "payloads still in use by the test are not recycled")
        for p in payloads { p.releaseUse() }
        XCTAssertEqual(pool.pooledCount, 3, "released buffers go back to the pool")
    }

    /// Queues `frames` frames (`enqueue` with a 4-byte header holding the frame's number) for a
    /// reader that waits before reading, flushing every `pumpEvery` frames, so writes go partial
    /// and queued writes are in flight; checks every frame arrived whole and in order, each
    /// followed by `payload(i)`. Returns the drained queue.
    private func writeToStalledReader(frames: Int, pumpEvery: Int, payload: (Int) -> [UInt8],
                                      enqueue: @escaping (OutboundQueue, Int, (UInt64, UInt64)) -> Void) throws -> OutboundQueue {
        let loop = try EventLoop(index: 0)
        let writer = Writer()
        var sawPartialWrite = false
        var server: TCPListener!
        server = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { stream in
            stream.delegate = writer
            for i in 0..<frames {
                var header: (UInt64, UInt64) = (0, 0)
                withUnsafeMutableBytes(of: &header) { $0.storeBytes(of: UInt32(i).bigEndian, toByteOffset: 0, as: UInt32.self) }
                enqueue(writer.queue, i, header)
                if i % pumpEvery == pumpEvery - 1 {
                    writer.pump(stream)
                    if stream.writeInFlight { sawPartialWrite = true }
                }
            }
            // Done once everything queued is written.
            writer.finished = { stream.close(); server.close(); loop.stop() }
            writer.pump(stream)
        }
        let expected = (0..<frames).reduce(0) { $0 + 4 + payload($1).count }
        let received = Receiver(port: server.boundPort, expectedBytes: expected)
        loop.run()
        received.thread.join()
        XCTAssertTrue(sawPartialWrite, "the stalled reader should have forced queued writes")
        XCTAssertEqual(received.bytes.count, expected)
        var offset = 0
        for i in 0..<frames where offset + 4 <= received.bytes.count {
            let sequence = received.bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            XCTAssertEqual(sequence, i, "frame \(i) out of order or torn")
            let body = payload(i)
            XCTAssert(received.bytes[offset + 4..<min(offset + 4 + body.count, received.bytes.count)].elementsEqual(body), "payload of frame \(i)")
            if sequence != i { break }
            offset += 4 + body.count
        }
        XCTAssertTrue(writer.queue.isEmpty)
        loop.close()
        return writer.queue
    }

    /// Frames refer to their buffer unretained; the buffer holds one reference for all of them
    /// and goes back to the pool once, when the last frame (on any connection) is done.
    func testABufferSharedByManyQueuesReturnsToThePoolOnceAfterItsLastFrame() {
        let pool = MessageBufferPool()
        let message = pool.take()
        message.append(contentsOf: [1, 2, 3])
        let queues = (0..<3).map { _ in OutboundQueue() }
        for queue in queues { queue.append(header: (0, 0), headerLength: 0, message: message) }
        message.recycleIfUnused()   // the producer is done; the frames still use it
        XCTAssertEqual(pool.pooledCount, 0, "a queued buffer is not back in the pool")
        queues[0].removeAll()
        queues[1].removeAll()
        XCTAssertEqual(pool.pooledCount, 0, "still queued on one connection")
        var written: [UInt8] = []
        queues[2].drain { written += $0 }
        XCTAssertEqual(written, [1, 2, 3])
        XCTAssertEqual(pool.pooledCount, 1, "back once, after its last frame")
        let again = pool.take()
        XCTAssertTrue(again === message, "the pooled buffer is reused")
        XCTAssertEqual(again.count, 0, "and empty")
        again.recycleIfUnused()
        XCTAssertEqual(pool.pooledCount, 1)
    }

    /// A buffer still queued when its loop's pool retires is freed by its last frame, not kept.
    func testTheLastFrameOfARetiredPoolsBufferFreesIt() {
        let pool = MessageBufferPool()
        let queue = OutboundQueue()
        weak var queued: MessageBuffer?
        do {
            let message = pool.take()
            message.append(contentsOf: [UInt8](repeating: 7, count: 10))
            queue.append(header: (0, 0), headerLength: 0, message: message)
            message.recycleIfUnused()
            queued = message
        }
        XCTAssertNotNil(queued, "its frame keeps a queued buffer alive")
        pool.retire()
        XCTAssertNotNil(queued, "retiring the pool does not free a buffer still queued")
        queue.removeAll()
        XCTAssertNil(queued, "the last frame frees a retired pool's buffer")
        XCTAssertEqual(pool.pooledCount, 0)
    }
}

extension OutboundQueueTests {
    /// Small frames the caller lets the queue copy are coalesced into chunks, between large
    /// ones queued by reference, while writes go partial and queued writes are in flight (a tail
    /// a write points into must never grow): every frame arrives whole and in order.
    func testCoalescedSmallFramesKeepOrderAcrossPartialAndQueuedWrites() throws {
        let pool = MessageBufferPool()
        // Sizes around the coalescing limit: copied, shared, copied, ...
        let sizes = [1, 60, 94, 300, OutboundQueue.coalesceLimit - 4, OutboundQueue.coalesceLimit - 3, 700, 2_000]
        // Made once: building bytes per frame in a debug build is slower than the reader's wait.
        let bodies = sizes.indices.map { k in (0..<sizes[k]).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ k) } }
        let queue = try writeToStalledReader(frames: 30_000, pumpEvery: 700, payload: { bodies[$0 % sizes.count] }) { queue, i, header in
            let message = pool.take(capacity: 64)
            message.append(contentsOf: bodies[i % sizes.count])
            queue.append(header: header, headerLength: 4, message: message, mayCopy: true)
            message.recycleIfUnused()   // as the router does once a buffer is queued everywhere
        }
        XCTAssertEqual(queue.queuedBytes, 0)
        XCTAssertGreaterThan(pool.pooledCount, 0, "copied messages go back to the pool")
        XCTAssertGreaterThan(pool.chunks.pooledCount, 0, "written chunks go back to the pool")
    }

    /// A socket that takes a varying number of bytes per try-write and completes a queued write
    /// only later, reading its bytes then (as the kernel does): frames appended while a write is
    /// in flight must not touch the bytes it points at, at any split of the stream.
    func testCoalescingNeverTouchesBytesOfAWriteInFlight() {
        final class LazySocket: WriteSink {
            var received: [UInt8] = []
            var pending: [(UnsafeRawPointer, Int)] = []
            var takes = [0, 1, 3, 100, 4_000, 7, 65_536, 513, 0, 2]
            var next = 0
            func tryWrite(_ vector: WriteVector) -> Result<Int, UVError> {
                var budget = takes[next % takes.count]
                next += 1
                var taken = 0
                vector.forEachBuffer { part in
                    let n = min(budget, part.count)
                    received.append(contentsOf: part[0..<n])
                    budget -= n
                    taken += n
                }
                return .success(taken)
            }
            func write(_ vector: WriteVector) throws(UVError) {
                precondition(pending.isEmpty)
                vector.forEachBuffer { pending.append(($0.baseAddress!, $0.count)) }
            }
            /// The queued write completes: its bytes are read now.
            func complete() {
                for (base, count) in pending { received.append(contentsOf: UnsafeRawBufferPointer(start: base, count: count)) }
                pending.removeAll()
            }
        }
        let pool = MessageBufferPool()
        let queue = OutboundQueue()
        let socket = LazySocket()
        var expected: [UInt8] = []
        for i in 0..<5_000 {
            let size = [3, 90, 200, 600, 40][i % 5]
            let message = pool.take(capacity: size)
            message.append(contentsOf: (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i) })
            var header: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &header) { $0.storeBytes(of: UInt32(i).bigEndian, toByteOffset: 0, as: UInt32.self) }
            queue.append(header: header, headerLength: 4, message: message, mayCopy: true)
            withUnsafeBytes(of: &header) { expected.append(contentsOf: $0[0..<4]) }
            expected.append(contentsOf: message.bytes)
            message.recycleIfUnused()
            if i % 7 == 6 { XCTAssertNil(queue.flush(to: socket)) }
            if i % 11 == 10 && !socket.pending.isEmpty {
                socket.complete()
                queue.writeDidFinish()
            }
        }
        while !queue.isEmpty || !socket.pending.isEmpty {
            if !socket.pending.isEmpty { socket.complete(); queue.writeDidFinish() }
            XCTAssertNil(queue.flush(to: socket))
        }
        XCTAssertEqual(socket.received.count, expected.count)
        XCTAssert(socket.received == expected, "bytes differ from what was queued")
        XCTAssertEqual(queue.queuedBytes, 0)
    }

    /// The queue's byte count is exact with coalescing: a copied frame adds its bytes once.
    func testCoalescedFramesCountTheirBytes() {
        let pool = MessageBufferPool()
        let queue = OutboundQueue()
        for n in 1...20 {
            let message = pool.take(capacity: 64)
            message.append(contentsOf: [UInt8](repeating: 7, count: 50))
            queue.append(header: (0, 0), headerLength: 4, message: message, mayCopy: true)
            message.recycleIfUnused()
            XCTAssertEqual(queue.queuedBytes, n * 54)
        }
        XCTAssertEqual(queue.count, 1, "twenty small frames share one chunk")
        queue.removeAll()
        XCTAssertEqual(queue.queuedBytes, 0)
    }
}

/// A blocking client that connects, waits so the server's writes back up, then reads all.
private final class Receiver: @unchecked Sendable {
    var bytes: [UInt8] = []
    private(set) var thread: JoinableThread!
    init(port: Int, expectedBytes: Int) {
        let box = self
        thread = JoinableThread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            usleep(300_000)   // let the server fill the socket buffers
            var chunk = [UInt8](repeating: 0, count: 65536)
            while box.bytes.count < expectedBytes {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                box.bytes.append(contentsOf: chunk[0..<n])
            }
            close(fd)
        }
    }
}

/// A thread the test can wait for.
final class JoinableThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping @Sendable () -> Void) {
        let done = self.done
        Thread { body(); done.signal() }.start()
    }
    func join() { done.wait() }
}
