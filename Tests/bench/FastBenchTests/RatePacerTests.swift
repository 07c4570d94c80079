// Pacing without coordinated omission: publications keep their scheduled times however late they
// go out, none is skipped after a stall, and late sends are counted.

import XCTest
@testable import FastBench

final class RatePacerTests: XCTestCase {
    func testScheduleIsExactAtSubMillisecondSpacing() {
        let pacer = RatePacer(start: 1_000, rate: 5000)
        XCTAssertEqual(pacer.scheduledTime(0), 1_000)
        XCTAssertEqual(pacer.scheduledTime(1), 201_000, "5,000/s = one every 200 µs")
        XCTAssertEqual(pacer.scheduledTime(5000), 1_000_001_000, "no drift after a second")
        XCTAssertEqual(RatePacer(start: 0, rate: 3).scheduledTime(2), 666_666_666)
    }

    func testNothingIsDueBeforeItsTime() {
        let pacer = RatePacer(start: 1_000_000, rate: 1000)
        XCTAssertEqual(pacer.nextDue(now: 1_000_000, end: nil), 1_000_000)
        var later = pacer
        later.didSend(scheduled: 1_000_000, now: 1_000_000)
        XCTAssertNil(later.nextDue(now: 1_999_999, end: nil))
        XCTAssertEqual(later.nextDue(now: 2_000_000, end: nil), 2_000_000)
    }

    func testAStalledSenderCatchesUpWithScheduledStampsAndSkipsNothing() {
        // Held back for 10 ms at 5,000/s: 51 publications are due and each keeps its own time.
        var pacer = RatePacer(start: 0, rate: 5000)
        let now: UInt64 = 10_000_000
        var stamps: [UInt64] = []
        while let scheduled = pacer.nextDue(now: now, end: nil) {
            stamps.append(scheduled)
            pacer.didSend(scheduled: scheduled, now: now)
        }
        XCTAssertEqual(stamps.count, 51)
        XCTAssertEqual(stamps, (0...50).map { UInt64($0) * 200_000 })
        XCTAssertEqual(pacer.lateSends, 50, "all but the one scheduled at `now` left more than 100 µs late")
        XCTAssertEqual(pacer.maxSendDelay, 10_000_000)
    }

    func testDrainSendsOnlyWhatWasScheduledInsideTheWindow() {
        var pacer = RatePacer(start: 0, rate: 1000)
        var sent = 0
        while let scheduled = pacer.nextDue(now: 50_000_000, end: 5_000_000) {
            pacer.didSend(scheduled: scheduled, now: 50_000_000)
            sent += 1
        }
        XCTAssertEqual(sent, 5, "scheduled at 0, 1, 2, 3, 4 ms; not the one at the window's end")
    }
}
