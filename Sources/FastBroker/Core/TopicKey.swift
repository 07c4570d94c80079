// A topic URI as UTF-8 bytes, hashable by content. A publish looks subscriptions up with a key
// that borrows the bytes of the message being dispatched (no String, no allocation); stored
// keys own a copy made at SUBSCRIBE time. Equality is byte equality, never Swift's canonical
// equivalence: "caf\u{E9}" and "cafe\u{301}" are different URIs (issue 9).

/// @unchecked Sendable: the bytes are never written after the key is made; a stored key's bytes
/// live in its own immutable Storage, and a lookup key never leaves the dispatch that lends it.
public struct TopicKey: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// The bytes; valid as long as `storage` (stored keys) or the borrowed message (lookups).
    let bytes: UnsafeRawBufferPointer
    private let storage: Storage?

    private final class Storage {
        let pointer: UnsafeMutableRawBufferPointer
        init(copying source: UnsafeRawBufferPointer) {
            pointer = .allocate(byteCount: max(source.count, 1), alignment: 1)
            if source.count > 0 { pointer.copyMemory(from: source) }
        }
        deinit { pointer.deallocate() }
    }

    /// A lookup key over bytes that outlive it (the message being dispatched).
    init(borrowing bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        storage = nil
    }

    /// A key that owns a copy of `text`'s UTF-8.
    init(owning text: String) {
        var copy = text
        let storage = copy.withUTF8 { Storage(copying: UnsafeRawBufferPointer($0)) }
        self.storage = storage
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.pointer)[0..<text.utf8.count])
    }

    /// A key that owns a copy of `bytes`.
    init(copying bytes: UnsafeRawBufferPointer) {
        let storage = Storage(copying: bytes)
        self.storage = storage
        self.bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.pointer)[0..<bytes.count])
    }

    public static func == (a: TopicKey, b: TopicKey) -> Bool {
        a.bytes.count == b.bytes.count && (a.bytes.count == 0 || memcmp(a.bytes.baseAddress!, b.bytes.baseAddress!, a.bytes.count) == 0)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes: bytes)
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { string }
}

import Glibc   // memcmp: libc's vectorised byte compare, on the per-publication lookup path
