// Random WAMP ids (session and publication ids: uniform over [1, 2^53]) for one loop, drawn from
// OpenSSL's CSPRNG in batches of 56 KiB (one OpenSSL request, whose limit is 64 KiB), so a
// publication id costs a few instructions, not a call into OpenSSL, and each call's fixed cost
// (locking, reseed checks) is spread over 8192 ids. Owned by its loop thread.

import BrokerSecurity

final class IDSource {
    private static let batch = 8192
    /// Each id takes 7 random bytes (56 bits, of which it keeps 53): an eighth fewer bytes to draw
    /// than whole words. Ids use disjoint bytes, so they stay independent.
    private static let bytesPerID = 7
    /// One byte past the last id's 7, so its 8-byte load stays inside the buffer.
    private let pool = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * bytesPerID + 1, alignment: 8)
    /// Unused ids left in `pool`, taken from the end.
    private var remaining = 0

    deinit { pool.deallocate() }

    func next() -> UInt64 {
        if remaining == 0 {
            Crypto.fillRandom(pool)
            remaining = Self.batch
        }
        remaining -= 1
        // The low 53 bits of a little-endian load come from the id's own 7 bytes: uniform over
        // [0, 2^53 - 1]; +1 shifts to [1, 2^53].
        let bits = UInt64(littleEndian: pool.loadUnaligned(fromByteOffset: remaining &* Self.bytesPerID, as: UInt64.self))
        return (bits & (maxWampID - 1)) + 1
    }
}
