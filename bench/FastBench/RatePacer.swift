// Publishing at a fixed rate without coordinated omission. Publication k is SCHEDULED at
// start + k/rate; the run sends every publication whose scheduled time has passed (a catch-up loop
// on every loop iteration, which PollSpinner keeps from blocking) and stamps it with its scheduled
// time, not the time it left. A publication held back — by the window of outstanding deliveries,
// a backed-up socket or a late loop iteration — is sent late and its latency includes the wait; it
// is never skipped. So a broker that stalls for 10 ms shows 10 ms of latency on every publication
// that should have gone out meanwhile, as a user publishing at that rate would see.

struct RatePacer {
    let start: UInt64
    let rate: Int
    /// Publications sent so far. Owned by the loop thread, like every field here.
    private(set) var sent = 0
    /// Sent more than `lateThreshold` after their scheduled time.
    private(set) var lateSends = 0
    /// The largest delay between a publication's scheduled time and its sending, nanoseconds.
    private(set) var maxSendDelay: UInt64 = 0
    static let lateThreshold: UInt64 = 100_000

    init(start: UInt64, rate: Int) {
        self.start = start
        self.rate = max(1, rate)
    }

    /// Scheduled send time of publication k (integer arithmetic: no drift over long runs).
    @inline(__always)
    func scheduledTime(_ k: Int) -> UInt64 {
        start &+ UInt64(k) &* 1_000_000_000 / UInt64(rate)
    }

    /// The scheduled time of the next publication when it is due at `now` and scheduled before
    /// `end` (nil = no end), else nil.
    @inline(__always)
    func nextDue(now: UInt64, end: UInt64?) -> UInt64? {
        let scheduled = scheduledTime(sent)
        guard scheduled <= now else { return nil }
        if let end, scheduled >= end { return nil }
        return scheduled
    }

    /// The next publication (scheduled at `scheduled`) went out at `now`.
    @inline(__always)
    mutating func didSend(scheduled: UInt64, now: UInt64) {
        sent += 1
        let delay = now > scheduled ? now - scheduled : 0
        if delay > RatePacer.lateThreshold { lateSends += 1 }
        if delay > maxSendDelay { maxSendDelay = delay }
    }
}
