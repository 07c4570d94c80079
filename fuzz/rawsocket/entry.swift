// libFuzzer entry for RawSocketDecoder. Input: byte 0 picks where the ring's cursors start (so frames
// straddle the seam), byte 1 a chunk size, the rest is the stream. The stream is decoded twice, written
// whole and in chunks; both runs must give the same events, and every payload must respect the limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRawSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let stream = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let start = Int(data[0])
    let whole = rawSocketEvents(stream, ring: RingBuffer(capacity: 64, startingAt: start), chunk: stream.count)
    let split = rawSocketEvents(stream, ring: RingBuffer(capacity: 64, startingAt: start), chunk: Int(data[1] % 32) + 1)
    precondition(whole == split, "RawSocket decoding depends on how the bytes were split")
    return 0
}

let fuzzRawSocketLimit = 4096

/// The events as one flat log: a kind byte, then the payload length and bytes.
func rawSocketEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [UInt8] {
    var decoder = RawSocketDecoder(maxMessageBytes: fuzzRawSocketLimit)
    var log: [UInt8] = []
    var position = 0
    var calls = 0
    func drain() -> Bool {
        while true {
            calls += 1
            precondition(calls <= 2 * stream.count + 16, "RawSocket decoder makes no progress")
            switch decoder.next(ring) {
            case .needMore: return false
            case .hello(let h): log += [1, h.serializer, h.lengthExponent]
            case .message(let p): append(2, p)
            case .ping(let p): append(3, p)
            case .pong(let p): append(4, p)
            case .failure(let f): log += [5] + Array(f.description.utf8); return true
            }
        }
    }
    func append(_ kind: UInt8, _ payload: UnsafeMutableRawBufferPointer) {
        precondition(payload.count <= fuzzRawSocketLimit, "payload over the limit")
        log.append(kind)
        withUnsafeBytes(of: payload.count) { log += $0 }
        log += payload
    }
    while position < stream.count {
        let region = ring.writableRegion()
        precondition(region.count > 0, "RawSocket decoder stalled with a full ring")
        let n = min(region.count, chunk, stream.count - position)
        region.baseAddress!.copyMemory(from: stream.baseAddress! + position, byteCount: n)
        ring.didWrite(n)
        position += n
        if drain() { break }
    }
    return log
}
