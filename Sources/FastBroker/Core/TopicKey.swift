// A topic URI as UTF-8 bytes, hashable by content. A publish looks subscriptions up with a key
// that borrows the bytes of the message being dispatched (no String, no allocation); stored
// keys own a copy made at SUBSCRIBE time. Equality is byte equality, never Swift's canonical
// equivalence: "caf\u{E9}" and "cafe\u{301}" are different URIs (issue 9).

/// @unchecked Sendable: the bytes are never written after the key is made; a stored key's bytes
/// live in its own immutable Storage, and a lookup key never leaves the dispatch that lends it.
///
/// A key carries its bytes' hash (TopicHash with the process's secret seed), computed once when
/// the key is made: a publication hashes its topic once for both of its lookups (the publisher's
/// permission cache and the router's index, via `Publication.topicHash`), and each table only
/// mixes its own seed into the stored value.
public struct TopicKey: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// The bytes; valid as long as `storage` (stored keys) or the borrowed message (lookups).
    let bytes: UnsafeRawBufferPointer
    /// TopicHash.value(bytes): equal bytes, equal hash.
    let hash: UInt64
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
        self.init(borrowing: bytes, hash: TopicHash.value(bytes))
    }

    /// A lookup key whose hash the caller already has (`TopicHash.value(bytes)`, e.g. a
    /// publication's `topicHash`).
    @inline(__always)
    init(borrowing bytes: UnsafeRawBufferPointer, hash: UInt64) {
        self.bytes = bytes
        self.hash = hash
        storage = nil
    }

    /// A key that owns a copy of `text`'s UTF-8.
    init(owning text: String) {
        var copy = text
        let storage = copy.withUTF8 { Storage(copying: UnsafeRawBufferPointer($0)) }
        self.storage = storage
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.pointer)[0..<text.utf8.count])
        hash = TopicHash.value(bytes)
    }

    /// A key that owns a copy of `bytes`.
    init(copying bytes: UnsafeRawBufferPointer) {
        let storage = Storage(copying: bytes)
        self.storage = storage
        self.bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.pointer)[0..<bytes.count])
        hash = TopicHash.value(bytes)
    }

    /// The hash first (unequal keys almost always differ there), then the length, then the bytes.
    @inline(__always)
    public static func == (a: TopicKey, b: TopicKey) -> Bool {
        a.hash == b.hash && a.bytes.count == b.bytes.count && sameBytes(a.bytes, b.bytes)
    }

    /// Byte equality of two runs of the same length. Topics are short: whole-word compares, the
    /// last word overlapping the one before it, cost fewer instructions than a call to memcmp,
    /// which long runs still get.
    @inline(__always)
    private static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        guard n >= 8 else { return sameShortBytes(a, b) }
        guard n <= 64 else { return memcmp(a.baseAddress!, b.baseAddress!, n) == 0 }
        var i = 0
        while n &- i > 16 {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i &+= 8
        }
        // The last 8…16 bytes: the word at `i` and the final word (they may overlap), in one test.
        let first = a.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        let last = a.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        return first | last == 0
    }

    /// `sameBytes` for 0…7 bytes: two overlapping loads of 4, 2 or 1 bytes.
    @inline(__always)
    private static func sameShortBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        if n >= 4 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        if n >= 2 {
            return a.loadUnaligned(as: UInt16.self) == b.loadUnaligned(as: UInt16.self)
                && a.loadUnaligned(fromByteOffset: n &- 2, as: UInt16.self) == b.loadUnaligned(fromByteOffset: n &- 2, as: UInt16.self)
        }
        return n == 0 || a[0] == b[0]
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What Dictionary and Set hash with: the stored hash mixed with the table's seed, in place
    /// of a Hasher (SipHash setup and finalization cost ~500 instructions per lookup).
    /// `hash(into:)` remains for keys that embed a TopicKey (SubscriptionKey), which are hashed
    /// off the per-publication path.
    @inline(__always)
    public func _rawHashValue(seed: Int) -> Int {
        TopicHash.reseeded(hash, seed: UInt64(UInt(bitPattern: seed)))
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { string }
}

/// A keyed 64-bit hash of a byte string in the style of wyhash: 8-byte words folded through
/// 64×64→128-bit multiplies. The key is secret and random per process (drawn from Swift's
/// per-process Hasher seed), so clients cannot choose topics that collide without knowing it;
/// each table then mixes its own seed in (`reseeded`).
enum TopicHash {
    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    private static let k0: UInt64 = 0xa076_1d64_78bd_642f
    private static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    private static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3

    /// This process's secret key: one SipHash of a constant under Swift's random per-process seed.
    static let processSeed: UInt64 = {
        var hasher = Hasher()
        hasher.combine(k2)
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }()

    /// `hash` (a `value`) mixed with a hash table's seed.
    @inline(__always)
    static func reseeded(_ hash: UInt64, seed: UInt64) -> Int {
        Int(truncatingIfNeeded: mix(hash ^ seed ^ k0, k1))
    }

    /// The hash of `bytes` (out of line: it is called from hot paths that must stay small
    /// enough for the optimizer to inline what they call).
    @inline(never)
    static func value(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        value(bytes, seed: processSeed)
    }

    /// The same for a caller that keeps its own copy of `processSeed`, which saves reading the
    /// lazily initialised global (a swift_once call) per hash.
    @inline(never)
    static func value(_ bytes: UnsafeRawBufferPointer, processSeed seed: UInt64) -> UInt64 {
        value(bytes, seed: seed)
    }

    @inline(__always)
    private static func value(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = bytes.count
        var h = mix(seed ^ k0, UInt64(truncatingIfNeeded: n) ^ k1)
        var i = 0
        while n &- i >= 16 {
            // The secret goes into both factors: with a public constant alone, a second word
            // equal to it would zero the product and erase everything hashed before it,
            // whatever the key (topics colliding in every process).
            h = mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1 ^ h,
                    bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ k2 ^ seed)
            i &+= 16
        }
        if n &- i >= 8 {
            h = mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1 ^ h, k2)
            i &+= 8
        }
        var tail: UInt64 = 0
        if i < n && n >= 8 {
            // The last 1...7 bytes: one load of the final word, the bytes already folded shifted out.
            tail = bytes.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) &>> UInt64(truncatingIfNeeded: (8 &- (n &- i)) &* 8)
        } else {
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(bytes[i]) &<< shift
                shift &+= 8
                i += 1
            }
        }
        return mix(h ^ tail ^ k0, k1 ^ UInt64(truncatingIfNeeded: n))
    }
}

import Glibc   // memcmp: libc's vectorised byte compare, for topics longer than a few words
