// Consumer groups across ClusterNodes on one real nats-server with JetStream: a shared group's
// queue subscriptions give each publication to exactly one node (the publisher's own node
// included: the group link echoes); a failover group is consumed only by the node holding its
// KV lease, and a standby node takes over when the holder leaves. Lease TTL 1.5 s keeps it short.

import BrokerCluster
import BrokerConfig
import Dispatch
import Synchronization
import XCTest

final class ClusterGroupTests: XCTestCase {
    private var server: NatsServerProcess!
    private var nodes: [ClusterNode] = []

    override func setUpWithError() throws {
        server = try NatsServerProcess(name: "js", clusterPort: 0, routes: [], jetStream: true)
    }

    override func tearDown() {
        nodes.forEach { $0.stop() }
        nodes = []
        server?.stop()
    }

    private func startNode(_ name: String, _ delivery: RecordingDelivery) throws -> ClusterNode {
        let node = ClusterNode(nodeName: name, groupLeaseTTLMs: 1_500)
        try node.start(servers: [server.url], delivery: delivery)
        nodes.append(node)
        XCTAssertTrue(eventually(within: 5) { (try? node.flush()) != nil }, "node \(name) did not connect")
        return node
    }

    private func group(_ kind: ClusterGroup.Kind) -> ClusterGroup {
        ClusterGroup(realm: "realm1", pattern: "jobs.", match: .prefix, name: "workers", kind: kind)
    }

    private func ids(_ delivery: RecordingDelivery, from first: UInt64) -> [UInt64] {
        delivery.groupPublications.map(\.publication.publicationID).filter { $0 >= first }
    }

    func testSharedGroupGivesEachPublicationToExactlyOneNode() throws {
        let (da, db) = (RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", da)
        let b = try startNode("b", db)
        a.joinGroup(group(.shared))
        b.joinGroup(group(.shared))
        // Probes (id 0) from a until both queue members have had one: a's own included.
        XCTAssertTrue(eventually(within: 10) {
            a.publish(makePublication(topic: "jobs.probe", id: 0))
            return !da.groupPublications.isEmpty && !db.groupPublications.isEmpty
        }, "both nodes consume the shared group")
        XCTAssertEqual(da.groupPublications.first?.group, group(.shared))
        let count: UInt64 = 400
        // Each publication handed to NATS before the next: publications queued together share a
        // NATS message (ClusterBatch), which NATS gives to one member node whole, so a burst could
        // all go to one node; one message each is what the spread below is about.
        for id in 1000..<(1000 + count) {
            XCTAssertTrue(a.publish(makePublication(topic: "jobs.run", id: id)))
            a.waitUntilPublished()
        }
        XCTAssertTrue(eventually(within: 10) { ids(da, from: 1000).count + ids(db, from: 1000).count >= Int(count) })
        a.publish(makePublication(topic: "jobs.run", id: 5000))  // one more: a duplicate would come before it
        XCTAssertTrue(eventually(within: 10) { (ids(da, from: 5000) + ids(db, from: 5000)).count == 1 })
        let all = (ids(da, from: 1000) + ids(db, from: 1000)).filter { $0 < 5000 }
        XCTAssertEqual(all.sorted(), Array(1000..<(1000 + count)), "each publication once across both nodes")
        XCTAssertGreaterThan(ids(da, from: 1000).count, 0)
        XCTAssertGreaterThan(ids(db, from: 1000).count, 0)
        XCTAssertTrue(da.publications.isEmpty && db.publications.isEmpty, "no broadcast copies: nobody has plain interest")
    }

    func testFailoverGroupIsConsumedByTheLeaseHolderAndMovesWhenItLeaves() throws {
        let (da, db, dc) = (RecordingDelivery(), RecordingDelivery(), RecordingDelivery())
        let a = try startNode("a", da)
        let b = try startNode("b", db)
        let publisher = try startNode("c", dc)
        a.joinGroup(group(.failover))
        XCTAssertTrue(eventually(within: 5) {
            publisher.publish(makePublication(topic: "jobs.probe", id: 0))
            return !da.groupPublications.isEmpty
        }, "a holds the lease and consumes")
        b.joinGroup(group(.failover))
        for id in UInt64(100)..<200 { publisher.publish(makePublication(topic: "jobs.run", id: id)) }
        XCTAssertTrue(eventually(within: 5) { ids(da, from: 100).contains(199) })
        XCTAssertEqual(ids(da, from: 100), Array(100..<200), "the holder gets everything, in order")

        a.leaveGroup(group(.failover))  // releases the lease: b takes it at its next try (TTL / 3)
        XCTAssertTrue(eventually(within: 3.5) {
            publisher.publish(makePublication(topic: "jobs.probe", id: 1))
            return db.groupPublications.contains { $0.publication.publicationID == 1 }
        }, "the standby took over")
        for id in UInt64(1000)..<1100 { publisher.publish(makePublication(topic: "jobs.run", id: id)) }
        XCTAssertTrue(eventually(within: 5) { ids(db, from: 1000).contains(1099) })
        XCTAssertEqual(ids(db, from: 100), Array(1000..<1100), "b consumed nothing while a held the lease")
        XCTAssertTrue(ids(da, from: 1000).isEmpty, "a stopped at once")
    }

    /// The cluster's verdict on a join, waited for (it comes on the control queue).
    private func admit(_ node: ClusterNode, _ group: ClusterGroup, first: Bool = true) -> ClusterGroupAdmission? {
        let answered = DispatchSemaphore(value: 0)
        let verdict = Mutex<ClusterGroupAdmission?>(nil)
        node.admitToGroup(group, first: first) { answer in
            verdict.withLock { $0 = answer }
            answered.signal()
        }
        return answered.wait(timeout: .now() + 5) == .success ? verdict.withLock { $0 } : nil
    }

    func testAdmissionAgreesOnTheKindAndTheExclusiveHolderAcrossNodes() throws {
        let a = try startNode("a", RecordingDelivery())
        let b = try startNode("b", RecordingDelivery())
        XCTAssertEqual(admit(a, group(.exclusive)), .admitted(order: nil))
        a.joinGroup(group(.exclusive))
        XCTAssertEqual(admit(b, group(.exclusive)), .exclusiveTaken, "one holder cluster-wide")
        XCTAssertEqual(admit(b, group(.shared)), .typeMismatch(existing: .exclusive))
        XCTAssertEqual(admit(b, group(.failover)), .typeMismatch(existing: .exclusive))
        a.leaveGroup(group(.exclusive))  // releases the lease at once
        XCTAssertTrue(eventually(within: 3) { admit(b, group(.exclusive)) == .admitted(order: nil) }, "free once its holder left")
        XCTAssertEqual(admit(a, group(.exclusive)), .exclusiveTaken)

        var failover = group(.failover)
        failover.name = "ordered"
        guard case .admitted(let first?) = admit(a, failover), case .admitted(let second?) = admit(b, failover),
            case .admitted(let third?) = admit(a, failover, first: false)
        else { return XCTFail("failover members get their join order") }
        XCTAssertLessThan(first, second)
        XCTAssertLessThan(second, third)
        var shared = failover
        shared.kind = .shared
        XCTAssertEqual(admit(b, shared), .typeMismatch(existing: .failover))
    }

    func testTheLongestStandingNodeIsTheOneWithTheSmallestJoinOrder() {
        let standings: [(key: String, order: UInt64)] = [("n.g.a", 7), ("n.g.b", 3), ("n.g.c", 9)]
        XCTAssertTrue(ClusterGroup.standsLongest(("n.g.b", 3), among: standings))
        XCTAssertFalse(ClusterGroup.standsLongest(("n.g.a", 7), among: standings))
        XCTAssertFalse(ClusterGroup.standsLongest(("n.g.c", 9), among: standings))
        XCTAssertTrue(ClusterGroup.standsLongest(("n.g.a", 7), among: [("n.g.a", 7)]), "alone")
        XCTAssertTrue(ClusterGroup.standsLongest(("n.g.a", 4), among: [("n.g.b", 4)]), "a tie goes to the smaller key")
        XCTAssertFalse(ClusterGroup.standsLongest(("n.g.b", 4), among: [("n.g.a", 4)]))
    }

    func testRegistryKeysAreTheSameForEveryKindAndNameEveryNode() {
        let keys = [ClusterGroup.Kind.shared, .exclusive, .failover].map { kind -> [String] in
            let g = ClusterGroup(realm: "realm1", pattern: "jobs.", match: .prefix, name: "workers", kind: kind)
            return [g.typeKey, g.orderKey, g.standingKey(node: "a"), g.standingFilter]
        }
        XCTAssertEqual(Set(keys.map { $0.description }).count, 1, "the kind is what the type key holds, not part of it")
        XCTAssertEqual(keys[0][3], "n.realm1.prefix.jobs_2E.workers.*")
        XCTAssertTrue(keys[0][2].hasPrefix(String(keys[0][3].dropLast())))
        XCTAssertNotEqual(group(.exclusive).identity, group(.failover).identity, "lease keys still differ by kind")
        let empty = ClusterGroup(realm: "r", pattern: "", match: .prefix, name: "", kind: .shared)
        XCTAssertEqual(empty.typeKey, "t.r.prefix._._", "empty fields stay one token each")
    }
}
