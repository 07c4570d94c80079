// Event retention on a session (SPEC §5): a PUBLISH with `retain` is checked against
// `limits.max_retained_bytes` and kept (or, with neither args nor kwargs, clears the topic's
// retained event) before it fans out; a SUBSCRIBE with `get_retained` gets the matching retained
// events after its SUBSCRIBED (Router+Retained.swift). Only these options lead here, so a plain
// PUBLISH pays two flag checks and takes no lock. Runs on the connection's loop thread.

import BrokerSerialization

extension Session {
    /// Whether a retained PUBLISH may go on: false (refused, with an ERROR when `acknowledge`)
    /// when its event alone is larger than `max_retained_bytes`, which would evict every other
    /// topic and still not fit.
    func admitsRetained(_ publication: Publication, acknowledge: Bool, request: UInt64) -> Bool {
        let limit = context.server.configuration.limits.maxRetainedBytes
        let charge = RetainedEvent.charge(of: publication)
        guard charge > limit else { return true }
        context.metrics.limitRefusals[.maxRetainedBytes].increment()
        context.metrics.publicationsRefused.increment()
        if acknowledge {
            sendError(WampCode.publish, request,
                      "retained event of \(charge) bytes is larger than limits.max_retained_bytes (\(limit))", WampURI.limitExceeded)
        }
        return false
    }

    /// Keeps the publication as its topic's retained event, or clears it when the PUBLISH had
    /// neither args nor kwargs (absent or empty).
    func keepRetained(_ publication: Publication, _ m: WampMessageView, _ established: Established) {
        if Self.carriesPayload(m) {
            established.router.retain(publication)
        } else {
            established.router.clearRetained(publication)
        }
    }

    /// Whether a PUBLISH has a non-empty args list or kwargs dict.
    private static func carriesPayload(_ m: WampMessageView) -> Bool {
        if m.count >= 5, let args = m.array(4), args.contains(where: { _ in true }) { return true }
        if m.count == 6, let kwargs = m.object(5), kwargs.contains(where: { _ in true }) { return true }
        return false
    }

    /// After SUBSCRIBED: the retained events `subscription` matches (get_retained).
    func sendRetained(of subscription: Subscription, topicCheckRole: Int?, _ established: Established) {
        established.router.sendRetained(of: subscription, to: self, topicCheckRole: topicCheckRole)
    }
}
