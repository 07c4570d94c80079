// ClusterDelivery: the seam between the cluster component and the event loops. The component
// never touches a loop, a session or the router; it hands each publication received from NATS to
// this one object, on its delivery thread, one at a time, in arrival order.
//
// How the broker implements it (the loop side, LoopContext's inbox): `deliver` wraps the
// publication in a loop message, pushes it into the MPSC inbox of every loop that may have a
// matching subscriber (or every loop), and calls `uv_async_send` — nothing else, because it runs
// on a libnats thread. Each loop, draining its inbox in order, runs its normal routing on it
// (patterns, filters, exclude/eligible lists from `options`, exclude_me by publisher session,
// disclose_me) exactly as for a local PUBLISH, with `publicationID` as the EVENT's publication id,
// and never forwards it to the cluster again. Since one thread calls `deliver` in arrival order
// and each inbox is FIFO, events of one publisher reach one subscriber in publication order.

public protocol ClusterDelivery: AnyObject, Sendable {
    /// Called on the cluster's delivery thread. Must not block and must not call back into the
    /// ClusterNode's blocking API (flush, leases).
    func deliver(_ publication: ClusterPublication)

    /// Called on the same thread for a publication one of this node's group subscriptions
    /// received (ClusterGroup): it goes to that group's local members only, one of them.
    /// `tried`: shared groups, the nodes that found no accepting member before this one
    /// (ClusterGroupForward); when no local member accepts either, hand it to
    /// `ClusterNode.forwardGroupEvent` with them.
    func deliverToGroup(_ publication: ClusterPublication, group: ClusterGroup, tried: [String])
}
