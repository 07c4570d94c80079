// libFuzzer entry for the cluster's wire codecs (ClusterEnvelope, ClusterBatch): what a node
// receives from NATS is untrusted. Every input must be handled without a crash or an
// out-of-bounds read (ASan), and:
// - a batch whose framing is refused hands no envelope over; the envelopes handed over lie
//   inside the input, in order, and never overlap;
// - every envelope that decodes encodes to the size `encodedSize` says and decodes back to the
//   same publication;
// - those publications, packed again by ClusterBatch.Writer, come back out of the packed bytes
//   the same and in the same order.
// Built by fuzz/cluster/build.sh (through `fuzz/run.sh cluster`).

import BrokerCluster

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCluster(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var decoded: [ClusterPublication] = []
    var handed = 0
    var end = 0   // where the last envelope handed over ended
    do throws(ClusterBatch.BatchError) {
        try ClusterBatch.forEachEnvelope(bytes) { envelope in
            handed += 1
            if envelope.count > 0 {
                let start = envelope.baseAddress! - bytes.baseAddress!
                precondition(start >= end && start + envelope.count <= size, "an envelope outside the input, or overlapping")
                end = start + envelope.count
            }
            if let publication = try? ClusterEnvelope.decode(envelope) { decoded.append(publication) }
        }
    } catch {
        precondition(handed == 0, "a batch with refused framing handed \(handed) envelope(s) over")
    }
    for publication in decoded {
        let encoded: [UInt8]
        do { encoded = try ClusterEnvelope.encode(publication) } catch { fatalError("a decoded publication does not encode: \(error)") }
        precondition(encoded.count == ClusterEnvelope.encodedSize(publication), "encodedSize disagrees with encode")
        let again = encoded.withUnsafeBytes { try? ClusterEnvelope.decode($0) }
        precondition(again == publication, "an envelope does not decode back to its publication")
    }
    guard !decoded.isEmpty else { return 0 }
    // Packed again on one subject: the writer's messages give the same publications back, in order.
    var writer = ClusterBatch.Writer()
    var unpacked: [ClusterPublication] = []
    func drain() {
        let message = writer.take { Array($0) }
        message.withUnsafeBytes { raw in
            do throws(ClusterBatch.BatchError) {
                try ClusterBatch.forEachEnvelope(raw) { envelope in
                    guard let p = try? ClusterEnvelope.decode(envelope) else { fatalError("a packed envelope does not decode") }
                    unpacked.append(p)
                }
            } catch { fatalError("the writer's batch is refused: \(error)") }
        }
    }
    for publication in decoded {
        if !writer.accepts(subject: "s", size: ClusterEnvelope.encodedSize(publication)) { drain() }
        do { try writer.append(publication, subject: "s") } catch { fatalError("a decoded publication does not pack: \(error)") }
    }
    drain()
    precondition(unpacked == decoded, "packing changed the publications or their order")
    return 0
}
