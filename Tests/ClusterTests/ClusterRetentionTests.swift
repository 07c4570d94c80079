// Retained events in the cluster's JetStream KV bucket (ClusterRetention) on a real nats-server
// with -js: a node's write settles on that node (its revision, then its echo) and is mirrored on
// the others with the same revision; a node started later gets the bucket's latest entry of each
// topic only; a full bucket drops the topics written longest ago. "Nothing else arrived" is
// checked after a marker written later by the same node (one writer thread, revision order).

import BrokerCluster
import BrokerSync
import Foundation
import Glibc
import XCTest

/// Records what a ClusterRetention hands to the broker side, in order.
private final class RecordingRetained: ClusterRetainedDelivery, @unchecked Sendable {
    // PThreadLock, not Mutex: ThreadSanitizer (CI runs these tests under it) cannot see Mutex's futex.
    private let mirrors = PThreadLock<[(publication: ClusterPublication, revision: UInt64)]>([])
    private let settlements = PThreadLock<[(topic: String, sequence: UInt64, settlement: RetainedWriteSettlement)]>([])

    func mirrorRetained(_ publication: ClusterPublication, revision: UInt64) {
        mirrors.withLock { $0.append((publication, revision)) }
    }

    func settleRetained(realm: String, topic: String, sequence: UInt64, _ settlement: RetainedWriteSettlement) {
        settlements.withLock { $0.append((topic, sequence, settlement)) }
    }

    var mirrored: [(publication: ClusterPublication, revision: UInt64)] { mirrors.withLock { $0 } }
    var settled: [(topic: String, sequence: UInt64, settlement: RetainedWriteSettlement)] { settlements.withLock { $0 } }

    func waitForMirror(of topic: String, within seconds: Double = 5) -> Bool {
        eventually(within: seconds) { mirrored.contains { $0.publication.topic == topic } }
    }
}

final class ClusterRetentionTests: XCTestCase {
    private var server: NatsServerProcess!
    private var running: [(node: ClusterNode, retention: ClusterRetention)] = []
    private let delivery = RecordingDelivery()

    override func setUpWithError() throws {
        server = try NatsServerProcess(name: "js", clusterPort: 0, routes: [], jetStream: true)
    }

    override func tearDown() {
        for (node, retention) in running {
            retention.stop()
            node.stop()
        }
        running = []
        server?.stop()
    }

    private func start(_ name: String, maxBytes: Int = 1 << 20) throws -> (ClusterRetention, RecordingRetained) {
        let node = ClusterNode(nodeName: name)
        try node.start(servers: [server.url], delivery: delivery)
        let retention = ClusterRetention(node: node, maxBytes: maxBytes) { _ in }
        let recorder = RecordingRetained()
        retention.start(delivery: recorder)
        running.append((node, retention))
        return (retention, recorder)
    }

    private func write(_ retention: ClusterRetention, _ topic: String, _ value: String, padding: Int = 0) -> UInt64 {
        let sequence = retention.nextSequence()
        let kwargs = Array("{\"v\":\"\(value)\",\"pad\":\"\(String(repeating: "x", count: padding))\"}".utf8)
        XCTAssertTrue(retention.write(ClusterPublication(
            originSequence: sequence, realm: "realm1", topic: topic, publicationID: sequence, publisherSession: 1, authid: "",
            authrole: "", discloseMe: false, format: 0, options: [], args: [], kwargs: kwargs)))
        return sequence
    }

    private func value(_ publication: ClusterPublication) -> String {
        let text = String(decoding: publication.kwargs, as: UTF8.self)
        return String(text.dropFirst(6).prefix { $0 != "\"" })
    }

    func testAWriteSettlesOnItsNodeAndIsMirroredOnTheOthersWithItsRevision() throws {
        let (a, onA) = try start("a")
        let (_, onB) = try start("b")
        let sequence = write(a, "com.x", "one")
        XCTAssertTrue(onB.waitForMirror(of: "com.x"))
        let mirrored = try XCTUnwrap(onB.mirrored.first)
        XCTAssertEqual(mirrored.publication.originNode, "a")
        XCTAssertEqual(mirrored.publication.originSequence, sequence)
        XCTAssertEqual(value(mirrored.publication), "one")
        XCTAssertTrue(eventually(within: 5) { onA.settled.count == 2 }, "\(onA.settled)")
        let settlements = onA.settled.filter { $0.topic == "com.x" && $0.sequence == sequence }.map(\.settlement)
        XCTAssertTrue(settlements.contains(.written(revision: mirrored.revision)), "\(settlements)")
        XCTAssertTrue(settlements.contains(.echoed))
        XCTAssertTrue(onA.mirrored.isEmpty, "a node's own write is never mirrored back onto it")
        XCTAssertEqual(a.writtenCount, 1)
        XCTAssertTrue(a.lostByReason.allSatisfy { $0.count == 0 }, "\(a.lostByReason)")
    }

    /// Stopping while NATS is stalled (SIGSTOP) ends soon after the grace: every queued write and
    /// the watcher's consumer delete are JetStream requests that would each wait 5 s for a reply;
    /// `closeConnections(after:)` closes the links under them (what the broker's stop does).
    func testStoppingWhileNATSIsStalledEndsSoonAfterTheGrace() throws {
        let (retention, recorder) = try start("a")
        _ = write(retention, "com.ready", "r")
        XCTAssertTrue(eventually(within: 5) { recorder.settled.contains { $0.topic == "com.ready" && $0.settlement != .echoed } })
        let node = running[0].node
        running = []
        server.send(SIGSTOP)
        defer { server.send(SIGCONT) }
        for i in 0..<10 { _ = write(retention, "com.w\(i)", "v") }
        let started = Date()
        let watchdog = node.closeConnections(after: 500)
        retention.stop()
        node.stop()
        watchdog.cancel()
        let took = Date().timeIntervalSince(started)
        XCTAssertLessThan(took, 4, "10 queued writes would wait 50 s for NATS without the grace")
        XCTAssertGreaterThan(took, 0.4, "the grace is waited out first")
    }

    func testANodeStartedLaterGetsTheLatestEntryOfEachTopic() throws {
        let (a, onA) = try start("a")
        _ = write(a, "com.t1", "old")
        _ = write(a, "com.t1", "new")   // may replace "old" while queued: either way the bucket ends with "new"
        _ = write(a, "com.t2", "only")
        a.waitUntilWritten()
        XCTAssertTrue(eventually(within: 5) { onA.settled.contains { $0.topic == "com.t2" && $0.settlement != .echoed } })
        let (_, onC) = try start("c")
        _ = write(a, "com.marker", "m")
        XCTAssertTrue(onC.waitForMirror(of: "com.marker"))
        XCTAssertEqual(onC.mirrored.map { "\($0.publication.topic)=\(value($0.publication))" }, ["com.t1=new", "com.t2=only", "com.marker=m"])
        XCTAssertEqual(onC.mirrored.map(\.revision), onC.mirrored.map(\.revision).sorted(), "in revision order")
    }

    func testAFullBucketDropsTheTopicsWrittenLongestAgo() throws {
        let (a, onA) = try start("a", maxBytes: 64 << 10)
        let count = 200
        for i in 0..<count { _ = write(a, "com.t\(i)", "v\(i)", padding: 1_000) }
        a.waitUntilWritten()
        XCTAssertTrue(eventually(within: 10) { onA.settled.filter { $0.settlement != .echoed }.count == count })
        XCTAssertTrue(onA.settled.allSatisfy { $0.settlement != .failed }, "discard-old never refuses a write")
        let (_, onC) = try start("c", maxBytes: 64 << 10)
        _ = write(a, "com.marker", "m")
        XCTAssertTrue(onC.waitForMirror(of: "com.marker"))
        let kept = onC.mirrored.map(\.publication.topic).filter { $0 != "com.marker" }
        XCTAssertGreaterThan(kept.count, 10)
        XCTAssertLessThan(kept.count, count, "bounded by the bucket's bytes")
        XCTAssertEqual(kept, (count - kept.count..<count).map { "com.t\($0)" }, "exactly the topics written last")
    }
}
