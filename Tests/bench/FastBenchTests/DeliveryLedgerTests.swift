// fastbench's counting, fed made-up delivery sequences (no sockets): broadcast order checks
// (duplicates, reorderings, gaps), last-subscriber completion for latency, subscription ids,
// routing of single-delivery workloads and publications the tool never made.

import XCTest
@testable import FastBench

final class DeliveryLedgerTests: XCTestCase {
    func testBroadcastCompletesOnTheLastSubscriberAndFindsNothingWrong() {
        let ledger = DeliveryLedger(rule: .broadcast, subscribers: 3, publishers: 2, inFlight: 16)
        for s in 0..<3 { ledger.subscribed(subscriber: s, topic: 0, subscription: 100) }
        let p0 = ledger.publish(by: 0), p1 = ledger.publish(by: 1), p2 = ledger.publish(by: 0)
        XCTAssertEqual([p0, p1, p2], [0, 1, 2])
        // Publisher 1's publication may overtake publisher 0's at a subscriber: only each
        // publisher's own order counts.
        let order: [(Int, Int)] = [(0, 0), (1, 1), (1, 0), (0, 1), (2, 0), (2, 1), (1, 2), (0, 2), (2, 2)]
        var completed: [Int] = []
        for (publication, subscriber) in order {
            if ledger.delivered(publication: UInt64(publication), subscriber: subscriber, subscription: 100) {
                completed.append(publication)
            }
        }
        XCTAssertEqual(completed, [1, 0, 2], "a publication completes at its third (last) subscriber")
        XCTAssertEqual(ledger.received, 9)
        XCTAssertNil(ledger.wrongDeliveries)
        XCTAssertEqual(ledger.gaps, 0)
    }

    func testBroadcastDuplicateAndReorderingAreCaughtEvenWhenTheCountAddsUp() {
        let ledger = DeliveryLedger(rule: .broadcast, subscribers: 2, publishers: 1, inFlight: 16)
        for s in 0..<2 { ledger.subscribed(subscriber: s, topic: 0, subscription: 7) }
        for _ in 0..<3 { _ = ledger.publish(by: 0) }
        // Subscriber 0 gets publication 1 twice and never 2; subscriber 1 gets 2 before 1.
        for n in [0, 1, 1] { _ = ledger.delivered(publication: UInt64(n), subscriber: 0, subscription: 7) }
        for n in [0, 2, 1] { _ = ledger.delivered(publication: UInt64(n), subscriber: 1, subscription: 7) }
        XCTAssertEqual(ledger.received, 6, "6 received for 6 owed: the total alone would look perfect")
        XCTAssertEqual(ledger.outOfOrder, 2)
        XCTAssertEqual(ledger.gaps, 1, "subscriber 1 stepped over publication 1")
        XCTAssertEqual(ledger.wrongDeliveries, "2 out of order or repeated")
    }

    func testGapsCountWhatEachSubscriberSkipped() {
        let ledger = DeliveryLedger(rule: .broadcast, subscribers: 1, publishers: 1, inFlight: 16)
        ledger.subscribed(subscriber: 0, topic: 0, subscription: 1)
        for _ in 0..<10 { _ = ledger.publish(by: 0) }
        for n in [0, 3, 4, 9] { _ = ledger.delivered(publication: UInt64(n), subscriber: 0, subscription: 1) }
        XCTAssertEqual(ledger.gaps, 2 + 4)
        XCTAssertNil(ledger.wrongDeliveries, "lost events are loss, not wrong deliveries")
    }

    func testWrongSubscriptionIdAndUnknownPublicationAreWrong() {
        let ledger = DeliveryLedger(rule: .broadcast, subscribers: 1, publishers: 1, inFlight: 16)
        ledger.subscribed(subscriber: 0, topic: 0, subscription: 55)
        _ = ledger.publish(by: 0)
        XCTAssertTrue(ledger.delivered(publication: 0, subscriber: 0, subscription: 56))
        XCTAssertFalse(ledger.delivered(publication: 5, subscriber: 0, subscription: 55))
        XCTAssertEqual(ledger.wrongDeliveries,
                       "1 of publications never published, 1 with a subscription id not given for its topic")
    }

    func testManyTopicsRouteToTheTopicsSubscriberOnItsOwnSubscriptionId() {
        // 5 topics over 2 subscribers: topics 0, 2, 4 at subscriber 0; 1, 3 at subscriber 1.
        let ledger = DeliveryLedger(rule: .owner(topics: 5), subscribers: 2, publishers: 1, topics: 5, inFlight: 64)
        XCTAssertEqual(ledger.deliveriesPerPublication, 1)
        for t in 0..<5 { ledger.subscribed(subscriber: t % 2, topic: t, subscription: UInt64(1000 + t)) }
        for _ in 0..<12 { _ = ledger.publish(by: 0) }
        for n in 0..<12 {
            let topic = n % 5
            XCTAssertTrue(ledger.delivered(publication: UInt64(n), subscriber: topic % 2, subscription: UInt64(1000 + topic)))
        }
        XCTAssertNil(ledger.wrongDeliveries)
        // Publication 12 is topic 2 (subscriber 0): at subscriber 1, on topic 3's id, then again at 0 on topic 1's id.
        _ = ledger.publish(by: 0)
        _ = ledger.delivered(publication: 12, subscriber: 1, subscription: 1003)
        _ = ledger.delivered(publication: 12, subscriber: 0, subscription: 1001)
        XCTAssertEqual(ledger.misrouted, 1)
        XCTAssertEqual(ledger.duplicates, 1)
        XCTAssertEqual(ledger.wrongSubscription, 2)
    }

    func testSharedGroupAcceptsAnyMemberButOnlyOnce() {
        let ledger = DeliveryLedger(rule: .anyOne, subscribers: 3, publishers: 1, inFlight: 16)
        for s in 0..<3 { ledger.subscribed(subscriber: s, topic: 0, subscription: 9) }
        for _ in 0..<3 { _ = ledger.publish(by: 0) }
        XCTAssertTrue(ledger.delivered(publication: 0, subscriber: 2, subscription: 9))
        XCTAssertTrue(ledger.delivered(publication: 1, subscriber: 0, subscription: 9))
        XCTAssertTrue(ledger.delivered(publication: 2, subscriber: 0, subscription: 9))
        XCTAssertNil(ledger.wrongDeliveries)
        _ = ledger.delivered(publication: 1, subscriber: 1, subscription: 9)
        XCTAssertEqual(ledger.wrongDeliveries, "1 duplicates")
    }

    func testArrivalAfterItsSlotWasReusedIsUntrackedNotTimed() {
        let ledger = DeliveryLedger(rule: .broadcast, subscribers: 1, publishers: 1, inFlight: 1)
        ledger.subscribed(subscriber: 0, topic: 0, subscription: 1)
        for _ in 0...1024 { _ = ledger.publish(by: 0) }   // 1,024 slots: publication 1024 took 0's
        XCTAssertFalse(ledger.delivered(publication: 0, subscriber: 0, subscription: 1))
        XCTAssertEqual(ledger.untracked, 1)
    }
}
