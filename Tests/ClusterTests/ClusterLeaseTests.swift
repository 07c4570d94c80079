// Group-ownership leases on a real JetStream KV bucket (one nats-server with -js): acquire,
// refusal while held, renew by revision, expiry and takeover by another node, fencing of the old
// holder, release. TTL 2 s keeps the test short; expiry timing is bounded on both sides.

import BrokerCluster
import Foundation
import Synchronization
import XCTest

final class ClusterLeaseTests: XCTestCase {
    private var server: NatsServerProcess!
    private var nodes: [ClusterNode] = []
    private let ttlMs = 2_000
    private let delivery = RecordingDelivery()

    override func setUpWithError() throws {
        server = try NatsServerProcess(name: "js", clusterPort: 0, routes: [], jetStream: true)
    }

    override func tearDown() {
        nodes.forEach { $0.stop() }
        nodes = []
        server?.stop()
    }

    private func leaseStore(_ name: String) throws -> ClusterLeaseStore {
        let node = ClusterNode(nodeName: name)
        try node.start(servers: [server.url], delivery: delivery)
        nodes.append(node)
        XCTAssertTrue(eventually(within: 5) { (try? node.flush()) != nil }, "node \(name) did not connect")
        return try ClusterLeaseStore(node: node, ttlMs: ttlMs)
    }

    func testAcquireIsExclusiveAndRenewAdvancesTheRevision() throws {
        let (a, b) = (try leaseStore("a"), try leaseStore("b"))
        let key = ClusterLeaseStore.key(forGroup: "realm1|com.app.jobs|exact|workers")
        XCTAssertEqual(key, "g-realm1_7Ccom_2Eapp_2Ejobs_7Cexact_7Cworkers")

        let lease = try XCTUnwrap(try a.acquire(key))
        XCTAssertEqual(lease.holder, "a")
        XCTAssertNil(try b.acquire(key), "held by a")
        XCTAssertEqual(try b.holder(key), lease)

        let renewed = try XCTUnwrap(try a.renew(lease))
        XCTAssertGreaterThan(renewed.revision, lease.revision)
        XCTAssertNil(try a.renew(lease), "a stale revision is refused (compare-and-set)")
        let again = try XCTUnwrap(try a.acquire(key), "the holder re-acquiring (restart under its name) keeps it")
        XCTAssertGreaterThan(again.revision, renewed.revision)
    }

    func testExpiredLeaseIsTakenOverAndTheOldHolderIsFenced() throws {
        let (a, b) = (try leaseStore("a"), try leaseStore("b"))
        let key = ClusterLeaseStore.key(forGroup: "failover-group")
        let lease = try XCTUnwrap(try a.acquire(key))
        let lastWrite = Date()
        // a stops renewing; b tries every 50 ms.
        var taken: ClusterLease?
        XCTAssertTrue(eventually(within: Double(ttlMs) / 1000 + 5) {
            taken = try? b.acquire(key)
            return taken != nil
        })
        let takeover = Date().timeIntervalSince(lastWrite)
        XCTAssertGreaterThanOrEqual(takeover, Double(ttlMs) / 1000 - 0.1, "not before the TTL")
        XCTAssertLessThanOrEqual(takeover, Double(ttlMs) / 1000 + 2, "within TTL + 2 s (SPEC §7)")
        XCTAssertEqual(taken?.holder, "b")
        XCTAssertNil(try a.renew(lease), "the old holder's renew fails: it must fence itself")
        XCTAssertEqual(try a.holder(key)?.holder, "b")
    }

    func testReleaseFreesTheLeaseOnlyForItsHolder() throws {
        let (a, b) = (try leaseStore("a"), try leaseStore("b"))
        let key = ClusterLeaseStore.key(forGroup: "exclusive-group")
        let lease = try XCTUnwrap(try a.acquire(key))
        let stale = ClusterLease(key: key, holder: "a", revision: lease.revision - 1)
        try a.release(stale)
        XCTAssertEqual(try b.holder(key)?.holder, "a", "a stale lease releases nothing")
        try a.release(lease)
        XCTAssertNil(try b.holder(key))
        let taken = try XCTUnwrap(try b.acquire(key), "free again at once after release")
        XCTAssertEqual(taken.holder, "b")
    }

    // MARK: - The keeper (renewal loop on the control queue)

    private func keeper(_ store: ClusterLeaseStore, node index: Int, _ log: LeaseEventLog, _ name: String) -> ClusterLeaseKeeper {
        ClusterLeaseKeeper(store: store, queue: nodes[index].control, ttlMs: ttlMs) { key, owned in
            log.append("\(name) \(owned ? "owns" : "lost") \(key)")
        }
    }

    func testKeeperHoldsPastTheTTLAndAStandbyTakesOverWhenTheHolderDies() throws {
        let (a, b) = (try leaseStore("a"), try leaseStore("b"))
        let log = LeaseEventLog()
        let (keeperA, keeperB) = (keeper(a, node: 0, log, "a"), keeper(b, node: 1, log, "b"))
        let key = ClusterLeaseStore.key(forGroup: "failover-group")
        keeperA.hold(key)
        XCTAssertEqual(keeperA.ownedKeys, [key])
        keeperB.hold(key)
        let first = try XCTUnwrap(try a.holder(key)).revision
        // Four renewals span more than one TTL: the lease never lapsed, the standby never got it.
        XCTAssertTrue(eventually(within: Double(ttlMs) / 1000 * 3) { ((try? a.holder(key))??.revision ?? 0) >= first + 4 })
        XCTAssertEqual(log.lines, ["a owns \(key)"])
        XCTAssertEqual(keeperB.ownedKeys, [])

        keeperA.halt()  // the holder's node dies: no renew, no release
        let died = Date()
        XCTAssertTrue(eventually(within: Double(ttlMs) / 1000 + 4) { keeperB.ownedKeys == [key] })
        let takeover = Date().timeIntervalSince(died)
        XCTAssertLessThanOrEqual(takeover, Double(ttlMs) / 1000 + 2, "standby takes over within lease_ttl + 2 s (SPEC §7)")
        XCTAssertEqual(log.lines, ["a owns \(key)", "b owns \(key)"])
    }

    func testAHolderWhoseLeaseWasTakenFencesItself() throws {
        let (a, c) = (try leaseStore("a"), try leaseStore("c"))
        let log = LeaseEventLog()
        let keeperA = keeper(a, node: 0, log, "a")
        let key = ClusterLeaseStore.key(forGroup: "exclusive-group")
        keeperA.hold(key)
        XCTAssertEqual(keeperA.ownedKeys, [key])
        // Taken behind its back (as after a partition longer than the TTL).
        try c.release(try XCTUnwrap(try c.holder(key)))
        XCTAssertEqual(try c.acquire(key)?.holder, "c")
        XCTAssertTrue(eventually(within: Double(ttlMs) / 1000) { log.lines.contains("a lost \(key)") }, "\(log.lines)")
        XCTAssertEqual(keeperA.ownedKeys, [])
        XCTAssertEqual(try c.holder(key)?.holder, "c", "the fenced keeper does not fight back while c holds it")
    }

    func testDropReleasesForTheStandbyAtOnce() throws {
        let (a, b) = (try leaseStore("a"), try leaseStore("b"))
        let log = LeaseEventLog()
        let (keeperA, keeperB) = (keeper(a, node: 0, log, "a"), keeper(b, node: 1, log, "b"))
        let key = ClusterLeaseStore.key(forGroup: "g")
        keeperA.hold(key)
        XCTAssertEqual(keeperA.ownedKeys, [key])  // before b wants it: the keepers run on different queues
        keeperB.hold(key)
        XCTAssertEqual(keeperB.ownedKeys, [])
        keeperA.drop(key)
        let dropped = Date()
        XCTAssertTrue(eventually(within: 3) { keeperB.ownedKeys == [key] })
        XCTAssertLessThan(Date().timeIntervalSince(dropped), Double(ttlMs) / 1000, "no TTL wait after a release")
        XCTAssertEqual(log.lines, ["a owns \(key)", "a lost \(key)", "b owns \(key)"])
    }
}

/// What the keepers reported, in order (written on their control queues).
final class LeaseEventLog: Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ line: String) { entries.withLock { $0.append(line) } }
    var lines: [String] { entries.withLock { $0 } }
}
