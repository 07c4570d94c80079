// ISO-8601 UTC timestamps with milliseconds ("2026-11-25T17:22:19.123Z") for the WAMP-CRA
// challenge and the `created` of subscription meta events (Core/MetaEvents.swift). Done with
// integer calendar arithmetic rather than a DateFormatter: no locale, no shared formatter to
// guard across loop threads.

import Foundation

public enum ISO8601Timestamp {
    /// Now, in UTC.
    public static func now() -> String { format(Date()) }

    static func format(_ date: Date) -> String {
        format(millisecondsSince1970: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    static func format(millisecondsSince1970 ms: Int64) -> String {
        let (days, msOfDay) = floorDivide(ms, 86_400_000)
        let (year, month, day) = civilDate(daysSince1970: days)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let milli = msOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))."
            + "\(pad(milli, 3))Z"
    }

    /// Proleptic Gregorian (year, month, day) for a day count since 1970-01-01
    /// (H. Hinnant's `civil_from_days`).
    static func civilDate(daysSince1970 days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097                                                   // [0, 146096]
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365  // [0, 399]
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)    // [0, 365], from March 1
        let monthIndex = (5 * dayOfYear + 2) / 153                                         // [0, 11], March = 0
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
