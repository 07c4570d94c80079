// FilterMemberLookup: the keys a program reads from one map, grouped and pre-digested at compile
// time (length, first eight bytes, hash), so a document can resolve them all in one pass over
// the map: each key is recorded the first time the scan passes it (first occurrence wins), the
// scan stops as soon as the key the VM asked for is found, and the next request for the same
// map resumes where it stopped. Every byte of a map is thus scanned at most once per event,
// however many of its keys the program reads, and no further than the last key it needs.

/// One key of a member group, as the compiler lays it out.
struct MemberKey {
    /// The VM register (path slot) this key resolves.
    var slot: Int32
    /// The key's UTF-8 bytes.
    var key: PoolBytes
    var hash: UInt64
    /// Bytes 0 ..< 8 and 8 ..< 16 of the key as little-endian words, zero-padded.
    var prefix: UInt64
    var prefix2: UInt64
}

/// The key steps of all paths that share one parent (the top-level map or one path slot).
struct MemberGroup {
    /// Parent slot, or -1 for the top-level map.
    var parent: Int32
    /// This group's keys: memberKeys[keysStart ..< keysStart + keysCount].
    var keysStart: Int32
    var keysCount: Int32
    /// Bit min(length, 63) is set for every key length in the group: a one-instruction reject.
    var lengthMask: UInt64
}

extension MemberKey {
    /// The little-endian word of bytes `from ..< from + 8` of `key`, zero-padded.
    static func word(of key: [UInt8], from: Int) -> UInt64 {
        var word: UInt64 = 0
        for (i, b) in key.dropFirst(from).prefix(8).enumerated() { word |= UInt64(b) << (8 * UInt64(i)) }
        return word
    }
}

/// One map's key group during one evaluation: the keys to look for, where the results go (the
/// VM's registers) and where the document's scan of the map stands. Handed to
/// `FilterDocument.resolve(_:of:in:)`; valid only during that call.
public struct FilterMemberLookup {
    let keys: UnsafePointer<MemberKey>
    /// Number of keys in the group; keys are distinct and indexed 0 ..< count.
    public let count: Int
    let lengthMask: UInt64
    let pool: UnsafeRawPointer
    let registers: UnsafeMutablePointer<FilterPosition>
    let state: UnsafeMutablePointer<FilterPosition>

    init(
        group: MemberGroup, keys: UnsafePointer<MemberKey>, pool: UnsafeRawPointer,
        registers: UnsafeMutablePointer<FilterPosition>, state: UnsafeMutablePointer<FilterPosition>
    ) {
        self.keys = keys + Int(group.keysStart)
        self.count = Int(group.keysCount)
        self.lengthMask = group.lengthMask
        self.pool = pool
        self.registers = registers
        self.state = state
    }

    /// Key `k`'s UTF-8 bytes (decoded: escapes in the document must be decoded to compare).
    @inline(__always) public func key(_ k: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pool + Int(keys[k].key.start), count: Int(keys[k].key.count))
    }

    /// `FilterKeyHash.hash(key(k))`, precomputed.
    @inline(__always) public func hash(_ k: Int) -> UInt64 {
        keys[k].hash
    }

    /// Whether some key of the group is `length` bytes long (cheap pre-check before comparing).
    @inline(__always) public func mayHaveKey(length: Int) -> Bool {
        lengthMask & (1 &<< UInt64(min(length, 63))) != 0
    }

    /// The key equal to the `length` (< 16) bytes whose little-endian words, zero-padded, are
    /// `low` (bytes 0 ..< 8) and `high` (bytes 8 ..< 16); -1 when none is.
    @inline(__always) public func index(shortKey length: Int, low: UInt64, high: UInt64) -> Int {
        var k = 0
        while k < count {
            let key = keys[k]
            if Int(key.key.count) == length && key.prefix == low && key.prefix2 == high { return k }
            k &+= 1
        }
        return -1
    }

    /// The key equal to `bytes` (already decoded), or nil.
    @inline(__always) public func index(of bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        guard mayHaveKey(length: n) else { return nil }
        for k in 0..<count where Int(keys[k].key.count) == n {
            let candidate = pool + Int(keys[k].key.start)
            var i = 0
            while i < n && candidate.load(fromByteOffset: i, as: UInt8.self) == bytes[i] { i += 1 }
            if i == n { return k }
        }
        return nil
    }

    /// Whether key `k` already has a result (found, or known missing).
    @inline(__always) public func isResolved(_ k: Int) -> Bool {
        registers[Int(keys[k].slot)].offset != FilterPosition.unresolved.offset
    }

    /// Records key `k`'s value position (nil: the map has no such key). A key that already has a
    /// result keeps it, so the first occurrence of a duplicate key wins; returns whether this
    /// call recorded it.
    @discardableResult
    @inline(__always) public func record(_ k: Int, _ position: FilterPosition?) -> Bool {
        let slot = Int(keys[k].slot)
        guard registers[slot].offset == FilterPosition.unresolved.offset else { return false }
        registers[slot] = position ?? FilterPosition.missing
        return true
    }

    /// The scan reached the end of the map: every key without a result is missing.
    @inline(__always) public func finish() {
        for k in 0..<count { record(k, nil) }
    }

    /// Where the document's scan of this map stopped (document-defined; offsets must be >= 0),
    /// nil before the first `resolve` of this evaluation.
    @inline(__always) public var resume: FilterPosition? {
        get { state.pointee.offset < 0 ? nil : state.pointee }
        nonmutating set { state.pointee = newValue ?? FilterPosition.unresolved }
    }
}
