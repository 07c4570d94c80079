// A subscription's subscriber list: add, membership and removal stay O(1) with many
// subscribers (issue 10: a disconnect storm of 10,000 sessions on one topic is not quadratic),
// and the list always holds exactly the subscribers added and not removed.

@testable import FastBroker
import XCTest

private final class Subscriber: SubscriberEntry {
    var subscriberID: ObjectIdentifier { ObjectIdentifier(self) }
}

final class SubscriberListTests: XCTestCase {
    func testMatchesASetThroughGrowthAndShrinkage() {
        var list = SubscriberList<Subscriber>()
        var reference = Set<ObjectIdentifier>()
        var generator = SystemRandomNumberGenerator()
        var live: [Subscriber] = []
        for step in 0..<4000 {
            // Grow to ~900 (past the map threshold), then shrink to zero (back to scanning), twice.
            let growing = (step / 1000) % 2 == 0
            if growing || live.isEmpty {
                let s = Subscriber()
                XCTAssertTrue(list.insert(s))
                XCTAssertFalse(list.insert(s), "a subscriber is in the list once")
                live.append(s); reference.insert(s.subscriberID)
            }
            if (!growing || step % 10 == 0), !live.isEmpty {
                let s = live.remove(at: Int.random(in: 0..<live.count, using: &generator))
                list.remove(s.subscriberID)
                reference.remove(s.subscriberID)
                XCTAssertFalse(list.contains(s.subscriberID))
            }
            XCTAssertEqual(list.count, reference.count)
            if step % 25 == 0 { XCTAssertEqual(Set(list.elements.map(\.subscriberID)), reference) }
        }
    }

    func testRemovingTenThousandSubscribersIsLinearNotQuadratic() {
        let subscribers = (0..<10_000).map { _ in Subscriber() }
        var list = SubscriberList<Subscriber>()
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for s in subscribers { list.insert(s) }
            for s in subscribers.reversed() { list.remove(s.subscriberID) }   // last first: worst case for a scan
        }
        XCTAssertTrue(list.isEmpty)
        // A linear scan per removal is ~5·10^7 comparisons (seconds in a debug build); the map
        // takes milliseconds. The bound leaves room for a loaded machine.
        XCTAssertLessThan(elapsed, .milliseconds(500), "10,000 inserts and removals took \(elapsed)")
    }
}
