// libFuzzer entry for RawSocketDecoder. Input: byte 0 picks where the ring's cursors start (so frames
// straddle the seam), byte 1 a chunk size, the rest is the stream. The stream is decoded twice, written
// whole and in chunks; both runs must give the same events, and every payload must respect the limit.

@testable import BrokerWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRawSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    checkSplitInvariance(data, size, "RawSocket decoding", events: rawSocketEvents)
    return 0
}

let fuzzRawSocketLimit = 4096

/// The events as one flat log: a kind byte, then the payload length and bytes.
func rawSocketEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [UInt8] {
    var decoder = RawSocketDecoder(maxMessageBytes: fuzzRawSocketLimit)
    var log: [UInt8] = []
    func append(_ kind: UInt8, _ payload: UnsafeMutableRawBufferPointer) {
        precondition(payload.count <= fuzzRawSocketLimit, "payload over the limit")
        log.append(kind)
        withUnsafeBytes(of: payload.count) { log += $0 }
        log += payload
    }
    feed(stream, into: ring, chunk: chunk, name: "RawSocket decoder") {
        switch decoder.next(ring) {
        case .needMore: return .needMore
        case .hello(let h): log += [1, h.serializer, h.lengthExponent]
        case .message(let p): append(2, p)
        case .ping(let p): append(3, p)
        case .pong(let p): append(4, p)
        case .failure(let f): log += [5] + Array(f.description.utf8); return .stop
        }
        return .again
    }
    return log
}
