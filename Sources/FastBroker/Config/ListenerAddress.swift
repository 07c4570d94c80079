// ListenerAddress: a listener host parsed as a numeric IP address, so the configuration can
// refuse host names (libuv binds numeric addresses) and spot listeners that would collide.

import Foundation

struct ListenerAddress: Equatable {
    enum Family { case ipv4, ipv6 }

    let family: Family
    let bytes: [UInt8]  // 4 or 16 bytes, network order

    init?(host: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            family = .ipv4
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            family = .ipv6
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// "0.0.0.0" or "::".
    var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }

    /// Whether binding both on one port would collide: the same address; "0.0.0.0" with any IPv4
    /// address; "::" (dual-stack by default on Linux) with anything.
    func overlaps(_ other: ListenerAddress) -> Bool {
        if self == other { return true }
        if family == .ipv6 && isUnspecified || other.family == .ipv6 && other.isUnspecified { return true }
        return family == other.family && (isUnspecified || other.isUnspecified)
    }
}
