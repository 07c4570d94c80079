// ClusterSubject: WAMP (realm, URI) → NATS subject, for publications and for subscription
// interest. URI bytes can never turn into NATS syntax: every byte outside [A-Za-z0-9-] inside a
// component — including '_', the escape byte itself, and '*', '>', spaces, non-ASCII — becomes
// `_HH` (two upper-case hex digits), so the mapping is injective and each WAMP component is one
// NATS token. The realm is one token the same way (its dots escaped too).
//
//   publication  realm R, topic a.b.c         → fastbroker.ev.<R>.a.b.c
//   exact        a.b.c                        → fastbroker.ev.<R>.a.b.c     (same subject: exact)
//   wildcard     a..c (empty = any component) → fastbroker.ev.<R>.a.*.c     (token-wise: exact)
//   prefix       a.b.  (ends with a dot)      → fastbroker.ev.<R>.a.b.>     (exact: a topic has no
//                                                 empty component, so "a.b." + more = ≥1 more token)
//   prefix       a.bc  (ends mid-component)   → fastbroker.ev.<R>.a.>       (broader: WAMP prefix is
//                                                 a string prefix, '>' is token-wise; the receiving
//                                                 router's own match re-checks, see `isExact`)
//   prefix       ""    (every URI)            → fastbroker.ev.<R>.>
//
// Subjects longer than `maxBytes` are refused (NATS' default control-line limit is 4 KiB).

import BrokerConfig

public enum ClusterSubject {
    public static let eventRoot = "fastbroker.ev"
    /// Kept under nats-server's default `max_control_line` (4096) with room for the MSG verb,
    /// subscription id, reply and size.
    public static let maxBytes = 3_900

    /// The subject a publication on `topic` in `realm` goes out on; nil when it would be too long.
    public static func publication(realm: String, topic: String) -> String? {
        var subject = realmRoot(realm)
        for component in topic.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            subject.append(UInt8(ascii: "."))
            appendEscaped(component, to: &subject)
        }
        return finished(subject)
    }

    /// The subject a node subscribes to for a local subscription, and whether NATS matching on it
    /// is exactly the WAMP match (false: the subject is broader and receivers re-check).
    public static func interest(realm: String, pattern: String, match: MatchPolicy) -> (subject: String, isExact: Bool)? {
        var subject = realmRoot(realm)
        let components = pattern.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        switch match {
        case .exact, .wildcard:
            for component in components {
                subject.append(UInt8(ascii: "."))
                if component.isEmpty && match == .wildcard {
                    subject.append(UInt8(ascii: "*"))
                } else {
                    appendEscaped(component, to: &subject)
                }
            }
            return finished(subject).map { ($0, true) }
        case .prefix:
            // Whole components before the last one; the last (possibly partial, possibly empty
            // after a trailing dot) becomes '>'.
            for component in components.dropLast() {
                subject.append(UInt8(ascii: "."))
                appendEscaped(component, to: &subject)
            }
            subject.append(contentsOf: ".>".utf8)
            let endsOnBoundary = pattern.isEmpty || pattern.utf8.last == UInt8(ascii: ".")
            return finished(subject).map { ($0, endsOnBoundary) }
        }
    }

    /// `fastbroker.ev.<escaped realm>`
    static func realmRoot(_ realm: String) -> [UInt8] {
        var subject = Array(eventRoot.utf8)
        subject.reserveCapacity(64 + realm.utf8.count)
        subject.append(UInt8(ascii: "."))
        appendEscaped(realm.utf8, to: &subject)
        return subject
    }

    /// One NATS token for arbitrary bytes: plain bytes as they are, everything else as `_HH`.
    /// (An empty input gives an empty token; valid topics and realms have no empty component.)
    static func appendEscaped<C: Collection<UInt8>>(_ bytes: C, to subject: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in bytes {
            if byte != UInt8(ascii: "_") && ClusterConfig.isPlainSubjectByte(byte) {
                subject.append(byte)
            } else {
                subject.append(UInt8(ascii: "_"))
                subject.append(hex[Int(byte >> 4)])
                subject.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    private static func finished(_ subject: [UInt8]) -> String? {
        subject.count <= maxBytes ? String(decoding: subject, as: UTF8.self) : nil
    }
}
