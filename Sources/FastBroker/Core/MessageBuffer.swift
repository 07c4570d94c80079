// An encoded outgoing WAMP message, shared by reference between every connection that sends it.
// An EVENT is encoded once per subscription and the same MessageBuffer is queued on each
// subscriber's connection; transport framing headers are per connection and live in the
// outbound queue, so the payload bytes are never copied per subscriber.

final class MessageBuffer {
    /// Encoded message bytes. Written once by the encoder, then read-only while queued.
    var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }
}
