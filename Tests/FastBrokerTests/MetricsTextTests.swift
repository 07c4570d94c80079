// The Prometheus text of `GET <metrics.path>` (Metrics.swift): per-loop gauges, counters by
// label, per-realm gauges, each under its HELP and TYPE lines, summed over loops where summed.

@testable import FastBroker
import XCTest

final class MetricsTextTests: XCTestCase {
    private func twoLoops() -> [LoopMetrics] {
        let loops = [LoopMetrics(), LoopMetrics()]
        loops[0].sessionsOpened.increment(by: 5)
        loops[0].sessionsClosed.increment(by: 2)
        loops[1].sessionsOpened.increment(by: 1)
        loops[0].outboundQueuedBytes.set(100)
        loops[1].receiveBufferBytes.set(4096)
        loops[1].cacheBytes.set(7)
        loops[0].limitRefusals[.maxConnections].increment()
        loops[1].limitRefusals[.maxConnections].increment(by: 2)
        loops[1].crossLoopDrops[.groupDelivery].increment(by: 3)
        loops[0].dropsOversize.increment()
        return loops
    }

    func testEachFamilyHasItsHeaderAndOneLinePerLoopLabelOrRealm() {
        let text = PrometheusText.render(loops: twoLoops(), inboxDepths: [0, 9], subscriptions: [3, 4],
                                         retained: [(realm: "realm\"1", bytes: 300, topics: 2)])
        let lines = text.split(separator: "\n").map(String.init)
        for expected in [
            "# HELP fastbroker_sessions Open WAMP sessions.", "# TYPE fastbroker_sessions gauge", "fastbroker_sessions 4",
            "fastbroker_drops_total{reason=\"oversize\"} 1",
            "# TYPE fastbroker_loop_outbound_queued_bytes gauge",
            "fastbroker_loop_outbound_queued_bytes{loop=\"0\"} 100", "fastbroker_loop_outbound_queued_bytes{loop=\"1\"} 0",
            "fastbroker_loop_receive_buffer_bytes{loop=\"1\"} 4096", "fastbroker_loop_cache_bytes{loop=\"1\"} 7",
            "fastbroker_loop_subscriptions{loop=\"1\"} 4",
            "fastbroker_loop_sessions{loop=\"0\"} 3", "fastbroker_loop_sessions{loop=\"1\"} 1",
            "fastbroker_loop_inbox_depth{loop=\"1\"} 9",
            "# TYPE fastbroker_limit_refusals_total counter",
            "fastbroker_limit_refusals_total{limit=\"max_connections\"} 3",
            "fastbroker_limit_refusals_total{limit=\"idle_timeout_ms\"} 0",
            "fastbroker_cross_loop_drops_total{kind=\"group_delivery\"} 3", "fastbroker_cross_loop_drops_total{kind=\"publication\"} 0",
            "# TYPE fastbroker_retained_bytes gauge", "fastbroker_retained_bytes{realm=\"realm\\\"1\"} 300",
            "fastbroker_retained_topics{realm=\"realm\\\"1\"} 2",
        ] {
            XCTAssertEqual(lines.filter { $0 == expected }.count, 1, expected)
        }
        XCTAssertEqual(lines.filter { $0.hasPrefix("fastbroker_limit_refusals_total{") }.count, RefusedLimit.allCases.count)
        XCTAssertEqual(lines.filter { $0.hasPrefix("# HELP ") }.count, lines.filter { $0.hasPrefix("# TYPE ") }.count)
    }
}
