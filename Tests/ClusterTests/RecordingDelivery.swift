// A ClusterDelivery for tests: records what the node handed over, in order; optionally holds the
// delivery thread on the first publication until released (to fill libnats' pending queue).

import BrokerCluster
import Dispatch
import Foundation
import Synchronization

final class RecordingDelivery: ClusterDelivery, @unchecked Sendable {
    private let received = Mutex<[ClusterPublication]>([])
    private let grouped = Mutex<[(group: ClusterGroup, publication: ClusterPublication)]>([])
    private let gate: DispatchSemaphore?
    private let gateUsed = Atomic<Bool>(false)

    /// `holdFirst`: the first `deliver` blocks until `release()`.
    init(holdFirst: Bool = false) { gate = holdFirst ? DispatchSemaphore(value: 0) : nil }

    func deliver(_ publication: ClusterPublication) {
        received.withLock { $0.append(publication) }
        if let gate, !gateUsed.exchange(true, ordering: .relaxed) { gate.wait() }
    }

    func deliverToGroup(_ publication: ClusterPublication, group: ClusterGroup, tried: [String]) {
        grouped.withLock { $0.append((group, publication)) }
    }

    func release() { gate?.signal() }

    /// What group subscriptions received, in order.
    var groupPublications: [(group: ClusterGroup, publication: ClusterPublication)] { grouped.withLock { $0 } }

    var publications: [ClusterPublication] { received.withLock { $0 } }
    var topics: [String] { publications.map(\.topic) }

    /// Waits until a publication satisfies `predicate`; true if one did within `seconds`.
    func waitFor(within seconds: Double = 5, _ predicate: (ClusterPublication) -> Bool) -> Bool {
        eventually(within: seconds) { publications.contains(where: predicate) }
    }
}

/// A publication as the router would hand it to the cluster.
func makePublication(realm: String = "realm1", topic: String, id: UInt64, args: [UInt8] = Array("[1]".utf8)) -> ClusterPublication {
    ClusterPublication(
        realm: realm, topic: topic, publicationID: id, publisherSession: 77, authid: "alice", authrole: "user",
        discloseMe: false, format: 0, options: Array("{}".utf8), args: args, kwargs: [])
}
