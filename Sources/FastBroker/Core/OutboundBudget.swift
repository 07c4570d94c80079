// How far one connection's outbound queue may grow (SPEC §3 `max_session_outbound_bytes`, §6).
// Every byte queued for the client counts: EVENTs, replies, pongs, handshake bytes, TLS records.
//
//   0 ── lowWater ── softBound ─────────────── hardBound (= max_session_outbound_bytes)
//
// At the soft bound the broker stops reading the client (its replies can only grow while it
// sends), and reads again once writes bring the queue down to the low-water mark. EVENTs may
// fill the queue up to the soft bound; one that does not fit follows `slow_consumer`. The rest,
// up to the hard bound, is kept for the reply to the message being processed when reading
// stopped, so replies fit whenever the client reads at all; a reply that would still pass the
// hard bound means the client does not read, and it is disconnected as a slow consumer (a reply
// is never dropped).

import BrokerConfig

struct OutboundBudget {
    let hardBound: Int
    let softBound: Int
    let lowWater: Int

    /// TLS record overhead, at most: 5-byte header + 8-byte explicit nonce + 16-byte tag (TLS 1.2
    /// AES-GCM; TLS 1.3 needs 22) per record of up to 16 KiB of plaintext.
    static let tlsRecordOverhead = 29
    static let tlsRecordPlaintext = 16384
    /// Largest transport header of one frame (WebSocket, 64-bit length).
    static let maxFrameHeader = 10

    init(limits: LimitsConfig) {
        hardBound = limits.maxSessionOutboundBytes
        // The largest reply is a pong to a ping of max_message_bytes.
        let largestReply = Self.wireBytes(limits.maxMessageBytes + Self.maxFrameHeader, tls: true)
        softBound = hardBound - min(hardBound / 2, largestReply)
        lowWater = softBound / 2
    }

    /// Bytes `frameBytes` of plaintext frames take on the wire (TLS: counting record overhead as
    /// if each frame were sealed alone, which bounds the gathered records from above).
    static func wireBytes(_ frameBytes: Int, tls: Bool) -> Int {
        guard tls, frameBytes > 0 else { return frameBytes }
        return frameBytes + (frameBytes / tlsRecordPlaintext + 1) * tlsRecordOverhead
    }
}
