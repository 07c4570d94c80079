// FilterDocument: the cursor abstraction the VM reads events through. A document hands out
// opaque positions into its own bytes and answers small questions about them (kind, scalar
// value, children, member by key). The VM never sees the encoding, so a MessagePack cursor
// plugs in by conforming here. Every requirement must be allocation-free: it runs per event.
// Two requirements are optional fast paths with default implementations built on the others:
// one-pass member lookup (`resolve(_:of:in:)`, see FilterMemberLookup.swift) and contiguous
// string bytes (`contiguousString(at:)`).

/// DynamoDB attribute types a JSON/MessagePack document can produce (see FilterValue.swift).
public enum FilterKind: UInt8, Sendable, CaseIterable {
    case null, bool, number, string, list, map

    /// DynamoDB's name for the type, as used by attribute_type.
    public var dynamoName: String {
        switch self {
        case .null: return "NULL"
        case .bool: return "BOOL"
        case .number: return "N"
        case .string: return "S"
        case .list: return "L"
        case .map: return "M"
        }
    }
}

/// An opaque place in a document. Its meaning belongs to the document type (JSONFilterDocument:
/// `offset` = byte offset of the value, `aux` = byte offset of the member's key or -1).
public struct FilterPosition: Hashable, Sendable {
    public var offset: Int32
    public var aux: Int32

    @inlinable public init(offset: Int32, aux: Int32) {
        self.offset = offset
        self.aux = aux
    }

    /// Register states of the VM (documents only hand out offsets >= 0).
    static let unresolved = FilterPosition(offset: -2, aux: 0)
    static let missing = FilterPosition(offset: -1, aux: 0)
}

/// A read-only view of one event payload (the kwargs map) that the VM evaluates paths against.
public protocol FilterDocument {
    /// Iterates the UTF-8 bytes of a string value (escapes already decoded). Must be a cheap
    /// value type: the VM copies it to remember a place (substring search).
    associatedtype StringBytes: IteratorProtocol where StringBytes.Element == UInt8

    /// The top-level map, or nil when there is none (then every path is missing).
    var root: FilterPosition? { get }
    func kind(at position: FilterPosition) -> FilterKind
    /// Only called when kind is .bool.
    func bool(at position: FilterPosition) -> Bool
    /// Only called when kind is .number; nil when the number is not a DynamoDB N.
    func number(at position: FilterPosition) -> FilterNumber?
    /// Only called when kind is .string.
    func stringBytes(at position: FilterPosition) -> StringBytes
    /// The value of member `key` (UTF-8, decoded) in the map at `map`; `hash` is
    /// `FilterKeyHash.hash(key)`, precomputed at compile time for documents that index by hash.
    func member(of map: FilterPosition, key: UnsafeRawBufferPointer, hash: UInt64) -> FilterPosition?
    /// First element of a list, or first member value of a map; nil when empty.
    func firstChild(of container: FilterPosition) -> FilterPosition?
    /// The element or member value after `child` in the same container; nil at the end.
    func nextChild(after child: FilterPosition) -> FilterPosition?
    /// The key of a map member returned by firstChild/nextChild/member.
    func keyBytes(of member: FilterPosition) -> StringBytes
    /// Element `index` of the list at `list` (default: walk the children).
    func element(_ index: Int, of list: FilterPosition) -> FilterPosition?
    /// Number of elements or members (default: walk the children).
    func childCount(of container: FilterPosition) -> Int
    /// Resolves key `wanted` of `lookup` in the map at `map`: records its value (or its absence)
    /// with `lookup.record`. A document that scans may record the group's other keys it passes
    /// on the way and resume later where it stopped (`lookup.resume`), so that all the keys a
    /// program reads from one map cost one pass. Default: `member(of:key:hash:)` for `wanted`.
    func resolve(_ wanted: Int, of map: FilterPosition, in lookup: FilterMemberLookup)
    /// The string value's UTF-8 bytes when the document holds them verbatim (JSON: no escapes),
    /// else nil (callers then iterate `stringBytes`). Only called when kind is .string.
    /// The buffer points into the document. Default: nil.
    func contiguousString(at position: FilterPosition) -> UnsafeRawBufferPointer?
}

extension FilterDocument {
    @inline(__always)
    public func element(_ index: Int, of list: FilterPosition) -> FilterPosition? {
        child(index, of: list)
    }

    /// Child `index` of a container, found by walking from the first (each document's `element`
    /// after its own checks).
    @inline(__always)
    public func child(_ index: Int, of container: FilterPosition) -> FilterPosition? {
        var child = firstChild(of: container)
        var remaining = index
        while let current = child, remaining > 0 {
            child = nextChild(after: current)
            remaining -= 1
        }
        return child
    }

    @inline(__always)
    public func resolve(_ wanted: Int, of map: FilterPosition, in lookup: FilterMemberLookup) {
        lookup.record(wanted, member(of: map, key: lookup.key(wanted), hash: lookup.hash(wanted)))
    }

    @inline(__always)
    public func contiguousString(at position: FilterPosition) -> UnsafeRawBufferPointer? {
        nil
    }

    @inline(__always)
    public func childCount(of container: FilterPosition) -> Int {
        var count = 0
        var child = firstChild(of: container)
        while let current = child {
            count += 1
            child = nextChild(after: current)
        }
        return count
    }
}

/// FNV-1a over a key's UTF-8 bytes: the pre-computed hash handed to `member(of:key:hash:)`.
public enum FilterKeyHash {
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
