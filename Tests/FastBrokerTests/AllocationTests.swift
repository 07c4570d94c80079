// The zero-allocation contract of the publish path (issue 3): after warm-up, publishing to N
// subscribers allocates nothing on the broker's loop thread. Counted with jemalloc's per-thread
// `thread.allocated`, sampled by the loop itself once per iteration (so the measurement adds
// no work to the measured thread). Fails if a steady-state publish allocates.

import BrokerConfig
import FastBroker
import Foundation
import XCTest

final class AllocationTests: XCTestCase {
    func testSteadyStatePublishToTenSubscribersAllocatesNothing() throws {
        try measurePublishAllocations(subscribeOptions: "{}", receives: { _ in true })
    }

    /// Filters are evaluated by the VM on the raw kwargs bytes: no allocation either.
    func testSteadyStatePublishWithFilteredSubscribersAllocatesNothing() throws {
        try measurePublishAllocations(
            subscribeOptions: ##"{"filter":"k >= :v AND begins_with(#s, :p)","filter_values":{":v":50,":p":"0123"},"filter_names":{"#s":"s"}}"##,
            receives: { $0 >= 50 })
    }

    /// A prefix subscription that reaches a denied topic is checked per delivered topic
    /// (Config/PatternPermission.swift); after the first, each check is a cache hit: no allocation.
    func testSteadyStatePublishToPerTopicCheckedSubscribersAllocatesNothing() throws {
        let permissions = [Permission(uri: "com.bench.secret", match: .exact, publish: true, subscribe: false),
                           Permission(uri: "", match: .prefix, publish: true, subscribe: true)]
        XCTAssertEqual(RoleConfig(name: "anonymous", permissions: permissions).subscribeVerdict(pattern: "com.bench.", match: .prefix), .perTopic)
        try measurePublishAllocations(
            subscribeOptions: #"{"match":"prefix"}"#, subscribeTopic: "com.bench.", permissions: permissions, receives: { _ in true })
    }

    /// Publishes `{"k": i, "s": "0123…"}` for i in 0..<100 per round; `receives(i)` says whether
    /// the subscribers' filter passes event i.
    private func measurePublishAllocations(
        subscribeOptions: String, subscribeTopic: String = "com.bench.topic",
        permissions: [Permission] = [Permission(uri: "", match: .prefix, publish: true, subscribe: true)],
        receives: (Int) -> Bool
    ) throws {
        guard Allocator.jemallocVersion != nil else {
            return XCTFail("jemalloc is not the allocator of the test process; the count would be meaningless")
        }
        let broker = try InProcessBroker(loops: 1, permissions: permissions)
        defer { broker.stop() }
        broker.server.sampleAllocations()

        let subscriberCount = 10
        let subscribers = try (0..<subscriberCount).map { _ in try RawSocketTestClient(port: broker.rawSocketPort) }
        for s in subscribers {
            try s.join()
            _ = try s.subscribe(subscribeTopic, options: subscribeOptions)
        }
        let publisher = try RawSocketTestClient(port: broker.rawSocketPort)
        try publisher.join()

        // Each round: `batch` publishes, then every subscriber reads all its events, so socket
        // buffers never fill (a full socket would make libuv queue a write, which may allocate).
        let batch = 100
        func round(_ n: Int, size: Int = batch) throws {
            for i in 0..<size {
                try publisher.send(#"[16,\#(n * batch + i + 1),{},"com.bench.topic",[\#(i)],{"k":\#(i % batch),"s":"0123456789abcdef0123456789abcdef"}]"#)
            }
            let expected = (0..<size).filter { receives($0 % batch) }.count
            for s in subscribers {
                for _ in 0..<expected {
                    let event = try s.receive()
                    XCTAssert(event.hasPrefix("[36,"), event)
                }
            }
        }
        // Warm-up: pools, queues and dictionaries reach size. One burst deeper than any measured
        // round makes sure no later round needs a bigger outbound queue or more pooled buffers.
        for n in 0..<20 { try round(n) }
        try round(20, size: 4 * batch)
        for n in 24..<30 { try round(n) }
        Thread.sleep(forTimeInterval: 0.05)
        let before = broker.server.allocatedBytes(loop: 0)
        let rounds = 50
        for n in 30..<(30 + rounds) { try round(n) }
        Thread.sleep(forTimeInterval: 0.05)
        let after = broker.server.allocatedBytes(loop: 0)
        let publishes = rounds * batch
        print("allocation test: \(after - before) bytes allocated by the loop thread over \(publishes) publishes to \(subscriberCount) subscribers")
        XCTAssertEqual(after - before, 0, "steady-state publishing allocated \(Double(after - before) / Double(publishes)) bytes per publish")
    }
}
