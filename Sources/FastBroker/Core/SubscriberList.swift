// The sessions of one subscription, with add, membership test and removal in O(1) (issue 10:
// with 10,000 sessions on one topic, a disconnect storm must not cost 10,000² steps, nor a
// subscribe storm). Removal moves the last element into the hole, so the order is not the
// order of subscription (nothing observes it: the sessions are different connections).
// Positions are kept in a map only once the list outgrows a short linear scan, so the common
// subscription with a few subscribers pays for no dictionary. Owned by the router's loop thread.

/// What a SubscriberList holds: a session (possibly with per-subscriber data), known by the
/// identity of its subscriber object.
protocol SubscriberEntry {
    var subscriberID: ObjectIdentifier { get }
}

extension Session: SubscriberEntry {
    var subscriberID: ObjectIdentifier { ObjectIdentifier(self) }
}

/// A subscriber whose role is granted only some topics of the pattern: each delivery checks
/// the topic for `role` (an index into the realm's roles) first.
struct CheckedSubscriber: SubscriberEntry {
    let session: Session
    let role: Int
    var subscriberID: ObjectIdentifier { ObjectIdentifier(session) }
}

struct SubscriberList<Element: SubscriberEntry> {
    /// The subscribers, for the delivery loop.
    private(set) var elements: [Element] = []
    /// Session → index in `elements`, kept while the list is longer than `scanLimit`.
    private var positions: [ObjectIdentifier: Int] = [:]
    private static var scanLimit: Int { 16 }

    var count: Int { elements.count }
    var isEmpty: Bool { elements.isEmpty }

    func contains(_ subscriber: ObjectIdentifier) -> Bool {
        position(of: subscriber) != nil
    }

    /// Adds `element` unless its session is already in the list; true when added.
    @discardableResult
    mutating func insert(_ element: Element) -> Bool {
        guard position(of: element.subscriberID) == nil else { return false }
        elements.append(element)
        if elements.count > Self.scanLimit {
            if positions.isEmpty {
                for (i, e) in elements.enumerated() { positions[e.subscriberID] = i }
            } else {
                positions[element.subscriberID] = elements.count - 1
            }
        }
        return true
    }

    /// Removes `subscriber`'s element, if any: the last element takes its place.
    mutating func remove(_ subscriber: ObjectIdentifier) {
        guard let i = position(of: subscriber) else { return }
        let last = elements.count - 1
        if !positions.isEmpty {
            positions[subscriber] = nil
            if i != last { positions[elements[last].subscriberID] = i }
        }
        elements.swapAt(i, last)
        elements.removeLast()
        // Back to scanning (with hysteresis): a list that shrank does not keep the map.
        if !positions.isEmpty && elements.count <= Self.scanLimit / 2 { positions = [:] }
    }

    private func position(of subscriber: ObjectIdentifier) -> Int? {
        if !positions.isEmpty { return positions[subscriber] }
        return elements.firstIndex { $0.subscriberID == subscriber }
    }
}
