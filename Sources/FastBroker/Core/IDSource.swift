// Random WAMP ids (session and publication ids: uniform over [1, 2^53]) for one loop, drawn from
// OpenSSL's CSPRNG in 4 KiB batches so a publication id costs a few instructions, not a call
// into OpenSSL. Owned by its loop thread.

import BrokerSecurity

final class IDSource {
    private static let batch = 512
    private let pool = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: batch)
    /// Unused ids left in `pool`, taken from the end.
    private var remaining = 0

    deinit { pool.deallocate() }

    func next() -> UInt64 {
        if remaining == 0 {
            Crypto.fillRandom(UnsafeMutableRawBufferPointer(pool))
            remaining = Self.batch
        }
        remaining -= 1
        // Low 53 bits of 64 random bits are uniform over [0, 2^53 - 1]; +1 shifts to [1, 2^53].
        return (pool[remaining] & (maxWampID - 1)) + 1
    }
}
