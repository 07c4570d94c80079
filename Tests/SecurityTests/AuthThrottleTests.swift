// The failed-authentication throttle (SPEC §4): delays grow as min(cap, base·2^failures) per
// address and per authid, decay with quiet time, a success clears only its authid, and the
// tables stay bounded under floods of distinct keys without forgetting the targeted account.

import XCTest

@testable import BrokerSecurity

final class AuthThrottleTests: XCTestCase {
    private func throttle(capacity: Int = 4096) -> AuthThrottle {
        var policy = AuthThrottle.Policy()
        (policy.baseMilliseconds, policy.capMilliseconds, policy.halfLifeMilliseconds, policy.capacity) = (100, 2_000, 30_000, capacity)
        return AuthThrottle(policy: policy)
    }

    func testDelayGrowsPerAuthidUpToTheCap() {
        let t = throttle()
        // Each failure from another address: only the authid's count drives the delay.
        let delays = (0..<8).map { t.recordFailure(peer: "10.0.0.\($0):1000", authid: "alice", now: 1_000) }
        XCTAssertEqual(delays, [100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000])
    }

    func testDelayGrowsPerAddressAcrossAuthids() {
        let t = throttle()
        // A spray of distinct authids from one host (other ports): the address's count drives it.
        let delays = (0..<6).map { t.recordFailure(peer: "192.0.2.7:\(40_000 + $0)", authid: "user\($0)", now: 1_000) }
        XCTAssertEqual(delays, [100, 200, 400, 800, 1_600, 2_000])
    }

    func testFailuresDecayByHalfPerQuietHalfLife() {
        let t = throttle()
        for _ in 0..<4 { _ = t.recordFailure(peer: "10.0.0.1:1", authid: "alice", now: 0) }
        // 4 failures, one half-life later → 2: the next failure is held 100·2² ms.
        XCTAssertEqual(t.recordFailure(peer: "10.0.0.1:1", authid: "alice", now: 30_000), 400)
        // 3 failures at 30 s; four half-lives later nothing is left.
        XCTAssertEqual(t.recordFailure(peer: "10.0.0.1:1", authid: "alice", now: 30_000 + 4 * 30_000), 100)
    }

    func testSuccessClearsTheAuthidButNotTheAddress() {
        let t = throttle()
        for _ in 0..<3 { _ = t.recordFailure(peer: "10.0.0.1:1", authid: "alice", now: 0) }
        // The WELCOME after three failures is held as long as the third ABORT was.
        XCTAssertEqual(t.recordSuccess(authid: "alice", now: 10), 400)
        XCTAssertEqual(t.recordSuccess(authid: "alice", now: 20), 0)
        // alice from elsewhere starts over; the failing address does not.
        XCTAssertEqual(t.recordFailure(peer: "10.9.9.9:1", authid: "alice", now: 30), 100)
        XCTAssertEqual(t.recordFailure(peer: "10.0.0.1:2", authid: "bob", now: 40), 800)
    }

    func testFloodOfDistinctKeysStaysBoundedAndKeepsTheTarget() {
        let t = throttle(capacity: 64)
        for _ in 0..<6 { _ = t.recordFailure(peer: "203.0.113.1:1", authid: "alice", now: 0) }
        for i in 0..<20_000 {
            _ = t.recordFailure(peer: "198.51.\(i / 256 % 256).\(i % 256):1", authid: "spray-\(i)", now: 1)
        }
        let counts = t.entryCounts
        XCTAssertLessThanOrEqual(counts.addresses, 64)
        XCTAssertLessThanOrEqual(counts.authids, 64)
        // alice's six failures outrank the flood's single ones: she is still throttled at the cap.
        XCTAssertEqual(t.recordFailure(peer: "100.64.0.1:1", authid: "alice", now: 2), 2_000)
    }

    func testLongAuthidsCostNoMoreThanShortOnes() {
        let t = throttle()
        let huge = String(repeating: "x", count: 1 << 20)
        XCTAssertEqual(t.recordFailure(peer: "10.0.0.1:1", authid: huge, now: 0), 100)
        XCTAssertEqual(t.recordFailure(peer: "10.0.0.2:1", authid: huge, now: 0), 200)
        XCTAssertEqual(t.recordFailure(peer: "10.0.0.3:1", authid: huge + "y", now: 0), 100)
    }

    func testAddressKeyIsTheHostOrItsIPv6Slash64() {
        XCTAssertEqual(AuthThrottle.addressKey(peer: "127.0.0.1:5000"), "127.0.0.1")
        XCTAssertEqual(AuthThrottle.addressKey(peer: "[2001:db8:1:2::1]:80"), AuthThrottle.addressKey(peer: "[2001:db8:1:2:ffff::9]:81"))
        XCTAssertNotEqual(AuthThrottle.addressKey(peer: "[2001:db8:1:2::1]:80"), AuthThrottle.addressKey(peer: "[2001:db8:1:3::1]:80"))
        XCTAssertEqual(AuthThrottle.addressKey(peer: "[::ffff:10.1.2.3]:7"), "10.1.2.3")
        XCTAssertEqual(AuthThrottle.addressKey(peer: "[::1]:7"), "0:0:0:0:0:0:0:0::/64")
    }
}
