// Sessions on different loops exchange events through the cross-loop queues, and identical
// subscriptions on different loops share one subscription id.

import FastBroker
import Foundation
import XCTest

final class CrossLoopTests: XCTestCase {
    func testSessionsOnTwoLoopsExchangeEventsAndShareSubscriptionIDs() throws {
        let broker = try InProcessBroker(loops: 2)
        defer { broker.stop() }
        XCTAssertEqual(broker.server.loopCount, 2)
        // SO_REUSEPORT spreads connections over the loops; with 16 subscribers both loops get some
        // (the chance that all land on one loop is 2^-15).
        let subscribers = try (0..<16).map { _ in try RawSocketTestClient(port: broker.rawSocketPort) }
        var ids = Set<UInt64>()
        for s in subscribers {
            try s.join()
            ids.insert(try s.subscribe("com.cross.loop"))
        }
        XCTAssertEqual(ids.count, 1, "identical subscriptions share one id across loops")
        let publishers = try (0..<4).map { _ in try RawSocketTestClient(port: broker.rawSocketPort) }
        for p in publishers { try p.join() }
        let perPublisher = 250
        for (n, p) in publishers.enumerated() {
            for i in 0..<perPublisher {
                try p.send(#"[16,\#(i + 1),{},"com.cross.loop",[\#(n),\#(i)]]"#)
            }
        }
        for s in subscribers {
            var next = [Int](repeating: 0, count: publishers.count)
            for _ in 0..<(publishers.count * perPublisher) {
                let event = try s.receiveArray()
                XCTAssertEqual(event[0] as? Int, 36)
                let args = event[4] as! [Int]
                XCTAssertEqual(args[1], next[args[0]], "events of one publisher arrive in order, exactly once")
                next[args[0]] += 1
            }
            XCTAssertEqual(next, [Int](repeating: perPublisher, count: publishers.count))
        }
    }
}
