// ClusterGroupForward: the fallback hop of a shared group across nodes (ClusterGroup.swift has the
// scheme). NATS' queue subscription hands a publication to one member node; when none of that
// node's members accepts it (filters, exclude/eligible lists), the node passes it to the next member
// node not yet tried, on that node's own forward subject on the group link. The message:
//
//   "FG" version:u8 match:u8 tried:u8
//   realm, pattern, name: u16 length + UTF-8 bytes each   (the shared group)
//   tried × (u16 length + node name)                       (every node that found no acceptor)
//   the ClusterEnvelope bytes of the publication           (the rest)
//
// Bounded: a node is forwarded to only if it is not in `tried`, and every forwarder adds itself,
// so a publication visits each member node at most once (hops ≤ member nodes, no loops), and
// `tried` never grows past `maxTried`. Decoding checks every length: these bytes are untrusted.

import BrokerConfig

public struct ClusterGroupForward: Equatable, Sendable {
    public static let subjectRoot = "fastbroker.gf"
    /// Longest chain of nodes a forward may carry (a cluster of more member nodes still forwards,
    /// but an event no acceptor was found for after this many nodes is counted as unaccepted).
    public static let maxTried = 64

    public var group: ClusterGroup
    public var tried: [String]
    public var envelope: [UInt8]

    public init(group: ClusterGroup, tried: [String], envelope: [UInt8]) {
        self.group = group
        self.tried = tried
        self.envelope = envelope
    }

    /// The one subject every node subscribes for forwards to it (whatever the group, so a node
    /// whose last member just left still passes a forward on instead of NATS dropping it).
    public static func subject(node: String) -> String {
        var subject = Array(subjectRoot.utf8)
        subject.append(UInt8(ascii: "."))
        ClusterSubject.appendEscaped(node.utf8, to: &subject)
        return String(decoding: subject, as: UTF8.self)
    }

    /// The member node to try after `me`, given every member node the cluster knows of and the
    /// nodes already tried: the first untried one after `me` in name order (wrapping), so
    /// forwards from different nodes spread instead of all landing on the smallest name. Nil
    /// when every member node has been tried (or the chain is at `maxTried`).
    public static func nextNode(after me: String, members: [String], tried: [String]) -> String? {
        guard tried.count < maxTried else { return nil }
        let candidates = Set(members).subtracting(tried).subtracting([me]).sorted()
        return candidates.first(where: { $0 > me }) ?? candidates.first
    }

    private static let magic: [UInt8] = [UInt8(ascii: "F"), UInt8(ascii: "G")]
    private static let version: UInt8 = 1
    private static let matches = Array(MatchPolicy.allCases)

    public func encode() throws(ClusterEnvelope.EnvelopeError) -> [UInt8] {
        guard tried.count <= Self.maxTried else { throw .fieldTooLong(field: "tried nodes") }
        var out = Self.magic
        out.append(Self.version)
        out.append(UInt8(Self.matches.firstIndex(of: group.match) ?? 0))
        out.append(UInt8(tried.count))
        for (field, text) in [("realm", group.realm), ("pattern", group.pattern), ("name", group.name)] + tried.map({ ("tried node", $0) }) {
            guard text.utf8.count <= Int(UInt16.max) else { throw .fieldTooLong(field: field) }
            LittleEndianBytes.append(UInt64(text.utf8.count), bytes: 2, to: &out)
            out += text.utf8
        }
        out += envelope
        return out
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(ClusterEnvelope.EnvelopeError) -> ClusterGroupForward {
        guard bytes.count >= 5, bytes[0] == magic[0], bytes[1] == magic[1] else { throw .notAnEnvelope }
        guard bytes[2] == version else { throw .unsupportedVersion(bytes[2]) }
        guard Int(bytes[3]) < matches.count else { throw .truncated(field: "match") }
        guard Int(bytes[4]) <= maxTried else { throw .fieldTooLong(field: "tried nodes") }
        var reader = LittleEndianReader(bytes)
        reader.skip(5)
        let realm = try reader.text(lengthBytes: 2, "realm")
        let pattern = try reader.text(lengthBytes: 2, "pattern")
        let name = try reader.text(lengthBytes: 2, "name")
        var tried: [String] = []
        for _ in 0..<Int(bytes[4]) { tried.append(try reader.text(lengthBytes: 2, "tried node")) }
        let group = ClusterGroup(realm: realm, pattern: pattern, match: matches[Int(bytes[3])], name: name, kind: .shared)
        return ClusterGroupForward(group: group, tried: tried, envelope: reader.rest())
    }
}
