// libFuzzer entry for HTTPRequestParser and the WebSocket upgrade check. Input: byte 0 picks where
// the ring's cursors start, byte 1 a chunk size, the rest is the stream. The stream is parsed twice,
// written whole and in chunks; both runs must agree. Every head is put through parseUpgrade.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let stream = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let start = Int(data[0])
    let whole = httpEvents(stream, ring: RingBuffer(capacity: 64, startingAt: start), chunk: stream.count)
    let split = httpEvents(stream, ring: RingBuffer(capacity: 64, startingAt: start), chunk: Int(data[1] % 32) + 1)
    precondition(whole == split, "HTTP parsing depends on how the bytes were split")
    return 0
}

/// Small enough that the fuzzer reaches the limit.
let fuzzHTTPLimit = 1024

func httpEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [String] {
    var parser = HTTPRequestParser(maxHeadBytes: fuzzHTTPLimit)
    var log: [String] = []
    var position = 0
    var calls = 0
    func drain() -> Bool {
        while true {
            calls += 1
            precondition(calls <= 2 * stream.count + 16, "HTTP parser makes no progress")
            switch parser.next(ring) {
            case .needMore: return false
            case .head(let head):
                log.append("\(head.method) \(head.target) \(head.version) \(head.headers.map { "\($0.name)=\($0.value)" })")
                switch WebSocketHandshake.parseUpgrade(head) {
                case .success(let request):
                    log.append("upgrade \(request) \(WebSocketHandshake.acceptValue(forKey: request.key))")
                case .failure(let error):
                    precondition((400...499).contains(error.status), "handshake status \(error.status)")
                    log.append("refused \(error)")
                    _ = error.response()
                }
            case .failure(let message):
                log.append("failure \(message)")
                return true
            }
        }
    }
    while position < stream.count {
        let region = ring.writableRegion()
        precondition(region.count > 0, "HTTP parser stalled with a full ring")
        let n = min(region.count, chunk, stream.count - position)
        region.baseAddress!.copyMemory(from: stream.baseAddress! + position, byteCount: n)
        ring.didWrite(n)
        position += n
        if drain() { break }
    }
    return log
}
