// ClusterForwardsInFlight: shared-group forwards (ClusterGroupForward) sent and not yet known to
// have arrived. A forward goes out as a NATS request-style publish whose reply subject ends in its
// token; nats-server answers "no responders" (status 503, libnats' natsMsg_IsNoResponders) at once
// when nobody subscribes the target's forward subject — the target node died and its member key
// has not expired yet — and the sender then tries the next member node instead of losing the
// event. A forward that arrived gets no answer at all, so entries are never confirmed: the table
// keeps the newest `maxEntries` / `maxBytes` and forgets the oldest (a 503 comes back within one
// NATS round trip; one for a forgotten token is counted as lost). Owned by ClusterGroupConsumers,
// under its state lock.

import CNats

struct ClusterForwardsInFlight {
    static let maxEntries = 4_096
    static let maxBytes = 16 << 20

    struct Entry {
        var forward: ClusterGroupForward
        var target: String
    }

    private var byToken: [UInt64: Entry] = [:]
    /// Tokens in sending order; `head` is the oldest still counted (taken ones are skipped).
    private var order: [UInt64] = []
    private var head = 0
    private var bytes = 0
    private var lastToken: UInt64 = 0

    var count: Int { byToken.count }

    /// Records a forward about to be sent to `target`; returns its token.
    mutating func add(_ forward: ClusterGroupForward, target: String) -> UInt64 {
        let size = forward.envelope.count
        while !byToken.isEmpty && (byToken.count >= Self.maxEntries || bytes + size > Self.maxBytes) { dropOldest() }
        lastToken += 1
        byToken[lastToken] = Entry(forward: forward, target: target)
        order.append(lastToken)
        bytes += size
        return lastToken
    }

    /// The forward NATS found no responder for; nil when it was forgotten (or never ours).
    mutating func take(_ token: UInt64) -> Entry? {
        guard let entry = byToken.removeValue(forKey: token) else { return nil }
        bytes -= entry.forward.envelope.count
        return entry
    }

    /// The forward could not be sent at all: forget it.
    mutating func cancel(_ token: UInt64) { _ = take(token) }

    private mutating func dropOldest() {
        while head < order.count {
            let token = order[head]
            head += 1
            if take(token) != nil { break }
        }
        if head > 1_024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// The reply subjects of a node's forwards: `<root>.<escaped node>.<token>`.
    static func replyRoot(node: String) -> String {
        var subject = Array("fastbroker.gfnr.".utf8)
        ClusterSubject.appendEscaped(node.utf8, to: &subject)
        return String(decoding: subject, as: UTF8.self)
    }

    /// The token at the end of a reply subject.
    static func token(of subject: String) -> UInt64? {
        guard let dot = subject.utf8.lastIndex(of: UInt8(ascii: ".")) else { return nil }
        return UInt64(subject[subject.index(after: dot)...])
    }
}

/// The reply subscription's callback target: never freed (libnats may call it after the
/// unsubscribe returns, as with NatsEventsBox); `target` is weak.
final class NoResponderBox: @unchecked Sendable {
    weak var target: ClusterGroupConsumers?
    init(_ target: ClusterGroupConsumers) { self.target = target }
}

/// Every message on the reply subscription: only "no responders" answers mean something.
let noResponderCallback: natsMsgHandler = { _, _, message, closure in
    defer { natsMsg_Destroy(message) }
    guard let closure, natsMsg_IsNoResponders(message), let subject = natsMsg_GetSubject(message),
        let token = ClusterForwardsInFlight.token(of: String(cString: subject))
    else { return }
    Unmanaged<NoResponderBox>.fromOpaque(closure).takeUnretainedValue().target?.noResponder(token: token)
}
