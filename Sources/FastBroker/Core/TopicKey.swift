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

    /// What Dictionary and Set hash with: TopicHash over the bytes with the table's seed, in
    /// place of a Hasher (SipHash setup and finalization cost ~500 instructions per lookup, and
    /// every publication looks its topic up twice). `hash(into:)` remains for keys that embed
    /// a TopicKey (SubscriptionKey), which are hashed off the per-publication path.
    public func _rawHashValue(seed: Int) -> Int {
        TopicHash.value(bytes, seed: UInt64(UInt(bitPattern: seed)))
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { string }
}

/// A seeded 64-bit hash of a byte string in the style of wyhash: 8-byte words folded through
/// 64×64→128-bit multiplies. The seed comes from the hash table (random per process), so
/// clients cannot choose topics that collide without knowing it.
enum TopicHash {
    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    private static let k0: UInt64 = 0xa076_1d64_78bd_642f
    private static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    private static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3

    @inline(__always)
    static func value(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> Int {
        let n = bytes.count
        var h = mix(seed ^ k0, UInt64(truncatingIfNeeded: n) ^ k1)
        var i = 0
        while n - i >= 16 {
            h = mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1 ^ h,
                    bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ k2)
            i += 16
        }
        if n - i >= 8 {
            h = mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1 ^ h, k2)
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(bytes[i]) &<< shift
            shift &+= 8
            i += 1
        }
        return Int(truncatingIfNeeded: mix(h ^ tail ^ k0, k1 ^ UInt64(truncatingIfNeeded: n)))
    }
}

import Glibc   // memcmp: libc's vectorised byte compare, on the per-publication lookup path
