// libFuzzer entry for WebSocketDecoder. Input: byte 0 picks where the ring's cursors start (so frames
// straddle the seam), byte 1 a chunk size, the rest is the stream. The stream is decoded twice, written
// whole and in chunks; both runs must give the same events, and payloads must respect the limits.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let stream = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let start = Int(data[0])
    let whole = webSocketEvents(stream, ring: RingBuffer(capacity: 64, startingAt: start), chunk: stream.count)
    let split = webSocketEvents(stream, ring: RingBuffer(capacity: 64, startingAt: start), chunk: Int(data[1] % 32) + 1)
    precondition(whole == split, "WebSocket decoding depends on how the bytes were split")
    return 0
}

let fuzzWebSocketLimit = 4096

/// The events as one flat log: a kind byte, then the payload length and bytes.
func webSocketEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [UInt8] {
    var decoder = WebSocketDecoder(maxMessageBytes: fuzzWebSocketLimit)
    var log: [UInt8] = []
    var position = 0
    var calls = 0
    func drain() -> Bool {
        while true {
            calls += 1
            precondition(calls <= 2 * stream.count + 16, "WebSocket decoder makes no progress")
            switch decoder.next(ring) {
            case .needMore: return false
            case .message(let opcode, let p):
                precondition(opcode == .text || opcode == .binary, "message with a non-data opcode")
                append(opcode.rawValue, p, limit: fuzzWebSocketLimit)
            case .ping(let p): append(9, p, limit: 125)
            case .pong: log.append(10)
            case .close(let code, let reason):
                log += [8, UInt8((code ?? 0) >> 8), UInt8((code ?? 0) & 0xFF)]
                append(8, reason, limit: 123)
                return true
            case .failure(let code, let reason):
                precondition(code == 1002 || code == 1009, "unexpected close code \(code)")
                log += [0xFF] + Array(reason.utf8)
                return true
            }
        }
    }
    func append(_ kind: UInt8, _ payload: UnsafeMutableRawBufferPointer, limit: Int) {
        precondition(payload.count <= limit, "payload over the limit")
        log.append(kind)
        withUnsafeBytes(of: payload.count) { log += $0 }
        log += payload
    }
    while position < stream.count {
        let region = ring.writableRegion()
        precondition(region.count > 0, "WebSocket decoder stalled with a full ring")
        let n = min(region.count, chunk, stream.count - position)
        region.baseAddress!.copyMemory(from: stream.baseAddress! + position, byteCount: n)
        ring.didWrite(n)
        position += n
        if drain() { break }
    }
    return log
}
