// ClusterPublishQueue: loop threads append, the publisher thread drains in batches. A drain hands
// over everything waiting at once, in append order, and the bound (entries, bytes) holds while a
// batch is being sent: appends past it are refused, never queued. No NATS here: `send` records.

@testable import BrokerCluster
import Foundation
import XCTest

final class ClusterPublishQueueTests: XCTestCase {
    /// What `send` saw, batch by batch (publication ids), and a gate that holds the first batch.
    private final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [[UInt64]] = []   // under `lock`
        let firstBatchStarted = DispatchSemaphore(value: 0)
        let releaseFirstBatch = DispatchSemaphore(value: 0)

        var batches: [[UInt64]] { lock.withLock { recorded } }

        func send(_ batch: [ClusterPublishQueue.Outgoing]) {
            let isFirst = lock.withLock {
                recorded.append(batch.map(\.publicationID))
                return recorded.count == 1
            }
            if isFirst {
                firstBatchStarted.signal()
                releaseFirstBatch.wait()
            }
        }
    }

    private func queue(entries: Int, bytes: Int, _ recorder: Recorder) -> ClusterPublishQueue {
        ClusterPublishQueue(maxEntries: entries, maxBytes: bytes, label: "test.publisher") { recorder.send($0) }
    }

    func testWhatWaitsDuringASendGoesOutAsOneBatchInOrderAndTheEntryBoundHolds() {
        let recorder = Recorder()
        let publisher = queue(entries: 10, bytes: 1 << 20, recorder)
        XCTAssertTrue(publisher.enqueue(makePublication(topic: "t", id: 0)))
        XCTAssertEqual(recorder.firstBatchStarted.wait(timeout: .now() + 10), .success, "the first append starts a drain")
        // The publisher thread is busy with publication 0: ten wait (the bound), the eleventh is refused.
        for id in UInt64(1)...10 { XCTAssertTrue(publisher.enqueue(makePublication(topic: id % 2 == 0 ? "a" : "b", id: id)), "publication \(id)") }
        XCTAssertFalse(publisher.enqueue(makePublication(topic: "a", id: 11)), "an eleventh waiting publication passes the bound of 10")
        recorder.releaseFirstBatch.signal()
        publisher.waitUntilSent()
        XCTAssertEqual(recorder.batches, [[0], Array(1...10)], "one batch for everything that waited, in append order across topics")
        // Drained: room again, and a new drain starts for it.
        XCTAssertTrue(publisher.enqueue(makePublication(topic: "a", id: 12)))
        publisher.waitUntilSent()
        XCTAssertEqual(recorder.batches.last, [12])
    }

    func testTheByteBoundRefusesWhileABatchIsOut() {
        let recorder = Recorder()
        let payload = [UInt8](repeating: 0x31, count: 1_000)
        // Each publication counts its args, kwargs, options and topic: 1,000 + 2 + 1 = 1,003 bytes.
        let publisher = queue(entries: 100, bytes: 2_500, recorder)
        XCTAssertTrue(publisher.enqueue(makePublication(topic: "t", id: 0, args: payload)))
        XCTAssertEqual(recorder.firstBatchStarted.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(publisher.enqueue(makePublication(topic: "t", id: 1, args: payload)))
        XCTAssertTrue(publisher.enqueue(makePublication(topic: "t", id: 2, args: payload)))
        XCTAssertFalse(publisher.enqueue(makePublication(topic: "t", id: 3, args: payload)), "a third 1,003-byte publication passes 2,500 bytes")
        XCTAssertTrue(publisher.enqueue(makePublication(topic: "t", id: 4, args: [])), "a small one still fits")
        recorder.releaseFirstBatch.signal()
        publisher.waitUntilSent()
        XCTAssertEqual(recorder.batches, [[0], [1, 2, 4]])
    }
}
